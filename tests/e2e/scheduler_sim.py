#!/usr/bin/env python3
"""scheduler_sim.py -- a day of carts and purchases sent to `tailor serve`
over HTTP, the scheduler ticked every five minutes of simulated time
(POST /v1/scheduler/tick), and what it decided checked against an
independent computation from the events sent.

  scheduler_sim.py run URL KEY CONSENTS OUTBOX_DIR SEED

The campaign (created by the caller): trigger cart, unless purchase within
30 minutes, lookback 1 hour; channels push then in_app; at most one
message a user a local day (UTC+8); quiet hours 22:00-08:00 local for
push. Every event is sent before the tick that follows its time, except
one in eight, sent 40 minutes late (after its trigger was due). Exits non-zero with the first
difference."""
import csv
import glob
import json
import os
import random
import sys
import urllib.request
from datetime import datetime, timedelta, timezone

UTC = timezone.utc
START = datetime(2025, 11, 28, 0, 0, tzinfo=UTC)
STEP = timedelta(minutes=5)
TICKS = 24 * 12
WITHIN = timedelta(minutes=30)
LOOKBACK = timedelta(hours=1)
LATE = timedelta(minutes=40)
TZ = timedelta(hours=8)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def call(url, key, method, path, body=None):
    data = None if body is None else body.encode()
    rq = urllib.request.Request(url + path, data=data, method=method,
                                headers={"Authorization": "Bearer " + key})
    with urllib.request.urlopen(rq, timeout=60) as r:
        return json.loads(r.read())


def events(seed, users):
    """(arrival, event) for each event: carts, some followed by purchases."""
    rnd = random.Random(seed)
    out = []
    n = 0
    for u in users:
        for _ in range(rnd.choice((0, 1, 1, 2))):
            t = START + timedelta(seconds=rnd.randrange(0, 23 * 3600))
            n += 1
            out.append({"event_id": "sim-%d" % n, "user": u, "item": "i00001", "type": "cart", "ts": t})
            if rnd.random() < 0.4:
                b = t + timedelta(seconds=rnd.randrange(60, 45 * 60))
                n += 1
                out.append({"event_id": "sim-%d" % n, "user": u, "item": "i00001", "type": "purchase",
                            "ts": b, "amount": 10})
    res = []
    for e in out:
        arrive = e["ts"] + (LATE if rnd.random() < 0.125 else timedelta(0))
        res.append((arrive, e))
    res.sort(key=lambda p: (p[0], p[1]["event_id"]))
    return res


def consent_at(consents, user, purpose, t):
    st = None
    for at, status in consents.get((user, purpose), []):
        if at <= t:
            st = status
    return st == "granted"


def after_quiet(t):
    """push: the end of the quiet hours (22:00-08:00 local) t falls in."""
    local = t + TZ
    m = local.hour * 60 + local.minute
    if 8 * 60 <= m < 22 * 60:
        return t
    day = local.date() + (timedelta(days=1) if m >= 22 * 60 else timedelta(0))
    return datetime(day.year, day.month, day.day, 8, 0, tzinfo=UTC) - TZ


def main():
    url, key, consents_csv, outbox, seed = sys.argv[2:7]
    consents = {}
    users = set()
    for r in csv.DictReader(open(consents_csv)):
        at = datetime.fromisoformat(r["at"].replace("Z", "+00:00"))
        consents.setdefault((r["user"], r["purpose"]), []).append((at, r["status"]))
        users.add(r["user"])
    users = sorted(users)
    evs = events(int(seed), users)
    sent_before = {}  # event_id -> the tick before which it arrived
    expected = []     # per tick: {user: when}
    i = 0
    read = []         # events the previous ticks had read: (event, arrived-tick)
    decided_to = START - LOOKBACK * 100
    first = True
    for k in range(1, TICKS + 1):
        at = START + k * STEP
        batch = []
        while i < len(evs) and evs[i][0] <= at:
            batch.append(evs[i][1])
            i += 1
        if batch:
            body = "\n".join(json.dumps(dict(e, ts=iso(e["ts"]))) for e in batch)
            r = call(url, key, "POST", "/v1/events", body)
            assert r["accepted"] == len(batch), r
        # the independent computation: triggers due in this tick
        lo = at - LOOKBACK if first else decided_to
        late_lo = min(lo, at - LOOKBACK)
        buys = {}
        for e, _ in read + [(e, k) for e in batch]:
            if e["type"] == "purchase":
                buys.setdefault(e["user"], []).append(e["ts"])
        due = {}
        for e, when_read in read + [(e, k) for e in batch]:
            if e["type"] != "cart":
                continue
            d = e["ts"] + WITHIN
            new = when_read == k
            if not (d <= at and d > (late_lo if new else lo)):
                continue
            if any(e["ts"] < b <= d for b in buys.get(e["user"], [])):
                continue
            if e["user"] not in due or due[e["user"]] < e["ts"]:
                due[e["user"]] = e["ts"]
        r = call(url, key, "POST", "/v1/scheduler/tick", json.dumps({"at": iso(at)}))
        assert r["failed_campaigns"] == 0, (k, r)
        assert r["decided"] == len(due), ("tick", iso(at), r, len(due), sorted(due))
        # a due trigger is decided, and sent, at the tick's time
        expected.append((at, {u: at for u in due}))
        if due:  # a tick that decides no one records no run
            decided_to = at
            first = False
        read += [(e, k) for e in batch]
    assert i == len(evs)
    # the outbox: each user at most once a tick it was due, at the right time,
    # on a channel it consented to, at most once a local day
    lines = []
    for f in glob.glob(os.path.join(outbox, "*.jsonl")):
        lines += [json.loads(l) for l in open(f) if '"cart"' in l]
    per_day = {}
    unmatched = {}
    for at, due in expected:
        for u, when in due.items():
            unmatched.setdefault(u, []).append((at, when))
    for l in lines:
        u, t = l["user"], datetime.fromisoformat(l["at"].replace("Z", "+00:00"))
        opts = unmatched.get(u, [])
        match = None
        for j, (at, when) in enumerate(opts):
            if l["channel"] == "push":
                ok = consent_at(consents, u, "marketing_push", at) and t == after_quiet(when)
            else:
                ok = t == when
            if ok:
                match = j
                break
        assert match is not None, ("a message no trigger explains", l, opts)
        opts.pop(match)
        day = (t + TZ).date()
        per_day[(u, day)] = per_day.get((u, day), 0) + 1
        assert per_day[(u, day)] <= 1, ("over the cap", l)
    st = call(url, key, "GET", "/v1/scheduler")
    camp = [c for c in st["campaigns"] if c["id"] == "cart"][0]
    total = sum(len(d) for _, d in expected)
    assert camp["decided"] == total, (camp, total)
    assert camp["delivered"] == len(lines), (camp["delivered"], len(lines))
    assert camp["decisions"]["capped"] > 0 and camp["decisions"]["sent"] > 100, camp
    assert camp["late_trigger_events"] > 0, camp
    print(json.dumps({"events": len(evs), "ticks": TICKS, "decided": total, "messages": len(lines),
                      "decisions": camp["decisions"], "late": camp["late_trigger_events"]}))


if __name__ == "__main__":
    main()
