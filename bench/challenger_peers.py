"""bench/challenger_peers.py -- the peers of `tailor score cv --challenger`.

  challenger_peers.py gen OUT.csv
      writes the generated applicants (150,000 rows, seed 7): income
      log-normal with 1 % outliers x1000 and 7 % missing, utilisation (3 %
      missing), age, tenure, delinquencies, region, channel (1 % missing);
      the risk rises only past 60 % utilisation, is U-shaped in age, and has
      two interactions (broker x high utilisation, recent delinquent x short
      tenure); ~7 % defaults; target `default` (bad: 1), id `id`.

  challenger_peers.py peers german-credit|bank-marketing|applicants TABLE FOLDS.csv
      reads the table and the fold of every row written by
      `tailor score cv --folds-out`, and on exactly those folds fits
        - xgboost.XGBClassifier with the challenger's settings (300 rounds,
          depth 4, eta 0.05, subsample 0.8, colsample_bytree 0.8,
          min_child_weight 1, lambda 1, hist, seed = the cv seed 0) on
          pandas.get_dummies of the categorical columns, numbers as they
          are (missing: NaN; a missing category: NaN in its indicators),
          one thread, then every core (the same trees; for the time);
        - xgboost again on the very matrix the challenger builds (its column
          order, the categories by their count in the training rows, first
          seen first among equals, at most 64) and its parameters (a
          monotone_constraints of zeros, which tailor passes when
          unconstrained): tailor's --no-monotone should give the same trees;
        - scikit-learn's LogisticRegression on the one-hot features, numbers
          standardised (a missing number: the training mean and a flag).
      Prints JSON: per model the AUC of each fold, their mean and the fit
      seconds summed over the folds.

  challenger_peers.py table DIR SECONDS NAME...
      the markdown tables from DIR/NAME-{card,mono,free,peers}.json, and a
      status line (SECONDS: the run's time); exit status 1 when tailor's
      unconstrained challenger trails the peer on the same folds by more
      than 0.01 AUC.
"""
import json
import os
import sys
import time

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

SEED = 0  # the cv seed, which tailor gives xgboost too
PARAMS = dict(n_estimators=300, max_depth=4, learning_rate=0.05, subsample=0.8,
              colsample_bytree=0.8, min_child_weight=1, reg_lambda=1,
              objective="binary:logistic", tree_method="hist", random_state=SEED)
MAX_CATS = 64


def generate(path, n=150000, seed=7):
    rng = np.random.default_rng(seed)
    income = rng.lognormal(10.3, 0.55, n)                     # yearly, ~30,000
    util = rng.beta(2.0, 3.0, n)                              # share of the limit used
    age = rng.integers(18, 81, n).astype(float)
    tenure = np.minimum(rng.exponential(4.0, n), age - 17)    # years with the lender
    delinq = rng.poisson(0.25 + 0.8 * util, n).astype(float)  # past delinquencies
    region = rng.choice(["north", "south", "east", "west", "capital"], n, p=[.25, .2, .2, .2, .15])
    channel = rng.choice(["branch", "web", "app", "broker"], n, p=[.3, .35, .25, .1])
    z = (-4.1
         + 2.2 * np.maximum(util - 0.6, 0) / 0.4                # risk only past 60 % used
         + 0.55 * np.minimum(delinq, 4)
         - 0.55 * (np.log(income) - 10.3)
         + 0.9 * ((age - 45) / 20) ** 2                         # the young and the old riskier
         - 0.08 * np.minimum(tenure, 10)
         + 0.9 * ((channel == "broker") & (util > 0.5))         # interactions
         + 0.6 * ((delinq >= 2) & (tenure < 2))
         + 0.35 * (region == "south") - 0.2 * (region == "capital"))
    miss_inc = rng.random(n) < 0.07
    z = z + 0.3 * miss_inc                                      # not declared: a little riskier
    bad = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    shown = np.where(rng.random(n) < 0.01, income * 1000, income)  # outliers: typed in the wrong unit
    df = pd.DataFrame({
        "id": [f"a{i}" for i in range(n)],
        "income": pd.array(np.where(miss_inc, np.nan, np.round(shown, 0)), dtype="Int64"),
        "utilisation": np.where(rng.random(n) < 0.03, np.nan, np.round(util, 3)),
        "age": age.astype(int),
        "tenure": np.round(tenure, 2),
        "delinquencies": delinq.astype(int),
        "region": region,
        "channel": np.where(rng.random(n) < 0.01, None, channel),
        "default": bad,
    })
    df.to_csv(path, index=False, na_rep="")
    print(f"{path}: {n} rows, {bad.mean():.2%} defaults", file=sys.stderr)


