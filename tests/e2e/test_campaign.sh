#!/usr/bin/env bash
# test_campaign.sh -- campaigns on generated worlds: every audience member
# gets exactly one decision; no delivery without consent or to a user on the
# do-not-contact list; no frequency cap ever exceeded (checked from the
# outbox); quiet hours hold messages to the window's end; the hold-out share
# is within sampling error; assignment is the same across runs and
# processes; a run killed at any moment leaves nothing half done; trigger
# campaigns fire once per trigger; and the measured lift of a campaign with
# a known true effect falls inside its 95 % interval in most seeds.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

W=$TMP/world
D=$TMP/d
"$TAILOR" gen --users 5000 --items 400 --days 30 --seed 3 --dirty 0 --out "$W" >/dev/null
"$TAILOR" --data "$D" import "$W"/{users,items,products,credit,consents,events}.csv >/dev/null 2>&1

cat >"$TMP/bad1.json" <<'EOF'
{"id":"x","channels":["push"],"holdot":10}
EOF
cat >"$TMP/bad2.json" <<'EOF'
{"id":"x","channels":["fax"]}
EOF
cat >"$TMP/bad3.json" <<'EOF'
{"id":"x","channels":["push"],"caps":[{"channel":"push","per":"day"}]}
EOF
for k in 1 2 3; do
    rc=0
    "$TAILOR" --data "$D" campaign create "$TMP/bad$k.json" >/dev/null 2>"$TMP/bad$k.err" || rc=$?
    check "bad definition $k refused with exit 2 (a usage error)" "$rc" 2
done
check_cmd "the unknown field is named" grep -q '"holdot"' "$TMP/bad1.err"
check_cmd "the unknown channel is named" grep -q '"fax"' "$TMP/bad2.err"
check_cmd "a cap without max is explained" grep -q 'max' "$TMP/bad3.err"

# the example of the documentation works as written
cat >"$TMP/min.json" <<'EOF'
{"id":"cart-push","name":"cart reminder","audience":"true","channels":["push"],
 "content":{"type":"recommendations","n":3},
 "arms":[{"name":"A","weight":50},{"name":"B","weight":50}],"holdout":10,
 "consent":"marketing_push","caps":[{"channel":"push","max":1,"per":"day"}]}
EOF
check_cmd "the minimal campaign is accepted" "$TAILOR" --data "$D" campaign create "$TMP/min.json" >/dev/null

# two channels, a tag cap over any channel, a daily push cap, three arms
cat >"$TMP/c.json" <<'EOF'
{"id":"spring","audience":"true","channels":["push","sms"],"tags":["promo"],
 "content":{"type":"coupon","code":"SPRING10","value":10},
 "arms":[{"name":"A","weight":2},{"name":"B","weight":1},{"name":"C","weight":1,
          "content":{"type":"coupon","code":"SPRING20","value":20}}],
 "holdout":20,
 "caps":[{"channel":"push","max":1,"per":"day"},{"tag":"promo","max":2,"per":"7d"}],
 "budget":{"cost":{"push":0.001,"sms":0.05}}}
EOF
"$TAILOR" --data "$D" campaign create "$TMP/c.json" >/dev/null
cp -r "$D" "$TMP/d_copy"
"$TAILOR" --data "$D" campaign dnc u000010 --channel push --reason unsubscribed >/dev/null
"$TAILOR" --data "$TMP/d_copy" campaign dnc u000010 --channel push --reason unsubscribed >/dev/null

