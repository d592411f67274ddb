#!/usr/bin/env python3
"""journey_sim.py -- four simulated days of a cart-rescue journey: carts
and purchases of every user of a generated world are sent to `tailor serve`
over HTTP while its scheduler is ticked every 30 minutes of simulated time
(POST /v1/scheduler/tick), then every user's path is checked against an
independent computation from the events sent.

  journey_sim.py run URL KEY CONSENTS OUTBOX_DIR POSITIONS SEED
      sends the events and ticks; checks each tick's decisions
  journey_sim.py check URL KEY CONSENTS OUTBOX_DIR POSITIONS SEED
      checks the outbox and POSITIONS (the output of `tailor campaign
      journey rescue --users`) against the computation

The journey (created by the caller): enters on a cart (lookback 2 hours);
arm A: a push at once, then after 24 hours, unless the user purchased, a
coupon by e-mail; arm B starts at the wait (the e-mail only); a purchase
ends the journey at once; a 10 % hold-out goes the same way with nothing
sent. Quiet hours 22:00-08:00 at UTC+8. One cart in eight arrives 40
minutes late. Exits non-zero with the first difference."""
import glob
import itertools
import json
import os
import random
import sys
from datetime import datetime, timedelta

from simlib import UTC, after_quiet, call, carts, consent_at, load_consents, parse, replay

START = datetime(2025, 11, 28, 0, 0, tzinfo=UTC)
STEP = timedelta(minutes=30)
TICKS = 4 * 48
WAIT = timedelta(hours=24)
LATE = timedelta(minutes=40)


def events(seed, users):
    """(arrival, event): carts in the first two days, purchases after some
    of them (within the wait or after it), and purchases before any cart."""
    rnd = random.Random(seed)
    out = []
    ids = ("j-%d" % n for n in itertools.count(1))
    for u in users:
        if rnd.random() < 0.1:
            out.append({"event_id": next(ids), "user": u, "item": "i00002", "type": "purchase",
                        "ts": START + timedelta(seconds=rnd.randrange(0, 3600)), "amount": 5})
        out += carts(rnd, u, START, timedelta(days=2), 0.5, (timedelta(minutes=1), timedelta(hours=48)), ids)
    res = []
    for e in out:
        late = e["type"] == "cart" and rnd.random() < 0.125
        res.append((e["ts"] + (LATE if late else timedelta(0)), e))
    res.sort(key=lambda p: (p[0], p[1]["event_id"]))
    return res


def tick_of(t):
    """The first tick at or after t."""
    k = -(-(t - START) // STEP)
    return START + max(k, 1) * STEP


def paths(evs):
    """Each user's journey from the events: entry (the first cart by time
    among those arrived by the first tick that sees one), the tick that
    entered them, and the goal (the first purchase after the entry)."""
    carts, buys = {}, {}
    for arrive, e in evs:
        if e["type"] == "cart":
            carts.setdefault(e["user"], []).append((e["ts"], max(tick_of(arrive), tick_of(e["ts"]))))
        else:
            buys.setdefault(e["user"], []).append(e["ts"])
    out = {}
    for u, cs in carts.items():
        seen = min(k for _, k in cs)  # the first tick that has one of the user's carts
        entry = min(ts for ts, k in cs if k <= seen)
        goal = min((b for b in buys.get(u, []) if b > entry), default=None)
        out[u] = {"entry": entry, "tick": seen, "goal": goal}
    return out


def load(argv):
    url, key, consents_csv, outbox, positions, seed = argv[2:8]
    consents, users = load_consents(consents_csv)
    return url, key, consents, outbox, positions, events(int(seed), users)


def run(argv):
    url, key, _, _, _, evs = load(argv)
    replay(url, key, evs, START, STEP, TICKS)


def check(argv):
    url, key, consents, outbox, positions, evs = load(argv)
    want = paths(evs)
    last = START + TICKS * STEP
    got = {}
    for line in open(positions):
        p = json.loads(line)
        assert p["user"] not in got, ("two states", p)
        got[p["user"]] = p
    assert set(got) == set(want), ("entered", sorted(set(got) ^ set(want))[:5])
    lines = {}
    for f in glob.glob(os.path.join(outbox, "*.jsonl")):
        for l in open(f):
            m = json.loads(l)
            if m.get("campaign") == "rescue":
                lines.setdefault(m["user"], []).append(m)
    held = arm_b = decisions = sends = 0
    for u, w in want.items():
        p = got[u]
        assert parse(p["entered"]) == w["entry"], (u, p, w)
        converted = w["goal"] is not None and w["goal"] <= w["entry"] + WAIT
        if converted:
            assert parse(p.get("reached_goal", "1970-01-01T00:00:00Z")) == w["goal"], (u, p, w)
        else:
            assert w["entry"] + WAIT + STEP <= last, u
            assert parse(p.get("left", "1970-01-01T00:00:00Z")) == w["entry"] + WAIT, (u, p, w)
        held += p["holdout"]
        arm_b += p["arm"] == "B"
        expect = []
        if p["arm"] == "A":  # the push at the tick that entered the user
            decisions += 1
            if consent_at(consents, u, "marketing_push", w["tick"]):
                expect.append(("nudge", "push", after_quiet(w["tick"])))
        if not converted:  # the coupon at the first tick after the wait
            t = tick_of(w["entry"] + WAIT)
            decisions += 1
            if consent_at(consents, u, "marketing_email", t):
                expect.append(("coupon", "email", after_quiet(t)))
        if p["holdout"]:
            expect = []
        sends += len(expect)
        have = sorted((m["step"], m["channel"], parse(m["at"])) for m in lines.get(u, []))
        assert have == sorted(expect), (u, p, w, have, expect)
        for m in lines.get(u, []):
            assert m["arm"] == p["arm"], m
    assert set(lines) <= set(want), "a message to a user who never entered"
    n = len(want)
    assert 0.06 * n <= held <= 0.14 * n, ("hold-out share", held, n)
    assert 0.4 * n <= arm_b <= 0.6 * n, ("arm B share", arm_b, n)
    st = call(url, key, "GET", "/v1/scheduler")
    camp = [c for c in st["campaigns"] if c["id"] == "rescue"][0]
    assert camp["kind"] == "journey", camp
    assert camp["decided"] == decisions, (camp["decided"], decisions)
    assert camp["delivered"] == sends, (camp["delivered"], sends)
    j = call(url, key, "GET", "/v1/campaigns/rescue/journey")
    goals = sum(1 for p in got.values() if "reached_goal" in p)
    assert j["users"] == n and j["held_out"] == held and j["reached_goal"] == goals, j
    assert j["left"] == n - goals and j["on_the_way"] == 0, j
    assert j["by_arm"] == {"A": n - arm_b, "B": arm_b}, j
    print(json.dumps({"events": len(evs), "ticks": TICKS, "entered": n, "held_out": held,
                      "reached_goal": goals, "decisions": decisions, "messages": sends}))


if __name__ == "__main__":
    {"run": run, "check": check}[sys.argv[1]](sys.argv)