def load(kind, path):
    """The candidate columns as the challenger sees them, and the outcome."""
    if kind == "german-credit":
        df = pd.read_csv(path, sep=" ", header=None)
        df.columns = [f"c{i}" for i in range(df.shape[1])]
        y = (df.pop(df.columns[-1]) == 2).astype(int).to_numpy()
    elif kind == "bank-marketing":
        df = pd.read_csv(path, sep=";")
        df = df.drop(columns=["duration"])   # known only after the call
        y = (df.pop("y") == "yes").astype(int).to_numpy()
    else:
        df = pd.read_csv(path)
        df = df.drop(columns=["id"])
        y = (df.pop("default") == 1).astype(int).to_numpy()
    return df, y


def categorical(df):
    return [c for c in df.columns if df[c].dtype == object]


def dummies(df):
    """pandas one-hot; numbers as they are; a missing category NaN in its indicators."""
    cat = categorical(df)
    x = pd.get_dummies(df, columns=cat, prefix_sep="\x1f", dtype=np.float32).astype(np.float32)
    for c in cat:
        miss = df[c].isna().to_numpy()
        if miss.any():
            x.loc[miss, [k for k in x.columns if k.startswith(c + "\x1f")]] = np.nan
    return x, [c for c in df.columns if c not in cat]


def tailor_matrix(df, train):
    """The challenger's own matrix: columns in the table's order, a category
    column's indicators by count in the training rows (first seen first
    among equals), at most 64."""
    cols = []
    for c in df.columns:
        s = df[c]
        if s.dtype != object:
            cols.append(s.to_numpy(dtype=np.float32))
            continue
        seen = s[train].dropna()
        first = {}
        for i, v in enumerate(seen):
            first.setdefault(v, i)
        count = seen.value_counts()
        cats = sorted(count.index, key=lambda v: (-count[v], first[v]))[:MAX_CATS]
        miss = s.isna().to_numpy()
        for v in cats:
            ind = (s == v).to_numpy().astype(np.float32)
            ind[miss] = np.nan
            cols.append(ind)
    return np.column_stack(cols)


def peers(kind, path, folds_csv):
    df, y = load(kind, path)
    fold = pd.read_csv(folds_csv)["fold"].to_numpy()
    assert len(fold) == len(y), (len(fold), len(y))
    x, num = dummies(df)
    xv = x.to_numpy()
    ks = sorted(set(fold[fold >= 0]))
    out = {"rows": int(len(y)), "bads": int(y.sum()), "features": int(xv.shape[1]), "numeric": len(num),
           "xgboost_version": xgb.__version__}
    ncpu = os.cpu_count() or 1
    for name, threads in (("xgboost", 1), ("xgboost_all_threads", ncpu)):
        aucs, secs = [], 0.0
        for k in ks:
            tr, te = (fold != k) & (fold >= 0), fold == k
            m = xgb.XGBClassifier(n_jobs=threads, **PARAMS)
            t0 = time.perf_counter()
            m.fit(xv[tr], y[tr])
            secs += time.perf_counter() - t0
            aucs.append(roc_auc_score(y[te], m.predict_proba(xv[te])[:, 1]))
        out[name] = {"auc_folds": aucs, "auc": float(np.mean(aucs)), "seconds": secs, "threads": threads}

    aucs, secs = [], 0.0
    for k in ks:
        tr, te = (fold != k) & (fold >= 0), fold == k
        a = tailor_matrix(df, tr)
        p = dict(objective="binary:logistic", tree_method="hist", max_depth=4, eta=0.05, subsample=0.8,
                 colsample_bytree=0.8, min_child_weight=1, reg_lambda=1, seed=SEED, nthread=1, verbosity=0,
                 monotone_constraints="(" + ",".join(["0"] * a.shape[1]) + ")")
        d = xgb.DMatrix(a[tr], label=y[tr], missing=np.nan, nthread=1)
        t0 = time.perf_counter()
        b = xgb.train(p, d, 300)
        secs += time.perf_counter() - t0
        aucs.append(roc_auc_score(y[te], b.predict(xgb.DMatrix(a[te], missing=np.nan, nthread=1))))
    out["xgboost_tailor_matrix"] = {"auc_folds": aucs, "auc": float(np.mean(aucs)), "seconds": secs}

    numi = [x.columns.get_loc(c) for c in num]
    aucs, secs = [], 0.0
    for k in ks:
        tr, te = (fold != k) & (fold >= 0), fold == k
        a = xv.copy()
        flags = []
        for j in numi:  # a missing number: the training mean, and a flag
            miss = np.isnan(a[:, j])
            if miss.any():
                a[miss, j] = np.nanmean(a[tr, j])
                flags.append(miss.astype(np.float32))
        a = np.nan_to_num(a, nan=0.0)  # a missing category: no indicator
        if flags:
            a = np.column_stack([a] + flags)
        sc = StandardScaler().fit(a[tr])
        m = LogisticRegression(max_iter=2000)
        t0 = time.perf_counter()
        m.fit(sc.transform(a[tr]), y[tr])
        secs += time.perf_counter() - t0
        aucs.append(roc_auc_score(y[te], m.predict_proba(sc.transform(a[te]))[:, 1]))
    out["logistic_regression"] = {"auc_folds": aucs, "auc": float(np.mean(aucs)), "seconds": secs}
    print(json.dumps(out))


