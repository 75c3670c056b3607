#!/usr/bin/env bash
# Installs what toolgate needs on Debian 12 (as root, or through sudo) and builds it into build/.
# Safe to run again: packages already present are not reinstalled, and the build is incremental.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ meson ninja-build pkg-config python3 liblua5.4-dev libre2-dev nlohmann-json3-dev
          libspdlog-dev doctest-dev libssl-dev libcurl4-openssl-dev
          libseccomp-dev bubblewrap  # the sandbox's syscall filter; bwrap: the sandbox benchmark's baseline
          chromium   # chromium: the HTML report's headless screenshot test
          socat ripgrep  # the sandbox runtime srt, a peer in tools/bench, needs them
          git        # git: the real-client tests' throwaway repositories
          clang libclang-rt-14-dev llvm)  # the ASan + UBSan build and libFuzzer (tools/sanitize.sh,
                                          # tools/fuzz.sh); llvm: llvm-symbolizer for their reports

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node and npm: tools/test.sh installs the pinned agent CLIs for the real-client tests with npm
# (Debian's node 18 runs npm; the CLIs that need a newer node get one from the npm registry).
# Checked by command, not by package: a node installed another way must not be replaced.
command -v node > /dev/null 2>&1 || missing+=(nodejs)
command -v npm > /dev/null 2>&1 || missing+=(npm)
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "toolgate setup: installing ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ ! -f build/build.ninja ]; then
  meson setup build --buildtype=release -Doptimization=2
fi
ninja -C build
