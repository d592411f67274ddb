#!/usr/bin/python3
"""The peer of `tailor profile build`: the same core profile features
computed with pandas from the generated CSV files, as an analyst would.

Usage: profile_pandas.py WORLD_DIR OUT.csv
Computes per user: events, views, carts, purchases, orders (distinct visits
with a purchase), monetary (purchases less refunds), orders and monetary over
30/90/365 days, days since the last order, preferred hour and channel, and
the time-decayed share of each top-level category (half-life 30 days).
Dirty rows are dropped the way the importer quarantines the common ones
(unparsable numbers or times); the point is the cost of the computation.
"""
import sys
import numpy as np
import pandas as pd

world, out = sys.argv[1], sys.argv[2]
ev = pd.read_csv(f"{world}/events.csv", usecols=["user", "item", "type", "ts", "channel",
                                                  "amount", "session"],
                 dtype={"user": str, "item": str, "type": str, "channel": str, "session": str,
                        "amount": str, "ts": str},
                 encoding_errors="replace", on_bad_lines="skip")
ev["amount"] = pd.to_numeric(ev["amount"], errors="coerce")
ts = pd.to_datetime(ev["ts"], errors="coerce", utc=True, format="%Y-%m-%dT%H:%M:%SZ")
num = pd.to_numeric(ev["ts"], errors="coerce")
ts = ts.fillna(pd.to_datetime(num, unit="s", utc=True, errors="coerce"))
ev["t"] = ts
ev = ev.dropna(subset=["user", "type", "t"])
as_of = ev["t"].max()
ev["age_days"] = (as_of - ev["t"]).dt.total_seconds() / 86400

g = ev.groupby("user")
prof = pd.DataFrame({"events": g.size()})
for t, name in (("view", "views"), ("cart", "carts"), ("purchase", "purchases")):
    prof[name] = ev[ev["type"] == t].groupby("user").size()
buy = ev[ev["type"] == "purchase"]
ref = ev[ev["type"] == "refund"]
prof["orders"] = buy.groupby("user")["session"].nunique()
prof["monetary"] = buy.groupby("user")["amount"].sum().sub(ref.groupby("user")["amount"].sum(),
                                                            fill_value=0)
for w in (30, 90, 365):
    b = buy[buy["age_days"] < w]
    r = ref[ref["age_days"] < w]
    prof[f"orders_{w}d"] = b.groupby("user")["session"].nunique()
    prof[f"monetary_{w}d"] = b.groupby("user")["amount"].sum().sub(r.groupby("user")["amount"].sum(),
                                                                    fill_value=0)
prof["days_since_purchase"] = buy.groupby("user")["age_days"].min()
ev["hour"] = ev["t"].dt.hour
prof["preferred_hour"] = ev.groupby(["user", "hour"]).size().unstack(fill_value=0).idxmax(axis=1)
prof["preferred_channel"] = ev.groupby(["user", "channel"]).size().unstack(fill_value=0).idxmax(axis=1)

items = pd.read_csv(f"{world}/items.csv", usecols=["item", "category"], dtype=str,
                    encoding_errors="replace", on_bad_lines="skip")
items["top"] = items["category"].str.split("/").str[0]
weights = {"view": 1, "click": 1, "fav": 2, "review": 2, "share": 2, "cart": 3, "purchase": 5}
e = ev[ev["type"].isin(list(weights))].merge(items[["item", "top"]], on="item", how="inner")
e["w"] = e["type"].map(weights) * np.exp2(-e["age_days"] / 30.0)
aff = e.groupby(["user", "top"])["w"].sum().unstack(fill_value=0)
aff = aff.div(aff.sum(axis=1), axis=0).add_prefix("affinity_")
prof = prof.join(aff)
prof.fillna({c: 0 for c in prof.columns if c.startswith(("views", "carts", "purchases", "orders"))},
            inplace=True)
prof.to_csv(out)
print(len(prof), "users")
