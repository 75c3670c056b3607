#!/usr/bin/env bash
# libtoolgate.so exports exactly the functions toolgate.h declares: every one of
# them, and nothing else (no C++ engine symbol, no template instance); and
# every symbol of the ABI so far (abi-symbols.txt) is still there. A new
# function is added to that list; removing one breaks the ABI (a new soname).
# Usage: symbols_test.sh LIBTOOLGATE.so TOOLGATE_H ABI_SYMBOLS
set -u
lib=$1
header=$2
abi=$3
fail=0

exported=$(nm -D --defined-only "$lib" | awk '{print $NF}' | sort -u)
declared=$(grep -o 'TOOLGATE_API [^(]*(' "$header" | grep -o 'toolgate_[a-z_]*($' | tr -d '(' | sort -u)

if [ -z "$exported" ] || [ -z "$declared" ]; then
  echo "FAIL: nothing found (exported: $(echo "$exported" | wc -w), declared: $(echo "$declared" | wc -w))"
  exit 1
fi
others=$(printf '%s\n' "$exported" | grep -v '^toolgate_')
if [ -n "$others" ]; then
  echo "FAIL: exported symbols outside toolgate_*:"; printf '%s\n' "$others" | head -20; fail=1
fi
missing=$(comm -13 <(printf '%s\n' "$exported") <(printf '%s\n' "$declared"))
if [ -n "$missing" ]; then echo "FAIL: declared in toolgate.h but not exported: $missing"; fail=1; fi
extra=$(comm -23 <(printf '%s\n' "$exported") <(printf '%s\n' "$declared"))
if [ -n "$extra" ]; then echo "FAIL: exported but not declared in toolgate.h: $extra"; fail=1; fi

gone=$(comm -23 <(sort -u "$abi") <(printf '%s\n' "$exported"))
if [ -n "$gone" ]; then echo "FAIL: ABI symbols no longer exported: $gone"; fail=1; fi
new=$(comm -13 <(sort -u "$abi") <(printf '%s\n' "$exported"))
if [ -n "$new" ]; then echo "FAIL: new symbols not yet listed in $(basename "$abi"): $new"; fail=1; fi

soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
case "$soname" in
  libtoolgate.so.[0-9]*) ;;
  *) echo "FAIL: soname is '$soname'"; fail=1 ;;
esac

echo "symbols: $(echo "$exported" | wc -l) exported, soname $soname"
exit $fail
