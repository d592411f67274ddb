"""bench/uplift_peers.py -- the peers of `tailor uplift train`, and the one
measure every method is judged by.

  uplift_peers.py world DIR PROFILES.csv OUTBOX.jsonl EFFECTS.csv REPORT.json AT DAYS EVENTS.csv...
      the generated world's experiment as a table, one row a user of the
      campaign: the profile columns tailor's campaign uplift uses by default
      (from `profile export`), treated (delivered: the campaign's outbox) or
      not (held out), converted (a purchase in EVENTS between AT and AT +
      DAYS days, both ends included, as the campaign's attribution counts
      it) and the user's true effect (`gen respond --effects`). Exits 1
      unless the treated and converted users of each group are exactly those
      of `report campaign --json` (REPORT.json). Writes DIR/world-all.csv
      (every user, no effect), and DIR/world-train.csv and DIR/world-test.csv
      (a random 30 % of the users, seed 0; the test part with the effect).

  uplift_peers.py synth DIR
      a synthetic experiment of 100,000 units (seed 11), treated with
      probability 1/2; eight features: x0, x1, x2 normal, x3 uniform on
      [0, 1], x4 a 0/1 flag (40 %), x5 Poisson(2), x6 log-normal with 5 %
      missing, x7 pure noise. Base conversion logistic in x0, x3, x4, x5
      (~10.7 %); true effect, added to it in probability (~3 points, 13 %
      of units negative): 2 points + 1.5 points per unit of x1 (linear), +6
      points when x3 > 0.7 and x4 = 1 (interaction), -3 points when x2 > 1,
      +3 points when x6 > 2 (steps). A column `part` (30 % test, the same
      seed) splits it into DIR/synth-train.csv and DIR/synth-test.csv (the
      test part with the effect).

  uplift_peers.py peers NAME DIR FEATURES
      on DIR/NAME-train.csv and DIR/NAME-test.csv, the same features
      (comma-separated), fits
        - two-model: two scikit-learn LogisticRegression, treated and
          control rows, on features standardised with the training mean and
          sample deviation, a missing value at the mean (as tailor does),
          C = 1 (tailor's l2 = 1 on the same scale); uplift p_t - p_c;
        - class transformation: LogisticRegression of z = T*Y + (1-T)*(1-Y),
          the same features, rows weighted n / (2 n_group); uplift 2p - 1;
        - the same z and weights by GradientBoostingClassifier (scikit-learn's
          defaults: 100 trees of depth 3, learning rate 0.1; missing values
          at the training mean) and by XGBClassifier (xgboost's defaults: 100
          trees of depth 6, eta 0.3, hist, missing values native; seed 0);
      reads tailor's scores (DIR/NAME-METHOD.scores.csv from `uplift apply
      --csv`) and training seconds (DIR/NAME-METHOD.seconds), and measures
      every method, and the true effect itself as a score (the ceiling), on
      the test units with measure(). Writes
      DIR/NAME-results.json.

  uplift_peers.py table DIR SECONDS NAME...
      the markdown table from DIR/NAME-results.json.
"""
import json
import os
import sys
import time

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

SEED = 0
TEST_SHARE = 0.3
TOP = 0.3
BOOTSTRAP = 200
WORLD_FEATURES = ("age,orders_90d,monetary_90d,days_since_active,price_sensitivity,browse_to_buy,coupon_share,"
                  "promo_share,active_evening,cart_abandon_rate,events").split(",")
SYNTH_FEATURES = [f"x{k}" for k in range(8)]
TAILOR_METHODS = ("two-model", "class", "trees")
LABELS = {
    "tailor:two-model": "tailor `two-model` (two logistic regressions)",
    "tailor:class": "tailor `class` (logistic class transformation)",
    "tailor:trees": "tailor `trees` (class transformation + boosted trees, Qini-validated)",
    "sklearn:two-model": "scikit-learn two-model LogisticRegression",
    "sklearn:class": "scikit-learn class-transformation LogisticRegression",
    "sklearn:gbc": "scikit-learn class-transformation GradientBoostingClassifier (defaults)",
    "xgboost:class": "xgboost class-transformation XGBClassifier (defaults)",
    "truth": "the true effect itself (the ceiling)",
}
DATA = {"world": "generated world", "synth": "synthetic"}


# ---- the measure ------------------------------------------------------------------------------

