#!/usr/bin/env python3
"""bench/scheduler_load.py -- events at a steady rate over HTTP to `tailor
serve`, and the time from each cart's acknowledgement to its decision
appearing in the outbox.

  scheduler_load.py URL KEY OUTBOX USERS RATE SECONDS SEED

Every 50 ms a batch of RATE/20 events goes out (views, and one cart in
twenty, each cart from a user who has not carted before in the run); a
thread watches the outbox file and notes when each user's line of the
campaign bench-cart appears. Prints one JSON object: events sent, the rate
reached, carts, carts decided, and the lag's p50, p99 and max in seconds."""
import json
import os
import random
import sys
import threading
import time
import urllib.request


def main():
    url, key, outbox, users, rate, seconds, seed = sys.argv[1:8]
    users, rate, seconds = int(users), int(rate), float(seconds)
    rnd = random.Random(int(seed))
    pool = rnd.sample(range(users), users)
    acked, seen = {}, {}
    stop = threading.Event()

    def watch():
        pos = 0
        buf = b""
        while not stop.is_set() or pos < os.path.getsize(outbox):
            try:
                with open(outbox, "rb") as f:
                    f.seek(pos)
                    chunk = f.read()
            except FileNotFoundError:
                chunk = b""
            now = time.monotonic()
            if chunk:
                pos += len(chunk)
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    if b'"bench-cart"' in line:
                        seen.setdefault(json.loads(line)["user"], now)
            else:
                time.sleep(0.01)

    w = threading.Thread(target=watch)
    w.start()
    per = max(1, rate // 20)
    n = k = 0
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        tick = time.monotonic()
        ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        body, carts = [], []
        for _ in range(per):
            n += 1
            if n % 20 == 0 and k < len(pool):
                u = "u%06d" % (pool[k] + 1)
                k += 1
                carts.append(u)
                body.append({"event_id": "b%d-%d" % (int(seed), n), "user": u, "item": "i00001",
                             "type": "cart", "ts": ts})
            else:
                body.append({"event_id": "b%d-%d" % (int(seed), n), "user": "u%06d" % rnd.randint(1, users),
                             "item": "i%05d" % rnd.randint(1, 1000), "type": "view", "ts": ts})
        rq = urllib.request.Request(url + "/v1/events", data="\n".join(map(json.dumps, body)).encode(),
                                    headers={"Authorization": "Bearer " + key})
        with urllib.request.urlopen(rq, timeout=60) as r:
            r.read()
        now = time.monotonic()
        for u in carts:
            acked[u] = now
        left = 0.05 - (now - tick)
        if left > 0:
            time.sleep(left)
    elapsed = time.monotonic() - start
    deadline = time.monotonic() + 30
    while len([u for u in acked if u in seen]) < len(acked) and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    w.join()
    lags = sorted(max(0.0, seen[u] - t) for u, t in acked.items() if u in seen)

    def q(p):
        return round(lags[min(len(lags) - 1, int(p * len(lags)))], 3) if lags else None

    print(json.dumps({"events": n, "rate": round(n / elapsed), "carts": len(acked), "decided": len(lags),
                      "p50": q(0.5), "p99": q(0.99), "max": round(lags[-1], 3) if lags else None}))


if __name__ == "__main__":
    main()
