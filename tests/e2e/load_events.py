#!/usr/bin/env python3
"""load_events.py -- the load client of test_crash_server.sh (stdlib only).

Posts batches of events to `POST /v1/events` over several keep-alive
connections and keeps a ledger (a JSON state file) of every batch: how
often it was sent, whether a 2xx answer ever came back (acknowledged) and
what the answers said. One invocation is one life of the server: it runs
until every connection finds the server gone (the test kills it with
kill -9), then saves the ledger and exits 0. The next invocation, against
the restarted server, sends first what was never acknowledged, then again
the batches acknowledged in the life before the kill (each must now come
back as all duplicates: an acknowledged event that did not survive the
kill would be accepted again), then new batches.

A batch's events are a pure function of (seed, batch number), so a
re-send is byte for byte the same request, and `dump` writes every event
ever sent as one JSON Lines file for the reference import. Every event
has a unique event_id. Batches alternate between a JSON array and JSON
Lines bodies; a few events name users and items the store has not seen
(created on first sight, so dictionary entries commit with the batch).

Usage:
  load_events.py run   STATE --url U --key K [--conns N] [--seed S] [--final]
                       [--unavailable-ok]
      --final: no new batches; everything unacknowledged, what awaits its
      check, and a tenth of the older acknowledged batches; exits 1 unless
      every batch ends acknowledged
      --unavailable-ok: a 5xx answer (the store away during a failover) is
      not acknowledged and is sent again, not a problem
  load_events.py check STATE --stored N --base N   (counts after a kill)
  load_events.py dump  STATE FILE
  load_events.py summary STATE

Every answer is checked for truth as it comes back: read = batch size,
nothing quarantined or rejected, accepted + duplicates = size; a batch
never sent before is all accepted; a batch already acknowledged is all
duplicates. A violation is kept in the ledger's "problems" and makes
`check` and `summary` exit 1.
"""
import http.client
import json
import os
import random
import sys
import threading
import time
import urllib.parse

TYPES = ["view"] * 10 + ["click"] * 4 + ["cart"] * 3 + ["fav", "search", "purchase", "purchase", "share"]
CHANNELS = ["web", "app", "mini_program", "push"]
NUSERS, NITEMS = 2000, 300  # the world test_crash_server.sh imports first


def batch_events(seed, idx):
    """The events of batch idx: 200..1000 of them, ids unique over all batches."""
    r = random.Random(seed * 1_000_003 + idx)
    n = r.randint(200, 1000)
    out = []
    base = 1_763_500_000 + idx * 7  # 2025-11-18 onwards, before the tests' fixed now
    for j in range(n):
        t = r.choice(TYPES)
        user = "u%06d" % r.randint(1, NUSERS) if r.random() > 0.01 else "lu%05d" % r.randint(1, 5000)
        item = "i%05d" % r.randint(1, NITEMS) if r.random() > 0.01 else "li%05d" % r.randint(1, 2000)
        e = {"event_id": "ld%06d-%04d" % (idx, j), "user": user, "type": t,
             "ts": base + r.randint(0, 86400 * 10), "channel": r.choice(CHANNELS)}
        if t != "search":
            e["item"] = item
        else:
            e["query"] = r.choice(["shoes", "phone case", "rice cooker", "loan"])
        if t == "purchase":
            e["qty"] = r.randint(1, 3)
            e["amount"] = round(r.uniform(1, 500), 2)
        out.append(e)
    return out


def batch_body(seed, idx):
    evs = batch_events(seed, idx)
    if idx % 2:
        body = "\n".join(json.dumps(e, separators=(",", ":")) for e in evs) + "\n"
    else:
        body = json.dumps(evs, separators=(",", ":"))
    return len(evs), body.encode()


def load_state(path):
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    return {"seed": 1, "next": 0, "life": 0, "batches": {}, "problems": [], "to_verify": [],
            "sends": 0, "acks": 0, "verified": 0, "non2xx": 0, "conn_errors": 0}


def save_state(path, st):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(st, f)
    os.replace(tmp, path)


