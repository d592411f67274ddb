#!/usr/bin/env bash
# test_campaign_dry_run.sh -- `campaign run --dry-run` says it was a dry run
# (in text and JSON), takes no run number and records nothing; an invalid
# campaign definition is a usage error (exit 2: 3 is for --strict imports).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

W=$TMP/world
D=$TMP/d
"$TAILOR" gen --users 300 --items 50 --days 5 --seed 5 --dirty 0 --out "$W" >/dev/null
"$TAILOR" --data "$D" import "$W"/users.csv "$W"/consents.csv >/dev/null 2>&1
cat >"$TMP/c.json" <<'JSON'
{"id":"dry","audience":"true","channels":["push","sms"],"content":{"type":"coupon","code":"D5"},
 "caps":[{"channel":"push","max":1,"per":"day"}]}
JSON
"$TAILOR" --data "$D" campaign create "$TMP/c.json" >/dev/null

"$TAILOR" --data "$D" campaign run dry --at 2025-11-20T12:00:00+08:00 --dry-run >"$TMP/dry.txt"
check_cmd "the text of a dry run says so" grep -q '^campaign dry dry run at .*nothing sent or recorded' "$TMP/dry.txt"
check "the text of a dry run names no run number" "$(grep -c ' run 1 ' "$TMP/dry.txt")" 0
"$TAILOR" --data "$D" campaign run dry --at 2025-11-20T12:00:00+08:00 --dry-run --json >"$TMP/dry.json"
check "the JSON of a dry run says so" "$(jget dry_run <"$TMP/dry.json")" True
check "the JSON of a dry run has no run number" "$(jget run <"$TMP/dry.json")" None
check "nothing in the outbox after dry runs" "$(cat "$D"/outbox/*.jsonl 2>/dev/null | wc -l)" 0

"$TAILOR" --data "$D" campaign run dry --at 2025-11-20T12:00:00+08:00 --json >"$TMP/r1.json"
check "the first real run after dry runs is run 1" "$(jget run <"$TMP/r1.json")" 1
check "a real run is not a dry run" "$(jget dry_run <"$TMP/r1.json")" False
check "the dry run decided as the real run" "$(jget decisions <"$TMP/dry.json")" "$(jget decisions <"$TMP/r1.json")"
"$TAILOR" --data "$D" campaign run --all --dry-run --json --at 2025-11-20T13:00:00+08:00 >"$TMP/all.json"
check_cmd "every run of --all --dry-run says so" python3 -c '
import json, sys
runs = json.load(open(sys.argv[1]))
assert runs and all(r["dry_run"] is True and r["run"] is None for r in runs), runs' "$TMP/all.json"
"$TAILOR" --data "$D" campaign run dry --at 2025-11-20T14:00:00+08:00 >"$TMP/r2.txt"
check_cmd "the next real run is run 2" grep -q '^campaign dry run 2 at ' "$TMP/r2.txt"
"$TAILOR" --data "$D" campaign list --json >"$TMP/list.json"
check "two runs recorded" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["runs"])' "$TMP/list.json")" 2

# an invalid definition: a usage error, named, nothing stored
echo '{"id":"bad","channels":["push"],"holdot":10}' >"$TMP/bad.json"
rc=0
"$TAILOR" --data "$D" campaign create "$TMP/bad.json" >/dev/null 2>"$TMP/bad.err" || rc=$?
check "an invalid definition exits 2" "$rc" 2
check_cmd "the bad field is named" grep -q '"holdot"' "$TMP/bad.err"
"$TAILOR" --data "$D" campaign list --json >"$TMP/list2.json"
check "the invalid campaign is not stored" "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$TMP/list2.json")" 1
finish
