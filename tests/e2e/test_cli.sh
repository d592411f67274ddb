#!/usr/bin/env bash
# End-to-end tests of the command line: help and exit codes, the data
# directory rules, gen → import matching the generator's ground truth
# exactly, JSON outputs, re-import idempotence, personal data never in clear
# on disk and masked in output, and clear errors for damaged stores.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tmp=$TMP
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
status() { "$@" >/dev/null 2>&1; echo $?; }

# help and usage errors
check_cmd "help lists commands" bash -c "'$TAILOR' help | grep -q 'import'"
check_cmd "command --help" bash -c "'$TAILOR' import --help | grep -q -- '--preset'"
# the model options' help is the model registry's: every family that
# --model takes (as its error names them), each option's default, no
# placeholder left unwritten
names=$("$TAILOR" train --model nope 2>&1 | sed -n 's/.*--model nope: use //p')
check_cmd "train --help names every model family" bash -c "'$TAILOR' train --help | grep -q -F -- '--model VALUE          $names (default ials; ease for eval)'"
check_cmd "... with the families' options and defaults" bash -c "'$TAILOR' train --help | grep -q -F -- '--reg VALUE            ials: L2 regularisation (default 50)'"
check_cmd "... and those the data sets, saying how" bash -c "'$TAILOR' train --help | grep -q -F -- '--lambda VALUE         ease: L2 regularisation (default: from the data, 58 x the square root'"
check_cmd "... the grid's options too" bash -c "'$TAILOR' eval --help | grep -q -F -- '(options: lambda dropout blend neighbours shrink factors iterations alpha reg)'"
check "no placeholder in any help" "$(for c in train eval recommend similar serve; do "$TAILOR" "$c" --help; done | grep -c '[{]')" 0
check_cmd "no command: exit 2" test "$(status "$TAILOR")" = 2
check_cmd "unknown command: exit 2" test "$(status "$TAILOR" frobnicate)" = 2
check_cmd "unknown option: exit 2" test "$(status "$TAILOR" stats --bogus)" = 2
check_cmd "import without files: exit 2" test "$(status "$TAILOR" import)" = 2
check_cmd "bad --kind: exit 2" test "$(status "$TAILOR" --data "$tmp/x" import --kind nope f.csv)" = 2
check_cmd "stats on a missing data dir: exit 1" test "$(status "$TAILOR" --data "$tmp/none" stats)" = 1
"$TAILOR" --data "$tmp/none" stats 2>"$tmp/err"
check_cmd "missing data dir says what to do" grep -q "import" "$tmp/err"

# gen is deterministic
"$TAILOR" gen --users 3000 --items 400 --days 30 --seed 5 --out "$tmp/w1" >/dev/null
"$TAILOR" gen --users 3000 --items 400 --days 30 --seed 5 --out "$tmp/w2" >/dev/null
check_cmd "gen is deterministic" diff -r -q "$tmp/w1" "$tmp/w2"
files=("$tmp/w1/users.csv" "$tmp/w1/items.csv" "$tmp/w1/products.csv" "$tmp/w1/credit.csv"
       "$tmp/w1/consents.csv" "$tmp/w1/events.csv")

# import matches the generator's truth exactly; $TAILOR_DATA picks the dir
export TAILOR_DATA="$tmp/d"
out=$("$TAILOR" import --json "${files[@]}")
check_cmd "import --json is one JSON document" bash -c "echo '$out' | python3 -c 'import json,sys; json.load(sys.stdin)'"
python3 - "$out" "$tmp/w1/truth.json" <<'EOF' && pass || fail "import counts vs truth.json"
import json, sys
s = json.loads(sys.argv[1]); t = json.load(open(sys.argv[2]))
assert s["read"] == s["accepted"] + s["duplicates"] + s["quarantined"], s
assert s["by_reason"] == t["dirty"], (s["by_reason"], t["dirty"])
assert s["duplicates"] == t["duplicates"], (s["duplicates"], t["duplicates"])
assert s["quarantined"] == sum(t["dirty"].values())
EOF
check_cmd "the data went to \$TAILOR_DATA" test -f "$tmp/d/tailor.db"
stats=$("$TAILOR" stats --json)
check_cmd "stats: events equal the truth" test "$(echo "$stats" | json 'd["events"]')" = "$(json 'd["events"]' <"$tmp/w1/truth.json")"
check_cmd "stats: users" test "$(echo "$stats" | json 'd["users"]')" -ge 3000
check_cmd "stats keys" bash -c "echo '$stats' | python3 -c 'import json,sys; d=json.load(sys.stdin); [d[k] for k in (\"users\",\"items\",\"events\",\"events_by_type\",\"quarantined\")]'"
last=$("$TAILOR" import "${files[@]}" | tail -n 1)
check_cmd "last line is the summary" bash -c "echo '$last' | grep -Eq '^read=[0-9]+ accepted=0 duplicates=[0-9]+ quarantined=[0-9]+$'"
check_cmd "stats unchanged by re-import" test "$("$TAILOR" stats --json)" = "$stats"
check_cmd "--data beats \$TAILOR_DATA" test "$(status "$TAILOR" --data "$tmp/none" stats)" = 1
unset TAILOR_DATA
D="$tmp/d"