def qini_coefficient(s, t, y):
    """Area between the Qini curve of the order by s (highest first, ties by
    row) and the straight line to its end, over that of the best order
    (treated converters first, control converters last): tailor's definition."""
    def area(order):
        tt, yy = t[order], y[order]
        nt, nc = np.cumsum(tt), np.cumsum(1 - tt)
        yt, yc = np.cumsum(tt * yy), np.cumsum((1 - tt) * yy)
        q = yt - np.where(nc > 0, yc * nt / np.maximum(nc, 1), 0.0)
        n = len(tt)
        end = q[-1] if nc[-1] else yt[-1]
        prev = np.concatenate(([0.0], q[:-1]))
        return np.sum((prev + q) / 2 - end * (np.arange(n) + 0.5) / n)
    key = np.where(np.isnan(s), -np.inf, s)
    model = area(np.argsort(-key, kind="stable"))
    best = area(np.argsort(-np.where(t == 1, y, -y).astype(float), kind="stable"))
    return model / best if best > 0 else float("nan")


def measure(s, t, y, effect=None, rng=None):
    """Every method's figures from its per-unit uplift scores s of the test
    units (t treated 0/1, y converted 0/1, effect: the true effects if
    known): the Qini coefficient (and its bootstrap standard error over
    BOOTSTRAP resamples of the units drawn by rng, and their Qinis), the observed uplift in the top
    30 % (treated minus control conversion rate), and against the truth the
    Pearson correlation and the mean true effect of the top 30 %."""
    s, t, y = np.asarray(s, float), np.asarray(t, int), np.asarray(y, int)
    n = len(s)
    order = np.argsort(-np.where(np.isnan(s), -np.inf, s), kind="stable")
    top = order[: (int(TOP * 10) * n + 9) // 10]
    tt, yy = t[top], y[top]
    r = {"units": n, "qini": qini_coefficient(s, t, y),
         "uplift_at_30": yy[tt == 1].mean() - yy[tt == 0].mean()}
    if rng is not None:
        idx = rng.integers(0, n, size=(BOOTSTRAP, n))
        r["qini_boot"] = [qini_coefficient(s[i], t[i], y[i]) for i in idx]
        r["qini_se"] = float(np.std(r["qini_boot"], ddof=1))
    if effect is not None:
        e = np.asarray(effect, float)
        r["true_corr"] = float(np.corrcoef(s, e)[0, 1])
        r["true_top30"] = float(e[top].mean())
        r["true_all"] = float(e.mean())
    return r


# ---- the data -------------------------------------------------------------------------------

def write_split(d, name, df, test):
    df[~test].drop(columns=["effect"], errors="ignore").to_csv(os.path.join(d, f"{name}-train.csv"), index=False)
    df[test].to_csv(os.path.join(d, f"{name}-test.csv"), index=False)


def world(d, profiles, outbox, effects, report, at, days, events):
    at = pd.Timestamp(at)
    ev = pd.concat([pd.read_csv(f, usecols=["user", "type", "ts"], dtype=str) for f in events])
    ev = ev[ev.type == "purchase"]
    num = pd.to_numeric(ev.ts, errors="coerce")  # seconds since the epoch, or ISO 8601
    ts = pd.to_datetime(num, unit="s", utc=True)
    ts[num.isna()] = pd.to_datetime(ev.ts[num.isna()], utc=True)
    converted = set(ev.user[(ts >= at) & (ts <= at + pd.Timedelta(days=float(days)))])
    treated = set(json.loads(line)["user"] for line in open(outbox))
    prof = pd.read_csv(profiles, dtype={"user": str}, low_memory=False)
    df = prof[["user"] + WORLD_FEATURES].copy()
    df["treated"] = df.user.isin(treated).astype(int)
    df["converted"] = df.user.isin(converted).astype(int)
    rep = json.load(open(report))
    want = sorted((g["group"] != rep["control"], g["users"], g["converted"]) for g in rep["groups"])
    got = sorted((bool(k), len(g), int(g.converted.sum())) for k, g in df.groupby("treated"))
    if want != got:
        sys.exit(f"the table's groups {got} are not the campaign's {want}")
    df.to_csv(os.path.join(d, "world-all.csv"), index=False)
    eff = pd.read_csv(effects, dtype={"user": str})
    df = df.merge(eff, on="user", how="left")
    test = np.random.default_rng(SEED).random(len(df)) < TEST_SHARE
    write_split(d, "world", df, test)


def synth(d, n=100000, seed=11):
    rng = np.random.default_rng(seed)
    x0, x1, x2 = rng.normal(size=(3, n))
    x3 = rng.random(n)
    x4 = (rng.random(n) < 0.4).astype(float)
    x5 = rng.poisson(2, n).astype(float)
    x6 = rng.lognormal(0, 1, n)
    x7 = rng.normal(size=n)
    p0 = 1 / (1 + np.exp(-(-2.6 + 0.6 * x0 - 0.3 * x4 + 0.25 * x5 - 0.2 * x3)))
    tau = 0.02 + 0.015 * x1 + 0.06 * ((x3 > 0.7) & (x4 == 1)) - 0.03 * (x2 > 1) + 0.03 * (x6 > 2)
    p1 = np.clip(p0 + tau, 0.001, 0.999)
    t = (rng.random(n) < 0.5).astype(int)
    y = (rng.random(n) < np.where(t == 1, p1, p0)).astype(int)
    x6[rng.random(n) < 0.05] = np.nan
    df = pd.DataFrame({"id": [f"s{i}" for i in range(n)], "x0": x0, "x1": x1, "x2": x2, "x3": x3, "x4": x4,
                       "x5": x5, "x6": x6, "x7": x7}).round(5)
    df["treated"], df["converted"], df["effect"] = t, y, np.round(p1 - p0, 6)
    df["part"] = np.where(rng.random(n) < TEST_SHARE, "test", "train")
    write_split(d, "synth", df.drop(columns=["part"]), (df.part == "test").to_numpy())


# ---- the peers ------------------------------------------------------------------------------

def standardise(tr, te):
    """As tailor: training mean and sample deviation, a missing value at the mean."""
    mean, sd = np.nanmean(tr, axis=0), np.nanstd(tr, axis=0, ddof=1)
    sd[~(sd > 0)] = 1
    f = lambda x: np.where(np.isnan(x), 0.0, (x - mean) / sd)
    return f(tr), f(te)


def class_weights(t):
    n, nt = len(t), t.sum()
    return np.where(t == 1, n / (2.0 * nt), n / (2.0 * (n - nt)))


def peers(name, d, features):
    features = features.split(",")
    tr = pd.read_csv(os.path.join(d, f"{name}-train.csv"), low_memory=False)
    te = pd.read_csv(os.path.join(d, f"{name}-test.csv"), low_memory=False)
    idcol = "user" if "user" in te.columns else "id"
    xtr, xte = tr[features].to_numpy(float), te[features].to_numpy(float)
    t, y = tr.treated.to_numpy(int), tr.converted.to_numpy(int)
    z = t * y + (1 - t) * (1 - y)
    w = class_weights(t)
    ztr, zte = standardise(xtr, xte)
    mean_imputed = lambda x: np.where(np.isnan(x), np.nanmean(xtr, axis=0), x)
    scores, seconds = {}, {}

    def fit(key, f):
        t0 = time.perf_counter()
        scores[key] = f()
        seconds[key] = time.perf_counter() - t0

    def lr():
        return LogisticRegression(C=1.0, max_iter=2000, tol=1e-8)

    def two_model():
        mt, mc = lr().fit(ztr[t == 1], y[t == 1]), lr().fit(ztr[t == 0], y[t == 0])
        return mt.predict_proba(zte)[:, 1] - mc.predict_proba(zte)[:, 1]
    fit("sklearn:two-model", two_model)
    fit("sklearn:class", lambda: 2 * lr().fit(ztr, z, sample_weight=w).predict_proba(zte)[:, 1] - 1)
    fit("sklearn:gbc", lambda: 2 * GradientBoostingClassifier(random_state=SEED)
        .fit(mean_imputed(xtr), z, sample_weight=w).predict_proba(mean_imputed(xte))[:, 1] - 1)
    fit("xgboost:class", lambda: 2 * xgb.XGBClassifier(tree_method="hist", random_state=SEED, n_jobs=2)
        .fit(xtr, z, sample_weight=w).predict_proba(xte)[:, 1] - 1)
    for m in TAILOR_METHODS:
        sc = pd.read_csv(os.path.join(d, f"{name}-{m}.scores.csv"), dtype={"id": str, "user": str})
        sc = sc.rename(columns={sc.columns[0]: idcol}).set_index(idcol)["uplift"]
        scores[f"tailor:{m}"] = sc.reindex(te[idcol].astype(str)).to_numpy(float)
        seconds[f"tailor:{m}"] = float(open(os.path.join(d, f"{name}-{m}.seconds")).read())
        if np.isnan(scores[f"tailor:{m}"]).any():
            sys.exit(f"{name}: tailor's {m} scores miss test units")
    tt, yt = te.treated.to_numpy(int), te.converted.to_numpy(int)
    eff = te.effect.to_numpy(float) if "effect" in te.columns else None
    out = {"name": name, "train_units": len(tr), "test_units": len(te), "features": len(features),
           "base_rate": float(yt[tt == 0].mean()), "ate": float(yt[tt == 1].mean() - yt[tt == 0].mean()),
           "methods": {}}
    if eff is not None:
        scores["truth"], seconds["truth"] = eff, None
    for key in filter(scores.__contains__, LABELS):
        # the same resamples of the test units for every method
        r = measure(scores[key], tt, yt, eff, np.random.default_rng(SEED))
        r["seconds"] = seconds[key]
        out["methods"][key] = r
    # tailor's own held-out measure of the same scores (uplift report --csv): the two must agree
    for m in TAILOR_METHODS:
        p = os.path.join(d, f"{name}-{m}.report.json")
        if os.path.exists(p):
            q = json.load(open(p))["qini_coefficient"]
            out["methods"][f"tailor:{m}"]["tailor_report_qini"] = q
    tf = os.path.join(d, f"{name}-trees.model.json")
    trees = json.load(open(tf)).get("trees")
    if trees:
        g = json.loads(trees)["learner"]["gradient_booster"]["model"]
        out["trees_kept"] = int(g["gbtree_model_param"]["num_trees"])
    else:
        out["trees_kept"] = 0
    json.dump(out, open(os.path.join(d, f"{name}-results.json"), "w"), indent=1)


# ---- the table ------------------------------------------------------------------------------

def table(d, took, names):
    res = [json.load(open(os.path.join(d, f"{n}-results.json"))) for n in names]
    print("## Uplift on the test units, every method on the same split and features\n")
    for r in res:
        print(f"- {DATA.get(r['name'], r['name'])}: {r['train_units']:,} training units, {r['test_units']:,} test units, "
              f"{r['features']} features; control conversion {100 * r['base_rate']:.2f} %, observed effect "
              f"{100 * r['ate']:+.2f} points; tailor `trees` kept {r['trees_kept']} trees")
    print()
    print("| data set | method | Qini (± s.e.) | uplift @30 % | corr. with true effect "
          "| true effect, top 30 % (all) | train s |")
    print("|---|---|---|---|---|---|---|")
    for r in res:
        for key, label in filter(lambda kl: kl[0] in r["methods"], LABELS.items()):
            m = r["methods"][key]
            secs = "–" if m["seconds"] is None else f"{m['seconds']:.2f}"
            truth = (f"{m['true_corr']:.3f} | {100 * m['true_top30']:.2f} ({100 * m['true_all']:.2f}) pts"
                     if "true_corr" in m else "n/a | n/a")
            print(f"| {DATA.get(r['name'], r['name'])} | {label} | {m['qini']:.3f} (± {m['qini_se']:.3f}) "
                  f"| {100 * m['uplift_at_30']:+.2f} pts | {truth} | {secs} |")
    print("\n(Qini: tailor's coefficient, computed by one function for every method; its standard error from"
          f" {BOOTSTRAP} bootstrap resamples of the test units, the same resamples for every method. tailor's"
          " seconds are those of `uplift train` (reading the table included); Python's those of the fits)")
    notes, bad = [], []
    check = os.path.join(d, "world-check.txt")
    if os.path.exists(check):
        notes.append(open(check).read().strip())
    for r in res:
        for m in TAILOR_METHODS:
            x = r["methods"][f"tailor:{m}"]
            if "tailor_report_qini" in x and abs(x["tailor_report_qini"] - x["qini"]) > 1e-3:
                bad.append(f"{r['name']}: {m}'s Qini {x['qini']:.4f} here but {x['tailor_report_qini']:.4f} by "
                           "`uplift report`")
        tr, cl = r["methods"]["tailor:trees"], r["methods"]["tailor:class"]
        se = float(np.std(np.subtract(tr["qini_boot"], cl["qini_boot"]), ddof=1))
        corr = (f", correlation with the true effect {tr['true_corr'] - cl['true_corr']:+.3f}"
                if "true_corr" in tr else "")
        notes.append(f"{r['name']}: tailor trees {tr['qini'] - cl['qini']:+.3f} Qini against tailor class (paired "
                     f"bootstrap s.e. {se:.3f}){corr}")
        if tr["qini"] < cl["qini"] - max(2 * se, 0.01):
            bad.append(f"{r['name']}: tailor's trees trail its class transformation by {cl['qini'] - tr['qini']:.3f} "
                       "Qini")
    print()
    for s in notes:
        print(f"- {s}")
    print()
    if bad:
        print(f"status: FAIL -- {'; '.join(bad)} ({took})")
        return 1
    print(f"status: ok -- tailor's Qini agrees with `uplift report`, trees not below the line ({took})")
    return 0


def main():
    a = sys.argv[1:]
    if len(a) >= 9 and a[0] == "world":
        world(a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8:])
    elif len(a) == 2 and a[0] == "synth":
        synth(a[1])
    elif len(a) == 4 and a[0] == "peers":
        peers(a[1], a[2], a[3])
    elif len(a) >= 4 and a[0] == "table":
        s = int(a[2])
        sys.exit(table(a[1], f"in {s // 60} min {s % 60} s", a[3:]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
