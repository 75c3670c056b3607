#!/usr/bin/env bash
# End-to-end checks of the decision log through the toolgate binary: `check --log`,
# `log verify|query|stats|report|export|keygen`, `replay`. Asserts on exit codes
# and on structured output, never on timing.
# Usage: log_cli_test.sh TOOLGATE SOURCE_ROOT
set -u
tg=$1
root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
expect_exit() {  # NAME EXPECTED ACTUAL
  if [ "$2" -eq "$3" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $1: exit $3, expected $2"; fi
}
expect_match() {  # NAME REGEX TEXT
  if printf '%s' "$3" | grep -Eq -- "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $1: no match for /$2/ in:"; printf '%s\n' "$3" | head -20; fi
}
expect_no_match() {  # NAME REGEX TEXT
  if printf '%s' "$3" | grep -Eq -- "$2"; then fail=$((fail + 1)); echo "FAIL $1: unexpected match for /$2/"; else pass=$((pass + 1)); fi
}
call() { printf '{"agent_id":"%s","session_id":"sess-1","tool_name":"Bash","cwd":"/home/dev/project","tool_input":{"command":%s}}' "$1" "$2"; }

mkdir -p "$tmp/logs" "$tmp/keys"
log="$tmp/logs/decisions.jsonl"

# --- keygen ---------------------------------------------------------------
"$tg" log keygen --out "$tmp/keys/audit" > /dev/null; code=$?
expect_exit "keygen" 0 $code
expect_match "private key is 0600" '^600$' "$(stat -c %a "$tmp/keys/audit.key")"
"$tg" log keygen --out "$tmp/logs/inside" --log-dir "$tmp/logs" > /dev/null 2>&1; code=$?
expect_exit "keygen refuses the log directory" 1 $code
"$tg" log keygen --out "$tmp/keys/audit" > /dev/null 2>&1; code=$?
expect_exit "keygen never overwrites" 1 $code

# --- check --log writes before it answers, and keeps its exit codes -------
ck() { "$tg" check --log "$log" --log-key "$tmp/keys/audit.key" "$@"; }
call claude-dev '"git status"' | ck > /dev/null; expect_exit "logged allow" 0 $?
call claude-dev '"cat ~/.ssh/id_rsa"' | ck > /dev/null; expect_exit "logged deny" 20 $?
call claude-dev '"git push origin main"' | ck > /dev/null; expect_exit "logged ask" 10 $?
call claude-dev '"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE aws s3 ls --password hunter2"' | ck > /dev/null
call claude-dev '"echo <script>alert(1)</script> \u001b[31mRED\u001b[0m"' | ck > /dev/null
printf 'not json at all' | ck > /dev/null 2>&1; expect_exit "logged malformed input is a deny" 20 $?
call other-agent '"ls"' | ck > /dev/null
lines=$(wc -l < "$log")
expect_match "one record per decision plus a checkpoint each" '^14$' "$lines"
expect_no_match "AWS key redacted" 'AKIAIOSFODNN7EXAMPLE' "$(cat "$log")"
expect_no_match "password redacted" 'hunter2' "$(cat "$log")"
expect_match "redaction is recorded" '"redactions":\[' "$(cat "$log")"

# --- verify ---------------------------------------------------------------
out=$("$tg" log verify --key "$tmp/keys/audit.pub" "$log"); code=$?
expect_exit "verify signed log" 0 $code
expect_match "verify summary" '^OK 14 records \(7 decisions, 7 checkpoints, 7 signatures verified\)' "$out"
out=$("$tg" log verify --json "$tmp/logs"); code=$?
expect_exit "verify a directory" 0 $code
expect_match "verify json" '"ok":true' "$out"

# An independent verifier: the record format is checkable with 10 lines of Python.
python3 - "$log" <<'PY'; expect_exit "independent python verifier" 0 $?
import hashlib, json, sys
prev = "0" * 64
for n, line in enumerate(open(sys.argv[1], "rb").read().split(b"\n")[:-1], 1):
    suffix = line[-75:]
    assert suffix.startswith(b',"hash":"') and suffix.endswith(b'"}'), n
    body = line[:-75] + b"}"
    rec = json.loads(body)
    assert rec["prev_hash"] == prev and rec["seq"] == n, n
    prev = hashlib.sha256(prev.encode() + body).hexdigest()
    assert prev == suffix[9:73].decode(), n
PY

# --- tampering ------------------------------------------------------------
cp "$log" "$tmp/t1.jsonl"
sed -i '5s/git push/git pish/' "$tmp/t1.jsonl"
out=$("$tg" log verify "$tmp/t1.jsonl"); code=$?
expect_exit "changed byte" 1 $code
expect_match "changed byte located" 't1.jsonl:5: bad_hash' "$out"
sed '5d' "$log" > "$tmp/t2.jsonl"
out=$("$tg" log verify "$tmp/t2.jsonl"); code=$?
expect_exit "deleted line" 1 $code
expect_match "deleted line located" 't2.jsonl:5: sequence' "$out"
head -c -30 "$log" > "$tmp/t3.jsonl"
out=$("$tg" log verify "$tmp/t3.jsonl"); code=$?
expect_exit "torn last line" 2 $code
expect_match "torn line reported" 'torn_line' "$out"
head -n 9 "$log" > "$tmp/t4.jsonl"; cp "$log.sig" "$tmp/t4.jsonl.sig"
out=$("$tg" log verify --key "$tmp/keys/audit.pub" "$tmp/t4.jsonl"); code=$?
expect_exit "tail truncation" 1 $code
expect_match "tail truncation named" 'truncated' "$out"
"$tg" log keygen --out "$tmp/keys/other" > /dev/null
out=$("$tg" log verify --key "$tmp/keys/other.pub" "$log"); code=$?
expect_exit "wrong key" 1 $code
expect_match "wrong key named" 'wrong_key' "$out"

# --- bad input ------------------------------------------------------------
"$tg" log verify "$tmp/nope.jsonl" > /dev/null 2>&1; expect_exit "missing file" 66 $?
: > "$tmp/empty.jsonl"; "$tg" log verify "$tmp/empty.jsonl" > /dev/null 2>&1; expect_exit "empty file" 66 $?
echo '{"hello":1}' > "$tmp/other.jsonl"
out=$("$tg" log verify "$tmp/other.jsonl"); code=$?
expect_exit "not a log" 1 $code
expect_match "not a log says so" 'malformed_line' "$out"
"$tg" log verify > /dev/null 2>&1; expect_exit "verify without files" 64 $?
"$tg" log frobnicate > /dev/null 2>&1; expect_exit "unknown log command" 64 $?
"$tg" log query --verdict maybe "$log" > /dev/null 2>&1; expect_exit "bad verdict filter" 64 $?
"$tg" log query --since lastweek "$log" > /dev/null 2>&1; expect_exit "bad time filter" 64 $?

# --- fail closed ----------------------------------------------------------
out=$(call claude-dev '"git status"' | "$tg" check --log "$tmp/missing-dir/d.jsonl" 2>&1); code=$?
expect_exit "unwritable log turns an allow into a deny" 20 $code
expect_match "and says why" 'audit log' "$out"
ln -s /dev/full "$tmp/full.jsonl"
out=$(call claude-dev '"git status"' | "$tg" check --json --log "$tmp/full.jsonl" 2>/dev/null); code=$?
expect_exit "full disk turns an allow into a deny" 20 $code
expect_match "full disk error in json" '"error":\{"code":"internal"' "$out"
out=$(call claude-dev '"git status"' | "$tg" check --log "$log" --log-key "$tmp/logs/nokey.key" 2>&1); code=$?
expect_exit "missing signing key is a deny" 20 $code

# --- query ----------------------------------------------------------------
out=$("$tg" log query --verdict deny "$log" 2>/dev/null); code=$?
expect_exit "query denies" 0 $code
expect_match "query table shows the denied call" 'deny +claude-dev +Bash .*id_rsa' "$out"
out=$("$tg" log query --json --verdict deny "$log" 2>/dev/null)
expect_match "query json lines are deny records" '^deny$' "$(printf '%s\n' "$out" | python3 -c 'import json,sys; print("\n".join(sorted({json.loads(l)["verdict"] for l in sys.stdin})))')"
"$tg" log query --agent nobody "$log" > /dev/null 2>&1; expect_exit "query with no match" 1 $?
out=$("$tg" log query --agent 'other-*' --since 1h --tool Bash "$log" 2>/dev/null); code=$?
expect_exit "query wildcard + since" 0 $code
expect_match "query finds the other agent" 'other-agent' "$out"
out=$("$tg" log query --rule 'base.fs.deny*' "$log" 2>/dev/null); code=$?
expect_exit "query by rule" 0 $code
out=$("$tg" log query --text ALERT "$log" 2>/dev/null)
expect_no_match "query table strips terminal escapes" $'\x1b' "$out"
expect_match "query text filter" 'script' "$out"
n=$("$tg" log query --all-types --json "$log" 2>/dev/null | wc -l)
expect_match "all-types includes checkpoints" '^14$' "$n"

# --- stats ----------------------------------------------------------------
out=$("$tg" log stats --json "$log" 2>/dev/null); code=$?
expect_exit "stats" 0 $code
denies=$("$tg" log query --json --verdict deny "$log" 2>/dev/null | wc -l)
expect_match "stats counts" "^7 $denies 1\$" "$(printf '%s' "$out" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["records"], j["verdicts"]["deny"], j["verdicts"]["ask"])')"
out=$("$tg" log stats "$log" 2>/dev/null)
expect_match "stats text has percentiles" 'p50 .* p90 .* p99' "$out"

# --- export ---------------------------------------------------------------
out=$("$tg" log export --format ocsf --verdict deny "$log" 2>/dev/null); code=$?
expect_exit "export ocsf" 0 $code
expect_match "ocsf class and action" '^6003 2 Denied 1.3.0 security_control$' "$(printf '%s\n' "$out" | head -1 | python3 -c 'import json,sys; e=json.load(sys.stdin); print(e["class_uid"], e["action_id"], e["action"], e["metadata"]["version"], e["metadata"]["profiles"][0])')"
out=$("$tg" log export --format otel "$log" 2>/dev/null)
expect_match "otel deny is WARN" 'WARN policy.decision' "$(printf '%s\n' "$out" | python3 -c '
import json,sys
for l in sys.stdin:
    r = json.loads(l)["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]
    if r["severityNumber"] == 13: print(r["severityText"], r["eventName"])')"
"$tg" log export --format csv "$log" > /dev/null 2>&1; expect_exit "export bad format" 64 $?

# --- report ---------------------------------------------------------------
"$tg" log report --html "$tmp/report.html" --key "$tmp/keys/audit.pub" "$log" 2>/dev/null; code=$?
expect_exit "report" 0 $code
html=$(cat "$tmp/report.html")
expect_no_match "report has no script from the log" '<script>alert' "$html"
expect_match "report escapes the log's markup" '&lt;script&gt;alert\(1\)&lt;/script&gt;' "$html"
expect_no_match "report loads nothing external" '(src|href)="(https?:)?//' "$html"
expect_match "report has inline SVG charts" '<svg role="img" aria-label="decisions over time"' "$html"
expect_match "report says it verified" 'Chain verified' "$html"
"$tg" log report --html "$tmp/bad.html" "$tmp/t1.jsonl" 2>/dev/null; code=$?
expect_exit "report of a tampered log exits 1" 1 $code
expect_match "report of a tampered log says so" 'Verification FAILED' "$(cat "$tmp/bad.html")"

# --- replay ---------------------------------------------------------------
out=$("$tg" replay --policy "$root/rules/examples/default.json" "$log" 2>&1); code=$?
expect_exit "replay under the same policy changes nothing" 0 $code
expect_match "replay says so" 'no verdict would change' "$out"
out=$("$tg" replay --json --policy "$root/rules/examples/strict.json" "$log" 2>/dev/null); code=$?
if [ $code -eq 1 ]; then
  expect_match "replay groups changes by rule" '"changes":\[\{"count":' "$out"
else
  expect_exit "replay under strict.json" 0 $code
fi
"$tg" replay "$log" > /dev/null 2>&1; expect_exit "replay needs --policy" 64 $?

echo "log cli: $pass passed, $fail failed"
[ $fail -eq 0 ]