run() { "$TAILOR" --data "$1" campaign run spring --at "$2" --json; }
run "$D" 2025-11-15T12:00:00+08:00 >"$TMP/r1.json"
before=$(cat "$D"/outbox/*.jsonl | wc -l)
"$TAILOR" --data "$D" campaign run spring --at 2025-11-15T13:00:00+08:00 --dry-run --json >"$TMP/dry.json"
check "a dry run writes nothing" "$(cat "$D"/outbox/*.jsonl | wc -l)" "$before"
run "$D" 2025-11-15T14:00:00+08:00 >"$TMP/r2.json"
run "$D" 2025-11-16T12:00:00+08:00 >"$TMP/r3.json"
run "$D" 2025-11-16T23:30:00+08:00 >"$TMP/r4.json"
check_cmd "the dry run decided like a run" python3 - "$TMP/dry.json" "$TMP/r2.json" <<'EOF'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
assert a["decisions"] == b["decisions"], (a["decisions"], b["decisions"])
EOF

check_cmd "decisions add up, consent and do-not-contact hold, caps are never exceeded, quiet hours hold" \
python3 - "$W/consents.csv" "$D/outbox" "$TMP"/r{1,2,3,4}.json <<'EOF'
import csv, glob, json, os, sys
from datetime import datetime, timedelta, timezone
cons = {}
for r in csv.DictReader(open(sys.argv[1])):
    cons.setdefault((r["user"], r["purpose"]), []).append((r["at"], r["status"] == "granted"))
def parse(t):
    return datetime.fromisoformat(t.replace("Z", "+00:00"))
def granted(u, p, at):
    g = False
    for t, ok in sorted(cons.get((u, p), [])):
        if parse(t) <= at:
            g = ok
    return g
runs = [json.load(open(f)) for f in sys.argv[3:]]
for r in runs:
    assert sum(r["decisions"].values()) == r["audience"] == 5000, r
    assert sum(r["deliveries_by_arm"].values()) == sum(r["deliveries_by_channel"].values()) == \
        r["decisions"]["sent"] + r["decisions"]["queued"] + r["decisions"]["quiet_hours"], r
lines = []
for f in glob.glob(os.path.join(sys.argv[2], "*.jsonl")):
    lines += [json.loads(l) for l in open(f)]
assert len(lines) == sum(sum(r["deliveries_by_arm"].values()) for r in runs), len(lines)
runat = {1: "2025-11-15T04:00:00Z", 2: "2025-11-15T06:00:00Z", 3: "2025-11-16T04:00:00Z",
         4: "2025-11-16T15:30:00Z"}
tz = timezone(timedelta(hours=8))
per_day, per_user = {}, {}
for l in lines:
    u, ch, at = l["user"], l["channel"], parse(l["at"])
    assert granted(u, "marketing_" + ch, parse(runat[l["run"]])), ("no consent", l)
    assert not (u == "u000010" and ch == "push"), l
    if l["run"] == 4:  # 23:30 local: held to 08:00 the next morning
        assert l["status"] == "quiet_hours" and l["at"] == "2025-11-17T00:00:00Z", l
    else:
        assert "status" not in l, l  # sent now: the default
    if ch == "push":
        k = (u, at.astimezone(tz).date())
        per_day[k] = per_day.get(k, 0) + 1
        assert per_day[k] <= 1, ("push cap", k)
    per_user.setdefault(u, []).append(at)
for u, ts in per_user.items():
    ts.sort()
    for i in range(len(ts)):
        assert sum(1 for t in ts if abs(t - ts[i]) < timedelta(days=7)) <= 2, ("promo cap", u, ts)
# the second run the same day: push is capped, some fall back to sms
r2 = runs[1]["decisions"]
assert r2["capped"] > 0 and runs[1]["deliveries_by_channel"]["sms"] > 0, runs[1]
EOF

check_cmd "the hold-out share is within sampling error of 20 %" python3 - "$TMP/r1.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))["decisions"]
n = d["holdout"] + d["sent"] + d["queued"] + d["quiet_hours"]
share = d["holdout"] / n
assert abs(share - 0.2) < 4 * (0.2 * 0.8 / n) ** 0.5, (share, n)
EOF

check_cmd "assignment is the same in every run and in another process and directory" \
python3 - "$D" "$TMP/d_copy" <<'EOF'
import glob, json, os, struct, subprocess, sys
def arms(d):
    m = {}
    for f in glob.glob(os.path.join(d, "outbox", "*.jsonl")):
        for l in open(f):
            l = json.loads(l)
            assert m.setdefault(l["user"], l["arm"]) == l["arm"], l
    return m
a = arms(sys.argv[1])
subprocess.run([os.environ.get("TAILOR"), "--data", sys.argv[2], "campaign", "run", "spring",
                "--at", "2025-11-15T12:00:00+08:00"], check=True, stdout=subprocess.DEVNULL)
b = arms(sys.argv[2])
assert b and all(a.get(u, v) == v for u, v in b.items()), "arms differ"
# the exposure logs agree on who is held out
def held(d):
    raw = open(os.path.join(d, "campaigns", "spring", "exposures.bin"), "rb").read()
    out = set()
    for i in range(0, len(raw), 16):
        user, run, dec, ac, at = struct.unpack_from("<IHBBq", raw, i)
        if dec == 1:
            out.add(user)
    return out
assert held(sys.argv[1]) >= held(sys.argv[2]) and held(sys.argv[2]), "hold-out differs"
EOF

# the global control group is kept out of every campaign, at its share
cp -r "$TMP/d_copy" "$TMP/d_gc"
"$TAILOR" --data "$TMP/d_gc" campaign control 5 >/dev/null
run "$TMP/d_gc" 2025-11-15T12:00:00+08:00 >"$TMP/gc.json"
check_cmd "the global control group takes its share and no messages" python3 - "$TMP/gc.json" "$TMP/d_gc" <<'EOF'
import glob, json, os, sys
d = json.load(open(sys.argv[1]))["decisions"]
n = 5000
assert abs(d["global_control"] / n - 0.05) < 4 * (0.05 * 0.95 / n) ** 0.5, d
EOF

# a run killed at random moments leaves the store as if it never started
cp -r "$TMP/d_copy" "$TMP/d_kill"
"$TAILOR" --data "$TMP/d_copy" campaign run spring --at 2025-11-16T12:00:00+08:00 >/dev/null
ref=$(cat "$TMP/d_copy"/outbox/*.jsonl | md5sum)
for k in 1 2 3 4 5 6; do
    "$TAILOR" --data "$TMP/d_kill" campaign run spring --at 2025-11-16T12:00:00+08:00 >/dev/null 2>&1 &
    pid=$!
    sleep "0.00$((RANDOM % 9))"
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
    if [[ $(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select runs from campaigns where id=\"spring\"").fetchone()[0])' "$TMP/d_kill/tailor.db") == 2 ]]; then
        break # the run completed before the kill
    fi
done
runs=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select runs from campaigns where id=\"spring\"").fetchone()[0])' "$TMP/d_kill/tailor.db")
if [[ $runs == 1 ]]; then
    "$TAILOR" --data "$TMP/d_kill" campaign run spring --at 2025-11-16T12:00:00+08:00 >/dev/null
fi
check "after kills, one clean run: the outbox equals a run never interrupted" \
    "$(cat "$TMP/d_kill"/outbox/*.jsonl | md5sum)" "$ref"

# the webhook adapter: everything due is posted once, with retries, personal fields filled in then
python3 "$SRC/tests/e2e/gateway.py" "$TMP/gateway.jsonl" >"$TMP/gw.port" &
gw=$!
for _ in $(seq 50); do [[ -s $TMP/gw.port ]] && break; sleep 0.1; done
url="http://127.0.0.1:$(cat "$TMP/gw.port")/messages"
"$TAILOR" --data "$D" campaign deliver --url "$url" --now 2025-11-16T20:00:00Z --json >"$TMP/dl1.json"
"$TAILOR" --data "$D" campaign deliver --url "$url" --now 2025-11-16T21:00:00Z --json >"$TMP/dl2.json"
"$TAILOR" --data "$D" campaign deliver --url "$url" --now 2025-11-30T00:00:00Z --json >"$TMP/dl3.json"
kill $gw
check_cmd "each due record posted once, held ones later, refusals kept; phones only on the wire" \
python3 - "$D" "$TMP/gateway.jsonl" "$W/users.csv" "$TMP"/dl{1,2,3}.json <<'EOF'
import csv, glob, json, os, sqlite3, sys
d, got = sys.argv[1], [json.loads(l) for l in open(sys.argv[2])]
dl = [json.load(open(f)) for f in sys.argv[4:]]
lines = [json.loads(l) for f in glob.glob(os.path.join(d, "outbox", "*.jsonl")) for l in open(f)]
ids = [g["id"] for g in got]
assert len(ids) == len(set(ids)), "a record was posted twice"
def rid(l):
    return "%s:%d:%s" % (l["campaign"], l["run"], l["user"])
refused = {rid(l) for l in lines if l["user"] == "u000030"}
assert set(ids) == {rid(l) for l in lines} - refused, (len(ids), len(lines), len(refused))
assert dl[0]["held"] > 0 and dl[0]["retries"] > 0 and dl[1]["posted"] == 0, dl
assert dl[2]["posted"] == dl[0]["held"] and dl[0]["failed"] + dl[2]["failed"] == len(refused), dl
db = sqlite3.connect(os.path.join(d, "tailor.db"))
assert db.execute("select count(*) from deliveries where status = 'failed' and code = 400").fetchone()[0] == len(refused)
phones = {r["user"]: r["phone"] for r in csv.DictReader(open(sys.argv[3]))}
sms = [g for g in got if g["channel"] == "sms"]
assert sms and all(g["phone"] == phones[g["user"]] for g in sms), sms[:2]
raw = b"".join(open(f, "rb").read() for f in glob.glob(os.path.join(d, "outbox", "*")))
assert not [p for p in (phones[g["user"]] for g in sms) if p.encode() in raw], "a phone in the outbox"
EOF

# a paused campaign does not run
"$TAILOR" --data "$D" campaign pause spring >/dev/null
rc=0
"$TAILOR" --data "$D" campaign run spring --at 2025-11-20T12:00:00+08:00 >/dev/null 2>"$TMP/paused.err" || rc=$?
check "a paused campaign refuses to run" "$rc" 1
check_cmd "... and says how to resume it" grep -q "campaign resume spring" "$TMP/paused.err"

# feedback: a complaint suppresses the channel at once; bad rows are quarantined
cat >"$TMP/fb.csv" <<'EOF'
user,kind,at,campaign,channel,item,score
u000020,complaint,2025-11-17T10:00:00Z,spring,push,,
u000021,unsubscribe,2025-11-17T10:00:00Z,spring,,,
u999999,complaint,2025-11-17T10:00:00Z,,,,
u000022,review,2025-11-17T10:00:00Z,,,i00001,9
u000023,survey,2025-11-17T10:00:00Z,,,,
EOF
"$TAILOR" --data "$D" feedback import "$TMP/fb.csv" >"$TMP/fb.out" 2>"$TMP/fb.err"
check "feedback: counts add up" "$(tail -1 "$TMP/fb.out")" "read=5 accepted=3 duplicates=0 quarantined=2"
check_cmd "... the rejected rows are told with their line" grep -q "fb.csv:4: unknown_user" "$TMP/fb.err"
"$TAILOR" --data "$D" campaign resume spring >/dev/null
run "$D" 2025-11-25T12:00:00+08:00 >"$TMP/r5.json"
check_cmd "after a complaint no push, after an unsubscribe nothing" python3 - "$D/outbox" "$TMP/r5.json" <<'EOF'
import glob, json, os, sys
lines = [json.loads(l) for f in glob.glob(os.path.join(sys.argv[1], "*.jsonl")) for l in open(f)]
r5 = [l for l in lines if l["campaign"] == "spring" and l["run"] == 5]
assert r5 and not [l for l in r5 if l["user"] == "u000020" and l["channel"] == "push"], "push after complaint"
assert not [l for l in r5 if l["user"] == "u000021"], "message after unsubscribe"
assert json.load(open(sys.argv[2]))["decisions"]["do_not_contact"] >= 1
EOF
"$TAILOR" --data "$D" report campaign spring --json >"$TMP/spring.json"
check_cmd "the report shows the complaint and the unsubscribe" python3 - "$TMP/spring.json" <<'EOF'
import json, sys
g = json.load(open(sys.argv[1]))["groups"]
assert round(sum(x["complaint_rate"] * x["users"] for x in g)) == 1, g
assert round(sum(x["unsubscribe_rate"] * x["users"] for x in g)) == 1, g
EOF
"$TAILOR" --data "$D" campaign pause spring >/dev/null

# cart abandonment: carts not followed by a purchase within 2 hours, run hourly
cat >"$TMP/cart.json" <<'EOF'
{"id":"cart-reminder","channels":["push","in_app"],"content":{"type":"coupon","code":"CART5"},
 "trigger":{"event":"cart","unless":"purchase","within":"2h","lookback":"1h"},
 "quiet_hours":false,"holdout":10}
EOF
"$TAILOR" --data "$D" campaign create "$TMP/cart.json" >/dev/null
for h in $(seq 0 23); do
    "$TAILOR" --data "$D" campaign run cart-reminder --at "$(printf '2025-11-20T%02d:00:00Z' "$h")" --json
done >"$TMP/cart_runs.jsonl"
check_cmd "each abandoned cart of the day triggers once, two hours on, none with a purchase" \
python3 - "$W/events.csv" "$D/outbox" "$TMP/cart_runs.jsonl" <<'EOF'
import csv, glob, json, os, sys
from datetime import datetime, timedelta, timezone
def parse(t):
    if t.isdigit():  # the generator writes some times as Unix seconds or milliseconds
        return datetime.fromtimestamp(int(t) / (1000 if len(t) > 11 else 1), timezone.utc)
    return datetime.fromisoformat(t.replace("Z", "+00:00"))
carts, buys = {}, {}
for r in csv.DictReader(open(sys.argv[1])):
    if r["type"] in ("cart", "purchase"):
        (carts if r["type"] == "cart" else buys).setdefault(r["user"], []).append(parse(r["ts"]))
lo, hi = parse("2025-11-19T23:00:00Z"), parse("2025-11-20T23:00:00Z")
expect = {}
for u, ts in carts.items():
    for t in ts:
        d = t + timedelta(hours=2)
        if lo < d <= hi and not any(t < b <= d for b in buys.get(u, [])):
            expect.setdefault(u, []).append(d)
runs = [json.loads(l) for l in open(sys.argv[3])]
decided = sum(r["audience"] for r in runs)
users_per_run = {}
for r in runs:
    assert sum(r["decisions"].values()) == r["audience"], r
lines = []
for f in glob.glob(os.path.join(sys.argv[2], "*.jsonl")):
    lines += [json.loads(l) for l in open(f) if '"cart-reminder"' in l]
sent = {}
for l in lines:
    assert l["user"] in expect, ("no abandoned cart", l)
    at = parse(l["at"])
    assert any(abs(at - d) <= timedelta(hours=1) for d in expect[l["user"]]), ("timing", l, expect[l["user"]])
    sent[l["user"]] = sent.get(l["user"], 0) + 1
# a user is decided at most once a run; everyone expected was decided
assert decided >= len(expect) and decided <= sum(len(v) for v in expect.values()), (decided, len(expect))
assert sent, "nothing sent"
EOF

# triggers by arrival: a cart sent after the run that passed its time is
# decided by the next run (once), one older than the lookback is not
cat >"$TMP/late.csv" <<'EOF'
event_id,user,item,type,ts,channel
late-1,u000007,i00001,cart,2025-11-20T20:45:00Z,app
late-2,u000008,i00001,cart,2025-11-20T18:00:00Z,app
EOF
check "the late carts imported" "$("$TAILOR" --data "$D" import "$TMP/late.csv" | tail -1)" "read=2 accepted=2 duplicates=0 quarantined=0"
for at in 2025-11-20T23:30:00Z 2025-11-20T23:45:00Z; do
    "$TAILOR" --data "$D" campaign run cart-reminder --at "$at" --json
done >"$TMP/late_runs.jsonl"
check_cmd "a late cart is decided once by the next run, a stale one never" \
python3 - "$W/events.csv" "$TMP/late.csv" "$TMP/late_runs.jsonl" <<'EOF'
import csv, json, sys
from datetime import datetime, timedelta, timezone
def parse(t):
    if t.isdigit():
        return datetime.fromtimestamp(int(t) / (1000 if len(t) > 11 else 1), timezone.utc)
    return datetime.fromisoformat(t.replace("Z", "+00:00"))
rows = list(csv.DictReader(open(sys.argv[1]))) + list(csv.DictReader(open(sys.argv[2])))
carts, buys = [], {}
for r in rows:
    if r["type"] == "cart":
        carts.append((r["user"], parse(r["ts"]), r["event_id"].startswith("late")))
    elif r["type"] == "purchase":
        buys.setdefault(r["user"], []).append(parse(r["ts"]))
def due(lo, hi, late_lo):
    users = set()
    for u, t, late in carts:
        d = t + timedelta(hours=2)
        if (late_lo if late else lo) < d <= hi and not any(t < b <= d for b in buys.get(u, [])):
            users.add(u)
    return users
P = parse
runs = [json.loads(l) for l in open(sys.argv[3])]
first = due(P("2025-11-20T23:00:00Z"), P("2025-11-20T23:30:00Z"), P("2025-11-20T22:30:00Z"))
second = due(P("2025-11-20T23:30:00Z"), P("2025-11-20T23:45:00Z"), P("2025-11-20T23:30:00Z"))
assert "u000007" in first and "u000008" not in first, first
assert runs[0]["late_trigger_events"] == 1 and runs[1]["late_trigger_events"] == 0, runs
assert runs[0]["audience"] == len(first), (runs[0]["audience"], len(first))
assert runs[1]["audience"] == len(second), (runs[1]["audience"], len(second))
EOF

# a large purchase triggers an instalment offer: purchases of 3,000 or more only
cat >"$TMP/big.json" <<'EOF'
{"id":"instalment","channels":["in_app"],"content":{"type":"coupon","code":"FQ"},
 "trigger":{"event":"purchase","min_amount":3000,"lookback":"30d"}}
EOF
"$TAILOR" --data "$D" campaign create "$TMP/big.json" >/dev/null
"$TAILOR" --data "$D" campaign run instalment --at 2025-11-30T00:00:00Z --json >"$TMP/big_run.json"
check_cmd "min_amount: exactly the users with a purchase of at least 3,000 in the lookback" \
python3 - "$W/events.csv" "$TMP/big_run.json" <<'EOF'
import csv, json, sys
from datetime import datetime, timedelta, timezone
def parse(t):
    if t.isdigit():
        return datetime.fromtimestamp(int(t) / (1000 if len(t) > 11 else 1), timezone.utc)
    return datetime.fromisoformat(t.replace("Z", "+00:00"))
at = parse("2025-11-30T00:00:00Z")
users, small = set(), set()
for r in csv.DictReader(open(sys.argv[1])):
    if r["type"] != "purchase" or not r["amount"]:
        continue
    t = parse(r["ts"])
    if at - timedelta(days=30) < t <= at:
        (users if float(r["amount"]) >= 3000 else small).add(r["user"])
run = json.load(open(sys.argv[2]))
assert users and small - users, (len(users), len(small))
assert run["audience"] == len(users), (run["audience"], len(users))
EOF

# a daily budget spread over the day: hourly runs of a trigger campaign on
# views spend it in step with the clock; spent as triggers come (asap), the
# first hour takes it all
for p in even asap; do
    cat >"$TMP/pace_$p.json" <<EOF
{"id":"pace-$p","channels":["in_app"],"content":{"type":"coupon","code":"P"},
 "trigger":{"event":"view","lookback":"1h"},"budget":{"daily_sends":100,"pacing":"$p"}}
EOF
    "$TAILOR" --data "$D" campaign create "$TMP/pace_$p.json" >/dev/null
    for h in $(seq -w 1 23) 23:59; do  # through 2025-11-24 in local (+08:00) time
        [[ $h == *:* ]] || h=$h:00
        "$TAILOR" --data "$D" campaign run "pace-$p" --at "2025-11-24T$h:00+08:00" --json
    done >"$TMP/pace_$p.jsonl"
done
check_cmd "pacing: even keeps to the clock's share, asap spends it at once, neither over the day's budget" \
python3 - "$TMP/pace_even.jsonl" "$TMP/pace_asap.jsonl" <<'EOF'
import json, sys
import math
from datetime import datetime, timedelta
def runs(f):
    out = []
    for r in map(json.loads, open(f)):
        local = datetime.fromisoformat(r["at"].replace("Z", "+00:00")) + timedelta(hours=8)
        frac = (local.hour * 3600 + local.minute * 60 + local.second) / 86400
        out.append((r["decisions"]["sent"] + r["decisions"]["queued"] + r["decisions"]["quiet_hours"],
                    r["decisions"]["budget"], frac))
    return out
even, asap = runs(sys.argv[1]), runs(sys.argv[2])
total = limited = 0
for h, (n, over, frac) in enumerate(even, 1):
    total += n
    allowed = math.floor(100 * min(1, frac + 1 / 96) + 1e-9)
    assert total <= allowed, (h, total, even)
    if over:  # held back by the pacing: exactly up to the clock's share
        assert total == allowed, (h, total, allowed, even)
        limited += 1
assert limited >= 6 and total >= 80, (limited, total, even)
# asap: every trigger sent until the day's budget is spent, then none
cum = 0
for n, over, _ in asap:
    cum += n
    assert not over or cum == 100, asap
assert cum == 100 and sum(r[0] for r in asap[:8]) > sum(r[0] for r in even[:8]), (asap, even)
EOF

# uplift: models trained on an experiment (logistic two-model and class
# transformation, and trees boosted from the better of those lines) find
# the users the truth says are moved most
U=$TMP/uw UD=$TMP/ud
"$TAILOR" gen --users 12000 --items 300 --days 30 --seed 5 --dirty 0 --out "$U" >/dev/null
"$TAILOR" --data "$UD" import "$U"/{users,items,products,credit,consents,events}.csv >/dev/null 2>&1
"$TAILOR" --data "$UD" profile build --as-of 2025-11-22T02:00:00Z >/dev/null
cat >"$TMP/up.json" <<'EOF'
{"id":"up","channels":["in_app"],"content":{"type":"coupon","code":"X"},"holdout":50,
 "attribution":{"window":"5d"}}
EOF
"$TAILOR" --data "$UD" campaign create "$TMP/up.json" >/dev/null
"$TAILOR" --data "$UD" campaign run up --at 2025-11-22T10:00:00+08:00 >/dev/null
"$TAILOR" --data "$UD" gen respond --campaign up --truth "$U/truth.json" --out "$TMP/uresp.csv" \
    --effects "$TMP/ueff.csv" --effect 2 >/dev/null
"$TAILOR" --data "$UD" import "$TMP/uresp.csv" >/dev/null
for m in two-model class trees; do
    "$TAILOR" --data "$UD" uplift train --campaign up --method $m --json >"$TMP/utrain_$m.json"
    "$TAILOR" --data "$UD" uplift report --campaign up --effects "$TMP/ueff.csv" --json >"$TMP/urep_$m.json"
    check_cmd "uplift ($m): a positive Qini on held-out units, agreement with the true effects" \
        python3 - "$TMP/utrain_$m.json" "$TMP/urep_$m.json" <<'EOF'
import json, sys
tr, rep = (json.load(open(f)) for f in sys.argv[1:])
assert tr["test"]["qini_coefficient"] > 0, tr["test"]
assert rep["true_effect_correlation"] > 0.15, rep
assert rep["true_effect_top20"] > 1.15 * rep["true_effect_all"], rep
EOF
done
"$TAILOR" --data "$UD" uplift apply --campaign up --top 20 --json >"$TMP/uapply.json"
check "uplift apply targets a fifth of the users" "$(jget targeted <"$TMP/uapply.json")" 2400

"$TAILOR" --data "$UD" report campaign up --html "$TMP/up.html" >/dev/null
check_cmd "the HTML report is well formed, offline, and shows the groups, lifts and the Qini curve" \
    python3 - "$TMP/up.html" "$TMP/urep_class.json" <<'EOF'
import html.parser, json, sys
text = open(sys.argv[1]).read()
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(); self.stack = []; self.svgs = 0
    def handle_starttag(self, tag, attrs):
        if tag == "svg": self.svgs += 1
        for k, v in attrs:
            assert not (k in ("src", "href") and v and "//" in v), (tag, k, v)
P().feed(text)
assert "<script" not in text and "http://" not in text.replace("http://www.w3.org/2000/svg", "")
for want in ("holdout", "Wilson", "Qini curve", "Decisions", "cumulative share"):
    assert want in text, want
assert text.count("<svg") >= 5, text.count("<svg")
EOF

# the measured lift of a known true effect is inside its 95 % interval in most seeds
inside=0
for seed in 11 12 13 14 15; do
    w=$TMP/w$seed d=$TMP/l$seed
    "$TAILOR" gen --users 4000 --items 300 --days 30 --seed $seed --dirty 0 --out "$w" >/dev/null
    "$TAILOR" --data "$d" import "$w"/{users,items,products,credit,consents,events}.csv >/dev/null 2>&1
    cat >"$TMP/lift.json" <<'EOF'
{"id":"lift","channels":["in_app"],"content":{"type":"coupon","code":"X"},"holdout":30,
 "attribution":{"window":"5d"}}
EOF
    "$TAILOR" --data "$d" campaign create "$TMP/lift.json" >/dev/null
    "$TAILOR" --data "$d" campaign run lift --at 2025-11-22T10:00:00+08:00 >/dev/null
    "$TAILOR" --data "$d" gen respond --campaign lift --truth "$w/truth.json" --out "$TMP/resp$seed.csv" \
        --seed $seed --json >"$TMP/resp$seed.json"
    "$TAILOR" --data "$d" import "$TMP/resp$seed.csv" >/dev/null
    "$TAILOR" --data "$d" report campaign lift --json >"$TMP/rep$seed.json"
    if python3 - "$TMP/resp$seed.json" "$TMP/rep$seed.json" <<'EOF'
import json, sys
truth = json.load(open(sys.argv[1]))["mean_effect"]
rep = json.load(open(sys.argv[2]))
g = {x["group"]: x for x in rep["groups"]}
base = g["holdout"]["conversion_rate"]["value"]
lift = g["A"]["lift"]["conversion_abs"]
want = truth * (1 - base)  # responders who would have bought anyway add nothing
assert not rep["sample_ratio"]["mismatch"], rep["sample_ratio"]
sys.exit(0 if lift["lo"] <= want <= lift["hi"] else 1)
EOF
    then inside=$((inside + 1)); fi
done
check_cmd "the true lift is inside the 95 % interval in at least 4 of 5 seeds ($inside)" test "$inside" -ge 4


finish
