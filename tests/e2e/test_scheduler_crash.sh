#!/usr/bin/env bash
# test_scheduler_crash.sh -- the scheduler inside `tailor serve` killed
# (SIGKILL) at 20 random moments while carts flow in over HTTP and its
# thread decides them, each time started again and the batches not
# acknowledged sent again. Each of 6,000 users sends one cart (batches of
# 20, one each 0.1 s, so they flow through all the lives); the campaign sends
# everyone in-app, with no hold-out, cap or quiet hours: in the end each
# user has exactly one message in the outbox, none lost and none doubled,
# whichever moment each kill fell on.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
D=$TMP/d
N=6000
"$TAILOR" gen --users 200 --items 20 --days 2 --seed 3 --dirty 0 --out "$TMP/w" >/dev/null
"$TAILOR" --data "$D" import "$TMP"/w/{users,items}.csv >/dev/null 2>&1
KEY=$("$TAILOR" --data "$D" apikey create --role admin 2>/dev/null)
cat >"$TMP/c.json" <<'JSON'
{"id":"welcome","channels":["in_app"],"content":{"type":"coupon","code":"W"},
 "trigger":{"event":"cart","lookback":"7d"},"quiet_hours":false}
JSON
"$TAILOR" --data "$D" campaign create "$TMP/c.json" >/dev/null
python3 - "$N" "$TMP/batches" <<'PY'
import json, os, sys
n, out = int(sys.argv[1]), sys.argv[2]
os.makedirs(out)
for b in range(n // 20):
    with open(os.path.join(out, "%04d" % b), "w") as f:
        for i in range(b * 20, b * 20 + 20):
            f.write(json.dumps({"event_id": "c%05d" % i, "user": "y%05d" % i, "item": "i00001",
                                "type": "cart", "ts": "2025-11-30T20:00:00Z"}) + "\n")
PY

spid=""
trap '[[ -n $spid ]] && kill -9 $spid 2>/dev/null; rm -rf "$TMP"' EXIT
serve() {
    "$TAILOR" --data "$D" serve --listen 127.0.0.1:0 --tick 100 >"$TMP/serve.out" 2>"$TMP/serve.err" &
    spid=$!
    for _ in $(seq 300); do grep -q listening "$TMP/serve.out" 2>/dev/null && break; sleep 0.05; done
    U="http://127.0.0.1:$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$TMP/serve.out")"
}
# sends the batches not acknowledged yet, in order, one each PACE seconds
# (so the carts flow through all the lives), until the server dies
send() {
    local f
    for f in "$TMP"/batches/[0-9][0-9][0-9][0-9]; do
        [[ -e $f.ok ]] && continue
        [[ $(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" \
            --data-binary @"$f" "$U/v1/events") == 200 ]] || return 0
        touch "$f.ok"
        sleep "$1"
    done
}
kills=0
for i in $(seq 20); do
    serve
    send 0.1 &
    cpid=$!
    sleep "$(awk -v s="$RANDOM" 'BEGIN{srand(s); printf "%.2f", 0.2 + rand() * 1.2}')"
    kill -9 "$spid" 2>/dev/null && kills=$((kills + 1))
    wait "$spid" 2>/dev/null
    spid=""
    wait "$cpid" 2>/dev/null
done
check "killed 20 times" "$kills" 20
check_cmd "the kills fell while carts were still coming" \
    test "$(find "$TMP/batches" -name '*.ok' | wc -l)" -lt $((N / 20))
serve
send 0
check "every batch acknowledged in the end" "$(find "$TMP/batches" -name '*.ok' | wc -l)" $((N / 20))
for _ in $(seq 300); do
    req GET /v1/scheduler "$KEY" >/dev/null
    [[ $(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["campaigns"]; print(c and c[0]["backlog_events"])' \
        "$TMP/body") == 0 ]] && break
    sleep 0.1
done
kill -TERM "$spid"
wait "$spid" 2>/dev/null
spid=""
check_cmd "each user's cart decided exactly once across the kills" python3 - "$N" "$D/outbox" <<'PY'
import glob, json, os, sys
n = int(sys.argv[1])
seen = {}
for f in glob.glob(os.path.join(sys.argv[2], "*.jsonl")):
    for l in open(f):
        r = json.loads(l)
        if r.get("campaign") == "welcome":
            seen[r["user"]] = seen.get(r["user"], 0) + 1
lost = [u for u in ("y%05d" % i for i in range(n)) if u not in seen]
doubled = {u: k for u, k in seen.items() if k != 1}
assert not lost and not doubled and len(seen) == n, (len(lost), lost[:5], list(doubled.items())[:5])
PY
finish
