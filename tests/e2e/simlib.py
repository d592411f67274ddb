"""simlib.py -- what the simulations of tests/e2e share: times, calls to
the server's API, consents as of a time, and the end of the quiet hours
(22:00-08:00 at UTC+8, the campaigns' default)."""
import csv
import json
import urllib.request
from datetime import datetime, timedelta, timezone

UTC = timezone.utc
TZ = timedelta(hours=8)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def call(url, key, method, path, body=None):
    data = None if body is None else body.encode()
    rq = urllib.request.Request(url + path, data=data, method=method,
                                headers={"Authorization": "Bearer " + key})
    with urllib.request.urlopen(rq, timeout=60) as r:
        return json.loads(r.read())


def consent_at(consents, user, purpose, t):
    """Whether (user, purpose) is granted at t; consents maps (user,
    purpose) to [(at, status)] in time order."""
    st = None
    for at, status in consents.get((user, purpose), []):
        if at <= t:
            st = status
    return st == "granted"


def after_quiet(t):
    """The end of the quiet hours (22:00-08:00 local) t falls in, else t."""
    local = t + TZ
    m = local.hour * 60 + local.minute
    if 8 * 60 <= m < 22 * 60:
        return t
    day = local.date() + (timedelta(days=1) if m >= 22 * 60 else timedelta(0))
    return datetime(day.year, day.month, day.day, 8, 0, tzinfo=UTC) - TZ


def load_consents(path):
    """consents.csv as {(user, purpose): [(at, status)]}, and its users in order."""
    consents, users = {}, set()
    for r in csv.DictReader(open(path)):
        consents.setdefault((r["user"], r["purpose"]), []).append((parse(r["at"]), r["status"]))
        users.add(r["user"])
    return consents, sorted(users)


def carts(rnd, user, start, span, buy, buy_after, ids):
    """A user's carts (none, one or two, at random in [start, start+span)),
    each followed with chance `buy` by a purchase buy_after[0] to
    buy_after[1] (timedeltas) later; event ids from the iterator ids."""
    out = []
    for _ in range(rnd.choice((0, 1, 1, 2))):
        t = start + timedelta(seconds=rnd.randrange(0, int(span.total_seconds())))
        out.append({"event_id": next(ids), "user": user, "item": "i00001", "type": "cart", "ts": t})
        if rnd.random() < buy:
            lo, hi = (int(d.total_seconds()) for d in buy_after)
            out.append({"event_id": next(ids), "user": user, "item": "i00001", "type": "purchase",
                        "ts": t + timedelta(seconds=rnd.randrange(lo, hi)), "amount": 10})
    return out


def post_arrived(url, key, evs, i, at):
    """Posts to /v1/events the events of evs ([(arrival, event)] in
    arrival order) from i on that arrive by `at`; returns the next i and
    the events posted."""
    batch = []
    while i < len(evs) and evs[i][0] <= at:
        batch.append(evs[i][1])
        i += 1
    if batch:
        body = "\n".join(json.dumps(dict(e, ts=iso(e["ts"]))) for e in batch)
        r = call(url, key, "POST", "/v1/events", body)
        assert r["accepted"] == len(batch), r
    return i, batch


def replay(url, key, evs, start, step, ticks):
    """Simulated time: at each of `ticks` ticks `step` apart after start,
    the events arrived by then posted, then the scheduler ticked at that
    time; every campaign's turn must succeed."""
    i = 0
    for k in range(1, ticks + 1):
        at = start + k * step
        i, _ = post_arrived(url, key, evs, i, at)
        r = call(url, key, "POST", "/v1/scheduler/tick", json.dumps({"at": iso(at)}))
        assert r["failed_campaigns"] == 0, (k, r)
    assert i == len(evs)
