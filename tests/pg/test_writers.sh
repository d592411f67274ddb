#!/usr/bin/env bash
# test_writers.sh -- many writers on one PostgreSQL store at once: two
# `tailor import` processes with overlapping files and two `tailor serve`
# processes taking overlapping request bodies, all at the same time, end
# with exactly the store one clean import of everything makes: the same
# events (count and digest of fingerprints), the same counts and the same
# profiles, user by user. (Clean rows: a bad row in two files is two
# rejected records, kept with each file's position, so the quarantines of
# overlapping files and of one file differ by design.)
. "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"
[[ -n ${TAILOR_TEST_PG:-} ]] || { echo "SKIP: no PostgreSQL server (TAILOR_TEST_PG)"; exit 77; }

W=$TMP/world
"$TAILOR_REAL" gen --users 3000 --items 800 --days 30 --seed 11 --dirty 0 --out "$W" >/dev/null
ev=$W/events.csv
n=$(($(wc -l <"$ev") - 1))
# A: the first 60 % of the events, B: the last 60 % (a fifth in both)
{ head -1 "$ev"; sed -n "2,$((n * 6 / 10 + 1))p" "$ev"; } >"$TMP/a.csv"
{ head -1 "$ev"; sed -n "$((n * 4 / 10 + 2)),\$p" "$ev"; } >"$TMP/b.csv"
# request bodies: the middle third again, as JSON Lines, to both servers
python3 - "$ev" "$TMP/bodies" <<'EOF'
import csv, json, os, sys
rows = list(csv.DictReader(open(sys.argv[1])))
mid = rows[len(rows) // 3: 2 * len(rows) // 3]
os.makedirs(sys.argv[2])
for k in range(0, len(mid), 500):
    with open(f"{sys.argv[2]}/{k // 500:05d}.jsonl", "w") as f:
        for r in mid[k:k + 500]:
            f.write(json.dumps({c: v for c, v in r.items() if v != ""}) + "\n")
EOF
entities=("$W/users.csv" "$W/items.csv" "$W/products.csv" "$W/credit.csv" "$W/consents.csv")

# the reference: one clean import of everything (with the newcomer posted below)
echo '{"event_id":"newcomer-1","user":"newcomer-1","item":"i00001","type":"view","ts":"2025-11-30T10:00:00Z"}' \
    >"$TMP/newcomer.jsonl"
"$TAILOR" --data "$TMP/ref" import "${entities[@]}" "$ev" "$TMP/newcomer.jsonl" >/dev/null 2>&1

S=$TMP/shared
"$TAILOR" --data "$S" import "${entities[@]}" >/dev/null 2>&1 # the store made
KEY=$("$TAILOR" --data "$S" apikey create --role service 2>/dev/null)
pids=()
for i in 1 2; do
    "$TAILOR_REAL" --data "$S" serve --listen 127.0.0.1:0 >"$TMP/serve$i.out" 2>"$TMP/serve$i.err" &
    pids+=($!)
done
trap 'kill -9 "${pids[@]}" 2>/dev/null; drop_pg' EXIT
ports=()
for i in 1 2; do
    for _ in $(seq 200); do grep -q listening "$TMP/serve$i.out" 2>/dev/null && break; sleep 0.1; done
    ports+=("$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$TMP/serve$i.out")")
done
check "two servers on one store" "${#ports[@]}:$([[ -n ${ports[0]} && -n ${ports[1]} ]] && echo up)" "2:up"

post_all() { # PORT: every body, each sent twice
    local f code bad=0
    for f in "$TMP"/bodies/*.jsonl "$TMP"/bodies/*.jsonl; do
        code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" \
            --data-binary @"$f" "http://127.0.0.1:$1/v1/events")
        [[ $code == 200 ]] || bad=$((bad + 1))
    done
    echo "$bad" >"$TMP/post.$1"
}
"$TAILOR_REAL" --data "$S" import "${entities[@]}" "$TMP/a.csv" >"$TMP/imp1" 2>&1 &
i1=$!
"$TAILOR_REAL" --data "$S" import "$TMP/b.csv" "${entities[@]}" >"$TMP/imp2" 2>&1 &
i2=$!
post_all "${ports[0]}" &
p1=$!
post_all "${ports[1]}" &
p2=$!
rc1=0 rc2=0
wait $i1 || rc1=$?
wait $i2 || rc2=$?
wait $p1 $p2
check "both imports finished" "$rc1 $rc2" "0 0"
check "every request answered 200" "$(cat "$TMP/post.${ports[0]}") $(cat "$TMP/post.${ports[1]}")" "0 0"
# a newcomer posted to one server is known to the other within a few
# seconds: each server follows what the others commit
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" --data-binary \
    '{"event_id":"newcomer-1","user":"newcomer-1","item":"i00001","type":"view","ts":"2025-11-30T10:00:00Z"}' \
    "http://127.0.0.1:${ports[1]}/v1/events")
check "a newcomer's event taken by the second server" "$code" 200
seen=0
for _ in $(seq 50); do
    code=$(curl -s -o "$TMP/newcomer.json" -w '%{http_code}' -H "Authorization: Bearer $KEY" \
        "http://127.0.0.1:${ports[0]}/v1/users/newcomer-1/profile")
    [[ $code == 200 ]] && { seen=1; break; }
    sleep 0.2
done
check "... and its profile served by the first within 10 s" "$seen" 1
kill -TERM "${pids[@]}"
wait "${pids[@]}" 2>/dev/null

ref_check=$("$TAILOR" --data "$TMP/ref" check --json)
got_check=$("$TAILOR" --data "$S" check --json)
check "the reference holds the world's events" "$(($(jget events <<<"$ref_check") >= n))" 1
check "the same number of events" "$(jget events <<<"$got_check")" "$(jget events <<<"$ref_check")"
check "the same events (digest of fingerprints)" "$(jget events_digest <<<"$got_check")" \
    "$(jget events_digest <<<"$ref_check")"
check "the same counts" "$("$TAILOR" --data "$S" stats --json | jcanon)" \
    "$("$TAILOR" --data "$TMP/ref" stats --json | jcanon)"
for d in "$TMP/ref" "$S"; do
    "$TAILOR" --data "$d" profile build >/dev/null
    "$TAILOR" --data "$d" profile export >"$d.profiles.csv"
done
check "profiles of every user" "$(($(wc -l <"$S.profiles.csv") > 3000))" 1
check "the same profiles, user by user" "$(sort "$S.profiles.csv" | md5sum)" \
    "$(sort "$TMP/ref.profiles.csv" | md5sum)"
finish