class Round:
    """One life of the server: a queue of batches, N connections."""

    def __init__(self, st, url, key, conns, final, unavailable_ok=False):
        self.st, self.key, self.final = st, key, final
        self.unavailable_ok = unavailable_ok
        u = urllib.parse.urlparse(url)
        self.host, self.port = u.hostname, u.port
        self.conns = conns
        self.mu = threading.RLock()
        self.down = False
        life = st["life"]
        b = st["batches"]
        pending = sorted((int(k) for k, v in b.items() if not v["acked"]), key=int)
        verify = sorted(set(st["to_verify"]))
        if final:  # a sample of the older ones too: each must be all duplicates
            acked = sorted(int(k) for k, v in b.items() if v["acked"])
            verify = sorted(set(verify) | set(random.Random(life).sample(acked, len(acked) // 10)))
        self.queue = [(i, "resend") for i in pending] + [(i, "verify") for i in verify]
        self.queue.reverse()  # pop() from the end
        self.acked_now = []
        self.cut = self.refused = 0
        st["life"] = life + 1

    def next_job(self):
        with self.mu:
            if self.down:
                return None
            if self.queue:
                return self.queue.pop()
            if self.final:
                return None
            i = self.st["next"]
            self.st["next"] = i + 1
            self.st["batches"][str(i)] = {"n": 0, "sends": 0, "acked": False, "first": None}
            return (i, "new")

    def problem(self, msg):
        with self.mu:
            self.st["problems"].append(msg)

    def post(self, conn, body):
        conn.request("POST", "/v1/events", body=body,
                     headers={"Authorization": "Bearer " + self.key, "Content-Type": "application/json"})
        r = conn.getresponse()
        data = r.read()
        return r.status, data

    def worker(self):
        conn = None
        seed = self.st["seed"]
        while True:
            job = self.next_job()
            if job is None:
                return
            idx, why = job
            n, body = batch_body(seed, idx)
            with self.mu:
                rec = self.st["batches"][str(idx)]
                first_send = rec["sends"] == 0
                rec["n"] = n
                rec["sends"] += 1
                self.st["sends"] += 1
            try:
                fresh = conn is None
                if fresh:
                    conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
                status, data = self.post(conn, body)
            except (OSError, http.client.HTTPException) as e:
                # refused, reset, cut short: not acknowledged. A refused
                # connection means the server is gone; anything else on a
                # kept-alive connection is tried again on a new one.
                conn.close()
                conn = None
                with self.mu:
                    self.st["conn_errors"] += 1
                    if isinstance(e, ConnectionRefusedError):
                        self.refused += 1
                    else:
                        self.cut += 1  # a request the kill cut short
                    self.queue.append((idx, "verify" if why == "verify" else "resend"))
                    if fresh or isinstance(e, ConnectionRefusedError):
                        self.down = True
                        return
                continue
            if status // 100 != 2:
                with self.mu:
                    self.st["non2xx"] += 1
                    if self.unavailable_ok and status // 100 == 5:
                        # the store was away (a failover): not acknowledged
                        self.st["unavailable"] = self.st.get("unavailable", 0) + 1
                        self.queue.append((idx, "verify" if why == "verify" else "resend"))
                    else:
                        self.problem("batch %d: HTTP %d: %s" % (idx, status, data[:200]))
                conn.close()
                conn = None
                if self.unavailable_ok and status // 100 == 5:
                    time.sleep(0.1)
                continue
            try:
                a = json.loads(data)
                acc, dup, q, rd = a["accepted"], a["duplicates"], a["quarantined"], a["read"]
                rej = a["rejected"]
            except (ValueError, KeyError) as e:
                self.problem("batch %d: a 2xx answer that is not the expected JSON: %r (%s)" % (idx, data[:200], e))
                continue
            if rd != n or q != 0 or rej or acc + dup != n:
                self.problem("batch %d: answer does not add up for %d events: %s" % (idx, n, data[:300]))
            with self.mu:
                if rec["acked"]:
                    if acc != 0:
                        self.st["again_events"] = self.st.get("again_events", 0) + acc
                        self.problem("batch %d (%d events) was acknowledged before a kill, yet %d of its events "
                                     "were accepted again after it: lost by the kill, or now stored twice"
                                     % (idx, n, acc))
                    else:
                        self.st["verified"] += 1
                else:
                    if first_send and (acc != n or dup != 0):
                        self.problem("batch %d: first send, yet accepted=%d duplicates=%d of %d" % (idx, acc, dup, n))
                    rec["acked"] = True
                    rec["first"] = [acc, dup]
                    self.acked_now.append(idx)
                self.st["acks"] += 1

    def run(self):
        ts = [threading.Thread(target=self.worker) for _ in range(self.conns)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        st = self.st
        # what is still queued: unacknowledged stays pending by its flag;
        # verifications not done yet carry over, with this life's acks
        left = [i for i, why in self.queue if why == "verify"]
        st["to_verify"] = sorted(set(left + self.acked_now))
        st.setdefault("lives_log", []).append({"acked": len(self.acked_now), "cut": self.cut,
                                               "refused": self.refused, "final": self.final})
        if self.final and not self.down:
            st["to_verify"] = []


def summary(st):
    b = st["batches"].values()
    acked = [v for v in b if v["acked"]]
    return {"batches": len(st["batches"]), "acked_batches": len(acked),
            "acked_events": sum(v["n"] for v in acked),
            "sent_events": sum(v["n"] for v in b if v["sends"]),
            "sends": st["sends"], "verified": st["verified"], "lives": st["life"],
            "resent_after_unacked": sum(1 for v in acked if v["first"] and v["first"][1] > 0),
            "non2xx": st["non2xx"], "problems": len(st["problems"]),
            "accepted_again": st.get("again_events", 0),
            "lives_cut": sum(1 for x in st.get("lives_log", []) if x["cut"] and not x["final"]),
            "lives_loaded": sum(1 for x in st.get("lives_log", []) if x["acked"] and not x["final"])}


def main(argv):
    cmd, state = argv[1], argv[2]
    opts = {}
    flags = set()
    rest = argv[3:]
    i = 0
    while i < len(rest):
        if rest[i] in ("--final", "--unavailable-ok"):
            flags.add(rest[i])
            i += 1
        elif rest[i].startswith("--"):
            opts[rest[i]] = rest[i + 1]
            i += 2
        else:
            opts.setdefault("pos", []).append(rest[i])
            i += 1
    st = load_state(state)
    if cmd == "run":
        if "--seed" in opts and not st["batches"]:
            st["seed"] = int(opts["--seed"])
        r = Round(st, opts["--url"], opts["--key"], int(opts.get("--conns", "4")), "--final" in flags,
                  "--unavailable-ok" in flags)
        r.run()
        save_state(state, st)
        if "--final" in flags:
            unacked = [k for k, v in st["batches"].items() if not v["acked"]]
            if r.down or unacked:
                print("final round: the server went away or %d batches are still unacknowledged" % len(unacked),
                      file=sys.stderr)
                return 1
        return 0
    if cmd == "check":  # after a kill: base + acked <= stored <= base + sent
        stored, base = int(opts["--stored"]), int(opts["--base"])
        s = summary(st)
        ok = base + s["acked_events"] <= stored <= base + s["sent_events"]
        if not ok:
            st["problems"].append("after kill %d: %d events stored, expected between %d (acknowledged) and %d "
                                  "(sent)" % (st["life"], stored, base + s["acked_events"], base + s["sent_events"]))
            save_state(state, st)
        for p in st["problems"]:
            print(p, file=sys.stderr)
        return 0 if ok and not st["problems"] else 1
    if cmd == "dump":
        with open(opts["pos"][0], "w") as f:
            for k in sorted(st["batches"], key=int):
                if st["batches"][k]["sends"]:
                    for e in batch_events(st["seed"], int(k)):
                        f.write(json.dumps(e, separators=(",", ":")) + "\n")
        return 0
    if cmd == "summary":
        print(json.dumps(summary(st), sort_keys=True))
        for p in st["problems"]:
            print(p, file=sys.stderr)
        return 1 if st["problems"] else 0
    print("unknown command " + cmd, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
