#!/usr/bin/env bash
# `meson install --destdir`, then build hooks/examples/embed.c against the
# installed copy the way a user would: cc $(pkg-config --cflags --libs toolgate).
# Usage: install_test.sh BUILD_DIR SOURCE_ROOT
set -u
build=$1
root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

if ! meson install -C "$build" --no-rebuild --quiet --destdir "$tmp/dest" > "$tmp/install.log" 2>&1; then
  echo "FAIL: meson install"; cat "$tmp/install.log"; exit 1
fi
pc=$(find "$tmp/dest" -name toolgate.pc -print -quit)
[ -n "$pc" ] || { echo "FAIL: no toolgate.pc installed"; exit 1; }
header=$(find "$tmp/dest" -path '*/include/toolgate/toolgate.h' -print -quit)
[ -n "$header" ] || { echo "FAIL: toolgate.h not installed"; fail=1; }
libfile=$(find "$tmp/dest" -name 'libtoolgate.so.*.*.*' -print -quit)
[ -n "$libfile" ] || { echo "FAIL: libtoolgate.so not installed"; exit 1; }
libdir=$(dirname "$libfile")
[ -L "$libdir/libtoolgate.so" ] || { echo "FAIL: no libtoolgate.so development link"; fail=1; }

# The .pc file names the final prefix; the sysroot points pkg-config at the staged copy.
export PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_SYSROOT_DIR=$tmp/dest
flags=$(pkg-config --cflags --libs toolgate) || { echo "FAIL: pkg-config --cflags --libs toolgate"; exit 1; }
version=$(pkg-config --modversion toolgate)
case "$flags" in *"$tmp/dest"*) ;; *) echo "FAIL: flags do not point into the staged install: $flags"; fail=1 ;; esac

# shellcheck disable=SC2086 # the flags are words on purpose
if ! cc -std=c11 -Wall -Wextra -Wpedantic -Werror "$root/hooks/examples/embed.c" $flags -o "$tmp/embed" 2> "$tmp/cc.log"; then
  echo "FAIL: cc embed.c \$(pkg-config --cflags --libs toolgate)"; cat "$tmp/cc.log"; exit 1
fi
# The header is plain C89 too (older toolchains, FFI generators) ...
if ! printf '#include <toolgate/toolgate.h>\nint main(void) { return toolgate_version() > 0 ? 0 : 1; }\n' |
     cc -x c -std=c89 -pedantic -Wall -Wextra -Werror -fsyntax-only - $flags 2> "$tmp/c89.log"; then
  echo "FAIL: toolgate.h in C89"; cat "$tmp/c89.log"; fail=1
fi
# ... and compiles as C++.
if ! printf '#include <toolgate/toolgate.h>\nint main() { return toolgate_version() > 0 ? 0 : 1; }\n' |
     c++ -x c++ -std=c++17 -Wall -Wextra -Werror - $flags -o "$tmp/embedxx" 2> "$tmp/cxx.log"; then
  echo "FAIL: toolgate.h in C++"; cat "$tmp/cxx.log"; fail=1
fi

out=$(LD_LIBRARY_PATH=$libdir "$tmp/embed" 2>&1); code=$?
[ $code -eq 0 ] || { echo "FAIL: installed embed exited $code: $out"; fail=1; }
printf '%s\n' "$out" | grep -q '^allow: ' || { echo "FAIL: no allow line: $out"; fail=1; }
printf '%s\n' "$out" | grep -q '^deny: .*id_rsa' || { echo "FAIL: no deny line: $out"; fail=1; }
# It ran against the installed library, not the build tree's.
LD_LIBRARY_PATH=$libdir ldd "$tmp/embed" | grep -q "$libdir/libtoolgate.so.0" ||
  { echo "FAIL: embed does not load the installed library"; LD_LIBRARY_PATH=$libdir ldd "$tmp/embed"; fail=1; }

[ $fail -eq 0 ] && echo "installed toolgate $version; embed.c built with: $flags"
exit $fail
