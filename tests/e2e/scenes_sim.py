#!/usr/bin/env python3
"""scenes_sim.py -- a day of views, carts and travel bookings of every user
of a generated world sent to `tailor serve` over HTTP, the scheduler ticked
every five minutes of simulated time, and what three scene campaigns
decided checked against an independent computation from the events sent.

  scenes_sim.py URL KEY CONSENTS ITEMS OUTBOX_DIR SEED

The campaigns (created by the caller):
  browse  a view of an electronics item not followed by a cart within an
          hour: a push (quiet hours 22:00-08:00 at UTC+8)
  travel  a purchase of a travel item: the travel insurance offer ten
          minutes later, by push or else in-app, with consent to credit
          offers (and to push for a push)
  promo   a view during the promotion window (02:00-16:00 UTC): an in-app
          coupon, at most one a local day (a cap on the tag promo)
Each user's messages are compared with the computation: the right users,
once each decision, at the right time, on a channel they consented to,
never over the cap. Exits non-zero with the first difference."""
import csv
import glob
import itertools
import json
import os
import random
import sys
from datetime import datetime, timedelta

from simlib import TZ, UTC, after_quiet, call, consent_at, load_consents, parse, replay

START = datetime(2025, 11, 28, 0, 0, tzinfo=UTC)
STEP = timedelta(minutes=5)
TICKS = 26 * 12
PROMO = (START + timedelta(hours=2), START + timedelta(hours=16))


def events(seed, users, items):
    """Views (some followed by a cart of the item), and travel bookings."""
    rnd = random.Random(seed)
    ids = ("s-%d" % n for n in itertools.count(1))
    every = sorted(items)
    travel = [i for i in every if items[i].startswith("travel/")]
    out = []
    for u in users:
        for _ in range(rnd.choice((0, 1, 2, 3))):
            t = START + timedelta(seconds=rnd.randrange(0, 23 * 3600))
            item = rnd.choice(every)
            out.append({"event_id": next(ids), "user": u, "item": item, "type": "view", "ts": t})
            if rnd.random() < 0.3:
                out.append({"event_id": next(ids), "user": u, "item": item, "type": "cart",
                            "ts": t + timedelta(seconds=rnd.randrange(60, 2 * 3600))})
        if rnd.random() < 0.08:
            out.append({"event_id": next(ids), "user": u, "item": rnd.choice(travel), "type": "purchase",
                        "ts": START + timedelta(seconds=rnd.randrange(0, 23 * 3600)),
                        "amount": rnd.randrange(500, 5000)})
    out.sort(key=lambda e: (e["ts"], e["event_id"]))
    return [(e["ts"], e) for e in out]


def tick_of(t):
    """The first tick at or after t."""
    k = -(-(t - START) // STEP)
    return START + max(k, 1) * STEP


def triggers(evs, items):
    """Per campaign, per user: [(decision time, when the message may go)]."""
    carts = {}
    for _, e in evs:
        if e["type"] == "cart":
            carts.setdefault(e["user"], []).append(e["ts"])
    out = {"browse": {}, "travel": {}, "promo": {}}
    for _, e in evs:
        u, ts, cat = e["user"], e["ts"], items[e["item"]]
        if e["type"] == "view" and cat.startswith("electronics/"):
            d = ts + timedelta(hours=1)
            if not any(ts < c <= d for c in carts.get(u, [])):
                out["browse"].setdefault(u, []).append((d, d))
        if e["type"] == "purchase" and cat.startswith("travel/"):
            out["travel"].setdefault(u, []).append((ts, ts + timedelta(minutes=10)))
        if e["type"] == "view" and PROMO[0] < ts and tick_of(ts) < PROMO[1]:
            out["promo"].setdefault(u, []).append((ts, ts))
    return out


def expected(trig, consents):
    """Per campaign: the decisions made and the messages sent, each
    message (user, channel, at)."""
    runs = {}
    for camp, users in trig.items():
        decided, sent = 0, []
        for u, ts in users.items():
            by_tick = {}
            for d, when in ts:  # a user's latest trigger due at a tick wins
                k = tick_of(d)
                by_tick[k] = max(by_tick.get(k, when), when)
            days = set()
            for k in sorted(by_tick):
                decided += 1
                send = max(by_tick[k], k)
                if camp == "browse":
                    if consent_at(consents, u, "marketing_push", k):
                        sent.append((u, "push", after_quiet(send)))
                elif camp == "travel":
                    if not consent_at(consents, u, "credit_offers", k):
                        continue
                    if consent_at(consents, u, "marketing_push", k):
                        sent.append((u, "push", after_quiet(send)))
                    else:
                        sent.append((u, "in_app", send))
                else:  # promo: in-app, one a local day
                    day = (send + TZ).date()
                    if day not in days:
                        days.add(day)
                        sent.append((u, "in_app", send))
        runs[camp] = (decided, sorted(sent))
    return runs


def main():
    url, key, consents_csv, items_csv, outbox, seed = sys.argv[1:7]
    consents, users = load_consents(consents_csv)
    items = {r["item"]: r["category"] for r in csv.DictReader(open(items_csv))}
    evs = events(int(seed), users, items)
    replay(url, key, evs, START, STEP, TICKS)
    want = expected(triggers(evs, items), consents)
    got = {c: [] for c in want}
    for f in glob.glob(os.path.join(outbox, "*.jsonl")):
        for line in open(f):
            m = json.loads(line)
            if m.get("campaign") in got:
                got[m["campaign"]].append(m)
    st = call(url, key, "GET", "/v1/scheduler")
    by_id = {c["id"]: c for c in st["campaigns"]}
    report = {}
    for camp, (decided, sent) in want.items():
        have = sorted((m["user"], m["channel"], parse(m["at"])) for m in got[camp])
        for a, b in zip(have, sent):
            assert a == b, (camp, "first difference", a, b)
        assert len(have) == len(sent), (camp, len(have), len(sent))
        s = by_id[camp]
        assert s["decided"] == decided, (camp, s["decided"], decided)
        assert s["delivered"] == len(sent), (camp, s["delivered"], len(sent))
        report[camp] = {"decided": decided, "messages": len(sent), "decisions": s["decisions"]}
    for m in got["travel"]:
        c = m["content"]
        assert c["type"] == "offer" and c["kind"] == "insurance" and c.get("disclosure"), m
    assert report["promo"]["decisions"]["capped"] > 0, report["promo"]
    assert report["travel"]["decisions"]["no_consent"] > 0, report["travel"]
    assert all(r["messages"] > 50 for r in report.values()), report
    print(json.dumps({"events": len(evs), "ticks": TICKS, "campaigns": report}))


if __name__ == "__main__":
    main()
