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
import glob
import itertools
import json
import os
import random
import sys
from datetime import datetime, timedelta

from simlib import UTC, TZ, after_quiet, call, carts, consent_at, iso, load_consents, parse, post_arrived

START = datetime(2025, 11, 28, 0, 0, tzinfo=UTC)
STEP = timedelta(minutes=5)
TICKS = 24 * 12
WITHIN = timedelta(minutes=30)
LOOKBACK = timedelta(hours=1)
LATE = timedelta(minutes=40)


def events(seed, users):
    """(arrival, event) for each event: carts, some followed by purchases."""
    rnd = random.Random(seed)
    out = []
    ids = ("sim-%d" % n for n in itertools.count(1))
    for u in users:
        out += carts(rnd, u, START, timedelta(hours=23), 0.4, (timedelta(minutes=1), timedelta(minutes=45)), ids)
    res = []
    for e in out:
        arrive = e["ts"] + (LATE if rnd.random() < 0.125 else timedelta(0))
        res.append((arrive, e))
    res.sort(key=lambda p: (p[0], p[1]["event_id"]))
    return res


def main():
    url, key, consents_csv, outbox, seed = sys.argv[2:7]
    consents, users = load_consents(consents_csv)
    evs = events(int(seed), users)
    sent_before = {}  # event_id -> the tick before which it arrived
    expected = []     # per tick: {user: when}
    i = 0
    read = []         # events the previous ticks had read: (event, arrived-tick)
    decided_to = START - LOOKBACK * 100
    first = True
    for k in range(1, TICKS + 1):
        at = START + k * STEP
        i, batch = post_arrived(url, key, evs, i, at)
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
        u, t = l["user"], parse(l["at"])
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
