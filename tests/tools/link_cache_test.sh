#!/usr/bin/env bash
# The daemon keeps path lookups between decisions (effects/link_cache.h). After
# every change to the file system here (a directory swapped for a link, a link
# made where nothing was, an exchange, a removal, a mount over a directory) the
# daemon's very next decision must be byte-for-byte what a fresh `toolgate
# check` process gives, and the path must resolve to the link's target.
# Runs itself again in a private mount namespace (unshare -m) when it can, so
# the mount case changes only this test's view.
# Usage: link_cache_test.sh TOOLGATE SOURCE_ROOT
set -u
tg=$1
root=$2
if [ -z "${TG_LINK_CACHE_NS:-}" ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null &&
  unshare -m --propagation private true 2>/dev/null; then
  TG_LINK_CACHE_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
source "$(dirname "$0")/daemon_test_lib.sh"

cp "$root/rules/examples/default.json" "$tmp/policy.json"
sock="$tmp/run/toolgate.sock"
ws="$tmp/ws"
mkdir -p "$ws/dir" "$ws/other" "$ws/mnt"
echo x > "$ws/dir/shadow"

"$tg" serve --policy "$tmp/policy.json" --socket "$sock" 2>>"$tmp/serve.err" &
daemon=$!
wait_for_daemon || exit 1

n=0
# judge NAME PATH EXPECTED_VERDICT: the daemon's decision on Read PATH, twice
# (the second from what the first kept), against a fresh `toolgate check`.
judge() {
  local name=$1 path=$2 want=$3 call expected reply result
  call="{\"agent_id\":\"claude-dev\",\"tool_name\":\"Read\",\"cwd\":\"$ws\",\"tool_input\":{\"file_path\":\"$path\"}}"
  expected=$(printf '%s' "$call" | "$tg" check --policy "$tmp/policy.json" --json)
  for round in 1 2; do
    n=$((n + 1))
    reply=$(client "{\"v\":1,\"id\":$n,\"op\":\"decide\",\"call\":$call}")
    result=$(python3 - "$expected" "$reply" <<'PY'
import json, sys
want = json.loads(sys.argv[1]); got = json.loads(sys.argv[2])["decision"]
for d in (want, got):
    d.pop("latency_ns", None)
print(got["verdict"] if got == want else "MISMATCH " + json.dumps(want) + " / " + json.dumps(got))
PY
)
    expect_eq "$name (decision $round)" "$want" "$result"
  done
}

# Inside the scratch directory (allowed), then through a link to /etc (denied).
judge "plain directory" "dir/shadow" allow
mv "$ws/dir" "$ws/dir.old" && ln -s /etc "$ws/dir"
judge "directory swapped for a link to /etc" "dir/shadow" deny
rm "$ws/dir" && mv "$ws/dir.old" "$ws/dir"
judge "the link swapped back" "dir/shadow" allow

judge "missing component" "missing/shadow" allow
ln -s /etc "$ws/missing"
judge "link made where nothing was" "missing/shadow" deny
rm "$ws/missing" && ln -s "$ws/other" "$ws/missing"
judge "link retargeted" "missing/shadow" allow

ln -s /etc "$ws/swap"
judge "before an exchange" "dir/shadow" allow
python3 - "$ws/dir" "$ws/swap" <<'PY'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_EXCHANGE = -100, 2
if libc.renameat2(AT_FDCWD, sys.argv[1].encode(), AT_FDCWD, sys.argv[2].encode(), RENAME_EXCHANGE) != 0:
    raise OSError(ctypes.get_errno(), "renameat2")
PY
judge "after renameat2(RENAME_EXCHANGE)" "dir/shadow" deny
judge "the other side of the exchange" "swap/shadow" allow

mkdir -p "$ws/a/b/c"
judge "deep path" "a/b/c/shadow" allow
mv "$ws/a" "$ws/a.old" && mkdir -p "$ws/a/b" && ln -s /etc "$ws/a/b/c"
judge "an ancestor replaced, a link below it" "a/b/c/shadow" deny

# A mount over a directory changes what a path names without any inotify
# report on that directory: the mount table's change must drop what was kept.
if [ -n "${TG_LINK_CACHE_NS:-}" ]; then
  mkdir -p "$tmp/fs" && mount -t tmpfs tg-test "$tmp/fs" && ln -s /etc "$tmp/fs/x"
  judge "before a mount" "mnt/x/shadow" allow
  mount --bind "$tmp/fs" "$ws/mnt"
  judge "after a mount bringing a link" "mnt/x/shadow" deny
  umount "$ws/mnt"
  judge "after the unmount" "mnt/x/shadow" allow
  umount "$tmp/fs"

  # A directory on a file system the cache does not keep (ramfs here) above a
  # kept one (a tmpfs mounted in it): renaming it moves the mount without any
  # report the daemon can see, so nothing below it may be kept.
  mkdir -p "$ws/r" && mount -t ramfs tg-ramfs "$ws/r" && mkdir -p "$ws/r/x/m" &&
    mount -t tmpfs tg-tmpfs "$ws/r/x/m" && mkdir "$ws/r/x/m/dir"
  judge "below a mount inside ramfs" "r/x/m/dir/shadow" allow
  mv "$ws/r/x" "$ws/r/y" && mkdir -p "$ws/r/x/m" && ln -s /etc "$ws/r/x/m/dir"
  judge "the ramfs directory above it renamed, a link in its place" "r/x/m/dir/shadow" deny
  umount "$ws/r/y/m"; umount "$ws/r"

  # An encrypted (fscrypt) directory on ext4: unlocking it changes what its
  # names look up to, with no inotify report. Nothing in it may be kept.
  mkdir -p "$ws/enc" && truncate -s 32M "$tmp/enc.img" && mkfs.ext4 -q -O encrypt "$tmp/enc.img" 2>/dev/null &&
    mount -o loop "$tmp/enc.img" "$ws/enc" 2>/dev/null && enc_mounted=1 || enc_mounted=""
  if [ -n "$enc_mounted" ]; then
    cat > "$tmp/fscrypt.py" <<'PY'
# fscrypt.py MOUNT DIR setup|lock|unlock: a v2-policy directory DIR holding a
# link l -> /etc, locked and unlocked with a fixed test key.
import fcntl, os, struct, sys
ADD, REMOVE, SET_POLICY = 0xC0506617, 0xC0406618, 0x800C6613
mount, d, op = sys.argv[1:4]
raw = bytes((i * 7 + 1) & 0xFF for i in range(64))
mfd = os.open(mount, os.O_RDONLY | os.O_DIRECTORY)
def add():
    arg = bytearray(struct.pack("=I4x32sII32x", 2, b"", 64, 0) + raw)  # spec type IDENTIFIER
    fcntl.ioctl(mfd, ADD, arg)
    return bytes(arg[8:24])
def remove(ident):
    fcntl.ioctl(mfd, REMOVE, bytearray(struct.pack("=I4x16s16xI20x", 2, ident, 0)))
ident = add()
if op == "setup":
    os.mkdir(d)
    dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.ioctl(dfd, SET_POLICY, struct.pack("=BBBB4x16s", 2, 1, 4, 2, ident))  # v2, AES-256-XTS/CTS, pad 32
    os.close(dfd)
    os.symlink("/etc", os.path.join(d, "l"))
    os.sync()
if op in ("setup", "lock"):
    remove(ident)
PY
    if python3 "$tmp/fscrypt.py" "$ws/enc" "$ws/enc/E" setup 2>"$tmp/fscrypt.err"; then
      judge "inside a locked encrypted directory" "enc/E/l/shadow" allow
      python3 "$tmp/fscrypt.py" "$ws/enc" "$ws/enc/E" unlock
      judge "the encrypted directory unlocked (no report)" "enc/E/l/shadow" deny
      python3 "$tmp/fscrypt.py" "$ws/enc" "$ws/enc/E" lock
    else
      echo "SKIP encrypted directory case: $(tail -1 "$tmp/fscrypt.err")"
    fi
    umount "$ws/enc"
  else
    echo "SKIP encrypted directory case: no loop-mounted ext4 with the encrypt feature here"
  fi
else
  echo "SKIP mount case: needs root and unshare -m"
fi

kill -TERM "$daemon"
wait "$daemon" 2>/dev/null
daemon=""
echo "link_cache: $pass passed, $fail failed ($n decisions)"
[ "$fail" -eq 0 ]
