#!/usr/bin/env bash
# test_scheduler_servers.sh -- two `tailor serve` processes on one
# PostgreSQL store, each with its scheduler ticking every 50 ms, while
# 2,000 users' carts are posted to both at once (each cart to one of them,
# a user's to either). Each run reads the campaign's state and position
# inside its batch, under the writers' lock, so between them every cart is
# decided exactly once: the campaign's sends are 2,000, and the outbox,
# handed to a gateway, holds each user once.
. "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"
[[ -n ${TAILOR_TEST_PG:-} ]] || { echo "SKIP: no PostgreSQL server (TAILOR_TEST_PG)"; exit 77; }
N=2000
S=$TMP/shared
"$TAILOR_REAL" gen --users 200 --items 20 --days 2 --seed 3 --dirty 0 --out "$TMP/w" >/dev/null
"$TAILOR" --data "$S" import "$TMP"/w/{users,items}.csv >/dev/null 2>&1 # the store made
KEY=$("$TAILOR" --data "$S" apikey create --role admin 2>/dev/null)
cat >"$TMP/c.json" <<'JSON'
{"id":"welcome","channels":["in_app"],"content":{"type":"coupon","code":"W"},
 "trigger":{"event":"cart","lookback":"7d"},"quiet_hours":false}
JSON
"$TAILOR" --data "$S" campaign create "$TMP/c.json" >/dev/null
python3 - "$N" "$TMP/batches" <<'PY'
import json, os, sys
n, out = int(sys.argv[1]), sys.argv[2]
for side in (0, 1):
    os.makedirs(os.path.join(out, str(side)))
for b in range(n // 20):
    with open(os.path.join(out, str(b % 2), "%04d" % b), "w") as f:
        for i in range(b * 20, b * 20 + 20):
            f.write(json.dumps({"event_id": "c%05d" % i, "user": "y%05d" % i, "item": "i00001",
                                "type": "cart", "ts": "2025-11-30T20:00:00Z"}) + "\n")
PY
pids=()
for i in 0 1; do
    "$TAILOR_REAL" --data "$S" serve --listen 127.0.0.1:0 --tick 50 >"$TMP/serve$i.out" 2>"$TMP/serve$i.err" &
    pids+=($!)
done
python3 "$SRC/tests/e2e/gateway.py" "$TMP/posted.jsonl" >"$TMP/gateway.port" &
gpid=$!
trap 'kill -9 "${pids[@]}" $gpid 2>/dev/null; drop_pg' EXIT
ports=()
for i in 0 1; do
    for _ in $(seq 200); do grep -q listening "$TMP/serve$i.out" 2>/dev/null && break; sleep 0.1; done
    ports+=("$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$TMP/serve$i.out")")
done
check "two servers on one store" "$([[ -n ${ports[0]} && -n ${ports[1]} ]] && echo up)" up
post() { # SIDE: its batches to its server; prints the batches not answered 200
    local f bad=0
    for f in "$TMP"/batches/"$1"/*; do
        [[ $(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" \
            --data-binary @"$f" "http://127.0.0.1:${ports[$1]}/v1/events") == 200 ]] || bad=$((bad + 1))
    done
    echo "$bad"
}
post 0 >"$TMP/bad0" &
p0=$!
post 1 >"$TMP/bad1"
wait $p0
check "every batch answered by both servers" "$(cat "$TMP/bad0" "$TMP/bad1" | tr '\n' ' ')" "0 0 "
sends() { "$TAILOR" --data "$S" status --json | python3 -c '
import json, sys
c = [c for c in json.load(sys.stdin)["campaigns"] if c["id"] == "welcome"][0]
print(c["sends"], c["backlog_events"])'; }
for _ in $(seq 300); do [[ $(sends) == "$N 0" ]] && break; sleep 0.1; done
sleep 1 # a run that would decide a cart again has had its ticks
check "the campaign's sends: each cart once between the two schedulers" "$(sends)" "$N 0"
kill -TERM "${pids[@]}"
wait "${pids[@]}" 2>/dev/null
pids=()
for _ in $(seq 100); do [[ -s $TMP/gateway.port ]] && break; sleep 0.1; done
"$TAILOR" --data "$S" campaign deliver --url "http://127.0.0.1:$(head -n 1 "$TMP/gateway.port")" \
    >/dev/null 2>&1
check_cmd "the outbox holds each user once" python3 - "$N" "$TMP/posted.jsonl" <<'PY'
import json, sys
n = int(sys.argv[1])
users = [json.loads(l)["user"] for l in open(sys.argv[2])]
assert len(users) == n and len(set(users)) == n, (len(users), len(set(users)))
PY
finish