LABELS = {"german": "German Credit", "bank": "Bank Marketing (propensity, no `duration`)",
          "applicants": "generated applicants"}


def table(d, names):
    rows = []
    for n in names:
        r = {k: json.load(open(os.path.join(d, f"{n}-{k}.json"))) for k in ("card", "mono", "free", "peers")}
        r["name"] = n
        rows.append(r)
    print("## Mean held-out AUC, 5-fold stratified CV (seed 0), every model on the same folds\n")
    print("| data set | rows (bad) | scorecard | challenger, monotone | challenger, free "
          "| xgboost (Python) | xgboost, tailor's matrix | LogisticRegression | scorecard − xgboost |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        p = r["peers"]
        print(f"| {LABELS.get(r['name'], r['name'])} | {p['rows']:,} ({p['bads']:,}) | {r['card']['auc']:.4f} "
              f"| {r['mono']['challenger']['auc']:.4f} | {r['free']['challenger']['auc']:.4f} "
              f"| {p['xgboost']['auc']:.4f} | {p['xgboost_tailor_matrix']['auc']:.4f} "
              f"| {p['logistic_regression']['auc']:.4f} | {r['card']['auc'] - p['xgboost']['auc']:+.4f} |")
    print("\n## Training time, the 5 folds together (seconds; indicative: the machine is shared)\n")
    print("| data set | tailor cv, scorecard alone | tailor cv + challenger, monotone | free "
          "| Python xgboost fits, 1 thread | all threads | tailor free ÷ Python 1 thread |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        p = r["peers"]
        free, py = r["free"]["seconds"], p["xgboost"]["seconds"]
        print(f"| {LABELS.get(r['name'], r['name'])} | {r['card']['seconds']:.2f} | {r['mono']['seconds']:.2f} "
              f"| {free:.2f} | {py:.2f} | {p['xgboost_all_threads']['seconds']:.2f} "
              f"({p['xgboost_all_threads']['threads']}) | {free / py:.2f} |")
    print("\n(tailor's cv seconds cover the whole cross-validation: the scorecard trained on each fold, the"
          " challenger's matrix, its trees and the scoring of every row; Python's cover XGBClassifier.fit alone)")
    bad, notes = [], []
    for r in rows:
        p, free = r["peers"], r["free"]["challenger"]
        gap = free["auc"] - p["xgboost"]["auc"]
        same = max(abs(a - b) for a, b in zip(free["auc_folds"], p["xgboost_tailor_matrix"]["auc_folds"]))
        notes.append(f"{r['name']}: free challenger {gap:+.4f} vs Python xgboost, "
                     + ("fold AUCs identical to xgboost on tailor's matrix" if same < 1e-9
                        else f"fold AUCs differ from xgboost on tailor's matrix by up to {same:.2e}"))
        if gap < -0.01:
            bad.append(r["name"])
    print()
    for s in notes:
        print(f"- {s}")
    return bad


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "gen":
        generate(sys.argv[2])
    elif len(sys.argv) == 5 and sys.argv[1] == "peers":
        peers(sys.argv[2], sys.argv[3], sys.argv[4])
    elif len(sys.argv) >= 5 and sys.argv[1] == "table":
        names, took = sys.argv[4:], f"in {int(sys.argv[3]) // 60} min {int(sys.argv[3]) % 60} s"
        bad = table(sys.argv[2], names)
        if bad:
            print(f"\nstatus: FAIL -- the unconstrained challenger trails Python xgboost by more than 0.01 AUC "
                  f"on {', '.join(bad)} ({len(names)} data set(s) {took})")
            sys.exit(1)
        print(f"\nstatus: ok -- the unconstrained challenger within 0.01 AUC of Python xgboost on "
              f"{len(names)} data set(s) ({took})")
    else:
        sys.exit(__doc__)


main()