# personal data: never in clear on disk, masked in listings
phone=$(awk -F, 'NR==2{print $10}' "$tmp/w1/users.csv")
email=$(awk -F, 'NR==2{print $11}' "$tmp/w1/users.csv")
check_cmd "sample personal data present in the source" test -n "$phone" -a -n "$email"
check_cmd "no phone in clear in the data dir" bash -c "! grep -r -a -q -F '$phone' '$D'"
check_cmd "no e-mail in clear in the data dir" bash -c "! grep -r -a -q -F '$email' '$D'"
"$TAILOR" --data "$D" quarantine list --limit 100000 >"$tmp/qlist"
check_cmd "quarantine list shows rows" grep -q "bad_" "$tmp/qlist"
check_cmd "quarantine list masks phones" bash -c "! grep -Eq '1[3-9][0-9]{9}' '$tmp/qlist'"
"$TAILOR" --data "$D" quarantine export --format jsonl --out "$tmp/q.jsonl"
check_cmd "export has every quarantined row" test "$(wc -l <"$tmp/q.jsonl")" = "$(echo "$stats" | json 'd["quarantined"]')"
check_cmd "export file is private" test "$(stat -c %a "$tmp/q.jsonl")" = 600
"$TAILOR" --data "$D" quarantine list --json --reason bad_time >"$tmp/q.json"
check_cmd "quarantine list --json by reason" bash -c "python3 -c 'import json; d=json.load(open(\"$tmp/q.json\")); assert d[\"total\"] > 0 and all(r[\"reason\"] == \"bad_time\" for r in d[\"rows\"])'"

# strict mode
"$TAILOR" --data "$tmp/s" import --strict "$tmp/w1/events.csv" >/dev/null 2>"$tmp/err"
code=$?
check_cmd "--strict on dirty input exits 3" test "$code" = 3
check_cmd "--strict names the bad rows" grep -q "events.csv:" "$tmp/err"
check_cmd "--strict imported nothing" test "$("$TAILOR" --data "$tmp/s" stats --json | json 'd["events"]')" = 0
check_cmd "--strict on clean input exits 0" test "$(status "$TAILOR" --data "$tmp/s" import --strict "$tmp/w1/products.csv")" = 0

# damaged stores give clear errors
cp -r "$D" "$tmp/corrupt"
python3 - "$tmp/corrupt/events.log" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[32 + 48 + 200] ^= 0x5A
open(p, "wb").write(bytes(b))
EOF
"$TAILOR" --data "$tmp/corrupt" check 2>"$tmp/err"
check_cmd "check finds a corrupt block" test $? = 1
check_cmd "corruption error names the offset" grep -q "offset 32" "$tmp/err"
cp -r "$D" "$tmp/old"
sqlite3 "$tmp/old/tailor.db" "UPDATE meta SET value = 2 WHERE key = 'format'" 2>/dev/null || \
    python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"UPDATE meta SET value=2 WHERE key='format'\"); c.commit()" "$tmp/old/tailor.db"
"$TAILOR" --data "$tmp/old" stats 2>"$tmp/err"
check_cmd "another format version is refused" test $? = 1
check_cmd "version error says which" grep -q "format 2" "$tmp/err"
check_cmd "check --json on a good store" bash -c "'$TAILOR' --data '$D' check --json | python3 -c 'import json,sys; assert json.load(sys.stdin)[\"ok\"]'"

# a write that fails (here: the file size limit, as a full disk would) ends
# the import with a clear error, and the store keeps what was committed
"$TAILOR" gen --users 20000 --items 2000 --days 20 --seed 9 --out "$tmp/w3" >/dev/null
(ulimit -f 3000; trap '' XFSZ; "$TAILOR" --data "$tmp/full" import --batch 20000 "$tmp/w3/events.csv" >/dev/null 2>"$tmp/err")
check_cmd "a failed write exits 1" test $? = 1
check_cmd "the error names the file and the cause" grep -q "events.log: cannot append.*File too large" "$tmp/err"
check_cmd "the store is consistent after a failed write" bash -c "'$TAILOR' --data '$tmp/full' check >/dev/null"
n_full=$("$TAILOR" --data "$tmp/full" stats --json | json 'd["events"]')
check_cmd "committed batches survived the failed write" test "$n_full" -gt 0
"$TAILOR" --data "$tmp/full" import --batch 20000 "$tmp/w3/events.csv" >/dev/null
check_cmd "re-import after the failure completes the store" test "$("$TAILOR" --data "$tmp/full" stats --json | json 'd["events"]')" = "$(json 'd["events"]' <"$tmp/w3/truth.json")"

# the demo runs end to end on a small world
"$TAILOR" --data "$tmp/demo" demo --users 800 --items 200 --days 5 >"$tmp/demo.out" 2>&1
check_cmd "demo exits 0" test $? = 0
check_cmd "demo imports twice and the second time all is duplicate" grep -Eq "^read=[0-9]+ accepted=0 duplicates=[0-9]+ quarantined=[0-9]+$" "$tmp/demo.out"
check_cmd "demo ends with a passing check" grep -q "all checksums match" "$tmp/demo.out"

finish
