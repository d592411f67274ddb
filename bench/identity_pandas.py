#!/usr/bin/python3
"""The peer of identity resolution in `tailor profile build`: the persons
behind a generated world's identifiers, found with pandas and a union-find
in Python, as an analyst would.

Usage: identity_pandas.py WORLD_DIR
Reads the identifiers of users.csv, credit.csv and events.csv (user and
alias columns) and writes them the way tailor keys them (a kind's name and
':' before the value, none for a member id; a phone's digits and leading
'+', an e-mail in lower case), then applies every link (an event with an
alias) in time order under tailor's default merge rules: a link is refused
when the joined person would hold more than 1 member id, 10 devices, 1
phone, 1 e-mail, 4 OpenIDs or 2 cards, or more than 50 identifiers in all.
Last, every event row gets its person.

This is resolution only: no profile features are computed. Dirty rows are
dropped the way the importer quarantines the common ones (unparsable times,
control characters in ids, bad phone numbers); the other defects of the
users.csv rows are not checked, so the few users the importer quarantines
(about 1 %) count here as persons of their own. Prints the counts and the seconds taken after the CSV
files were read.
"""
import sys
import time
import numpy as np
import pandas as pd

KINDS = ["member", "device", "phone", "email", "openid", "card"]
LIMIT = [1, 10, 1, 1, 4, 2]
MAX_IDS = 50

world = sys.argv[1]
read = dict(dtype=str, encoding_errors="replace", on_bad_lines="skip")
ev = pd.read_csv(f"{world}/events.csv", usecols=["user", "ts", "alias"], **read)
users = pd.read_csv(f"{world}/users.csv", usecols=["user"], **read)["user"]
credit = pd.read_csv(f"{world}/credit.csv", usecols=["user"], **read)["user"]

t0 = time.perf_counter()
ts = pd.to_datetime(ev["ts"], errors="coerce", utc=True, format="%Y-%m-%dT%H:%M:%SZ")
ts = ts.fillna(pd.to_datetime(pd.to_numeric(ev["ts"], errors="coerce"), unit="s", utc=True,
                              errors="coerce")).dt.tz_convert(None)
ev = ev.assign(t=ts).dropna(subset=["user", "t"]).reset_index(drop=True)

# every identifier written, once; then its key and kind
written = pd.concat([users, credit, ev["user"], ev["alias"]], ignore_index=True).dropna()
codes, uniq = pd.factorize(written)
w = pd.Series(uniq).str.strip()
pre = w.str.extract(r"^([a-z_]+):(.*)$")
kind = pre[0].map({k: i for i, k in enumerate(KINDS)})
val = pre[1].where(kind.notna(), w)
kind = kind.fillna(0).astype(np.int8)
phone = kind == KINDS.index("phone")
digits = val[phone].str.replace(r"[ .()\-]", "", regex=True)
val[phone] = digits.where(digits.str.fullmatch(r"\+?[0-9]{2,}"))
email = kind == KINDS.index("email")
val[email] = val[email].str.lower()
key = (pd.Series(np.array(KINDS, dtype=object)[kind]) + ":" + val).where(kind != 0, val)
ok = key.notna() & (val.str.len() > 0) & ~val.str.contains(r"[\x00-\x1f\x7f]", na=True)
# identifiers written in several ways are one (phone:150 6184 1338 and
# phone:150.6184.1338): the index of each written form's key
kcodes, keys = pd.factorize(key.where(ok))
nids = len(keys)
kind_of = np.zeros(nids, dtype=np.int8)
kind_of[kcodes[kcodes >= 0]] = kind.to_numpy()[kcodes >= 0]

# the links, in time order (file order among equal times)
nu, nc, ne = len(users.dropna()), len(credit.dropna()), len(ev)
ev_user = kcodes[codes[nu + nc:nu + nc + ne]]
al = ev["alias"].notna().to_numpy()
ev_alias = np.full(ne, -1, dtype=np.int64)
ev_alias[al] = kcodes[codes[nu + nc + ne:]]
ln = al & (ev_user >= 0) & (ev_alias >= 0)
order = np.argsort(ev["t"].to_numpy()[ln], kind="stable")
la = ev_user[ln][order].tolist()
lb = ev_alias[ln][order].tolist()

parent = list(range(nids))
units = [tuple(int(i == k) for i in range(len(KINDS))) for k in range(len(KINDS))]
kinds = kind_of.tolist()
held = {}  # counts by kind of each person of more than one identifier


def find(x):
    r = x
    while parent[r] != r:
        r = parent[r]
    while parent[x] != r:
        nxt = parent[x]
        parent[x] = r
        x = nxt
    return r


merges = refused = 0
for a, b in zip(la, lb):
    ra, rb = find(a), find(b)
    if ra == rb:
        continue
    ca = held.get(ra) or units[kinds[ra]]
    cb = held.get(rb) or units[kinds[rb]]
    c = tuple(x + y for x, y in zip(ca, cb))
    if sum(c) > MAX_IDS or any(n > m for n, m in zip(c, LIMIT)):
        refused += 1
        continue
    if rb < ra:
        ra, rb = rb, ra
    parent[rb] = ra
    held.pop(rb, None)
    held[ra] = c
    merges += 1

canon = np.array(parent, dtype=np.int64)
while True:
    nxt = canon[canon]
    if np.array_equal(nxt, canon):
        break
    canon = nxt
person = np.where(ev_user >= 0, canon[np.maximum(ev_user, 0)], -1)  # every event's person
persons = len(np.unique(canon))
secs = time.perf_counter() - t0
print(f"identifiers={nids} links={int(ln.sum())} merges={merges} refused={refused} "
      f"persons={persons} events={int((person >= 0).sum())} seconds={secs:.2f}")
