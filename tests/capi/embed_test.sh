#!/usr/bin/env bash
# hooks/examples/embed.c, built in the tree: allows the first call, denies the second.
# Usage: embed_test.sh EMBED SOURCE_ROOT
set -u
embed=$1
root=$2
fail=0
check() {  # NAME REGEX TEXT
  if printf '%s' "$3" | grep -Eq -- "$2"; then :; else fail=1; echo "FAIL $1: no match for /$2/ in:"; printf '%s\n' "$3"; fi
}

out=$("$embed" 2>&1); code=$?
[ $code -eq 0 ] || { fail=1; echo "FAIL embedded default: exit $code"; }
check "first call allowed" '^allow: toolgate: allowed' "$out"
check "second call denied with its reason" '^deny: toolgate: this call was blocked by policy: .*id_rsa' "$out"
check "summary" '^1 of 2 calls refused$' "$out"

out=$("$embed" "$root/rules/examples/strict.json" 2>&1); code=$?
[ $code -eq 0 ] || { fail=1; echo "FAIL policy file: exit $code"; }
check "strict policy denies both" '^2 of 2 calls refused$' "$out"

out=$("$embed" /nonexistent.json 2>&1); code=$?
[ $code -eq 1 ] || { fail=1; echo "FAIL missing policy: exit $code"; }
check "missing policy is located" 'policy did not load \(policy\).*' "$out"
check "missing policy names the file" '/nonexistent.json' "$out"
exit $fail
