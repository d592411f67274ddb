#!/usr/bin/python3
"""The peer of bench/campaign.sh: the same campaign run as a pandas user would
write it. Reads the world's users and consents (untimed: the load), then
times the run itself: consent in force at the run's time per purpose, the
channel waterfall (push, sms, email) with a push cap of 1 a local day, an
sms cap of 2 a local week and 3 contacts in any 7 days (from the contacts of
earlier runs), hold-out 10 % and three arms by a hash of the user id, quiet
hours 22:00-08:00 (+08:00), and the outbox as JSON Lines per channel.

usage: campaign_pandas.py WORLD OUTDIR TIME [TIME...]   (prints one line per run: seconds decisions)
"""
import json, os, sys, time
import numpy as np
import pandas as pd

world, out, times = sys.argv[1], sys.argv[2], sys.argv[3:]
os.makedirs(out, exist_ok=True)
t0 = time.time()
users = pd.read_csv(os.path.join(world, "users.csv"), usecols=["user"])["user"]
cons = pd.read_csv(os.path.join(world, "consents.csv"))
cons["at"] = pd.to_datetime(cons["at"], utc=True, format="%Y-%m-%dT%H:%M:%SZ")
uidx = pd.Series(np.arange(len(users)), index=users.values)
cons["u"] = uidx.reindex(cons["user"].values).values
print("load %.2f" % (time.time() - t0), file=sys.stderr)

n = len(users)
bucket = (pd.util.hash_pandas_object(users, index=False).values % 10000).astype(np.int64)
armb = (pd.util.hash_pandas_object(users + "#arm", index=False).values % 10000).astype(np.int64)
contacts = pd.DataFrame({"u": pd.Series([], dtype=np.int64), "ch": pd.Series([], dtype=object),
                         "at": pd.Series([], dtype="datetime64[ns, UTC]")})
chans = ["push", "sms", "email"]
tz = pd.Timedelta(hours=8)
for run, ts in enumerate(times, 1):
    T = pd.Timestamp(ts).tz_convert("UTC")
    t = time.time()
    c = cons[(cons["at"] <= T) & cons["purpose"].isin(["marketing_push", "marketing_sms", "marketing_email"])]
    last = c.sort_values(["u", "purpose", "at"]).groupby(["u", "purpose"]).tail(1)
    granted = last[last["status"] == "granted"]
    ok = {p: np.zeros(n, bool) for p in ("push", "sms", "email")}
    for p in ok:
        ok[p][granted.loc[granted["purpose"] == "marketing_" + p, "u"].values.astype(np.int64)] = True
    ok["push"] &= True  # the campaign's own purpose is marketing_push
    camp_ok = ok["push"].copy()
    # caps from earlier contacts
    day = (T + tz).floor("D")
    week = day - pd.Timedelta(days=(day.dayofweek))
    lc = contacts["at"] + tz
    push_today = np.bincount(contacts.loc[(contacts["ch"] == "push") & (lc.dt.floor("D") == day), "u"], minlength=n)
    sms_week = np.bincount(contacts.loc[(contacts["ch"] == "sms") & (lc >= week) & (lc < week + pd.Timedelta(days=7)), "u"], minlength=n)
    any7 = np.bincount(contacts.loc[(contacts["at"] - T).abs() < pd.Timedelta(days=7), "u"], minlength=n)
    room = any7 < 3
    can = {"push": camp_ok & ok["push"] & (push_today < 1) & room,
           "sms": camp_ok & ok["sms"] & (sms_week < 2) & room,
           "email": camp_ok & ok["email"] & room}
    chosen = np.select([can["push"], can["sms"], can["email"]], [0, 1, 2], -1)
    decision = np.where(~camp_ok, "no_consent", np.where(chosen < 0, "capped", "sent"))
    hold = (chosen >= 0) & (bucket < 1000)
    decision = np.where(hold, "holdout", decision)
    arm = np.array(["A", "B", "C"])[armb * 3 // 10000]
    minute = (T + tz).hour * 60 + (T + tz).minute
    quiet = minute >= 22 * 60 or minute < 8 * 60
    at = T
    if quiet:
        end = (T + tz).floor("D") + pd.Timedelta(hours=8) + (pd.Timedelta(days=1) if minute >= 22 * 60 else pd.Timedelta(0))
        at = end - tz
        decision = np.where(decision == "sent", "quiet_hours", decision)
    send = (chosen >= 0) & ~hold
    for k, ch in enumerate(chans):
        sel = send & (chosen == k)
        df = pd.DataFrame({"campaign": "bench", "run": run,
                           "user": users[sel].values, "arm": arm[sel], "channel": ch,
                           "at": at.strftime("%Y-%m-%dT%H:%M:%SZ")})
        if quiet:  # the status is written when it is not "sent", as tailor does
            df["status"] = decision[sel]
        df["content"] = [{"type": "coupon", "code": "B10", "value": 10}] * int(sel.sum())
        with open(os.path.join(out, ch + ".jsonl"), "a") as f:
            df.to_json(f, orient="records", lines=True)
            f.flush()
            os.fsync(f.fileno())
    contacts = pd.concat([contacts, pd.DataFrame({"u": np.nonzero(send)[0], "ch": np.array(chans)[chosen[send]],
                                                  "at": at})], ignore_index=True)
    counts = pd.Series(decision).value_counts().to_dict()
    print("%.2f %s" % (time.time() - t, json.dumps(counts, sort_keys=True)))
