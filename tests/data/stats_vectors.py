#!/usr/bin/python3
"""Writes stats_vectors.txt: cases for tests/unit/test_experiment.c with the
answers of scipy.stats (Debian's python3-scipy) and, for the intervals of
two proportions, statsmodels (python3-statsmodels). Run it again only to add
cases; tailor never needs either itself.

Each line: NAME ARG... = EXPECTED...
"""
import numpy as np
from scipy import optimize, special, stats
from statsmodels.stats.proportion import confint_proportions_2indep, score_test_proportions_2indep

out = []
def line(name, args, exp):
    out.append("%s %s = %s" % (name, " ".join(repr(float(a)) for a in args),
                               " ".join(repr(float(e)) for e in exp)))

for p in [1e-12, 1e-6, 0.001, 0.01, 0.024, 0.025, 0.1, 0.3, 0.5, 0.7, 0.975, 0.99, 0.999999]:
    line("norm_ppf", [p], [stats.norm.ppf(p)])
for z in [-8, -3.2, -1.96, -0.5, 0, 0.3, 1.644, 2.5, 6]:
    line("norm_cdf", [z], [stats.norm.cdf(z)])
for df in [1, 2, 3.5, 7, 19.3, 30, 118.7, 1000, 25000.5]:
    for t in [-12, -2.5, -0.7, 0, 0.01, 1.3, 2.0, 4.4, 40]:
        line("t_cdf", [t, df], [stats.t.cdf(t, df)])
    for p in [1e-9, 0.001, 0.025, 0.3, 0.5, 0.8, 0.975, 0.9995]:
        # scipy's t.ppf is off by up to 1e-9 relative in places (its own
        # t.cdf of the answer misses p by 4e-10): the quantile is solved
        # from scipy's CDF instead, in the tail nearer p
        q = min(p, 1 - p)
        x = 0.0 if p == 0.5 else optimize.brentq(lambda v: stats.t.sf(v, df) - q, 0, 1e12,
                                                 xtol=1e-300, rtol=8.9e-16, maxiter=2000)
        line("t_ppf", [p, df], [x if p > 0.5 else -x])
for k in [1, 2, 3, 5, 10.5, 40, 200]:
    for x in [0.001, 0.5, 1, 3.84, 9, 30, 120, 400]:
        line("chi2_sf", [x, k], [stats.chi2.sf(x, k)])
for a, b, x in [(0.5, 0.5, 0.2), (2, 3, 0.4), (10, 0.5, 0.95), (0.5, 40, 0.01), (300, 200, 0.6),
                (1.5, 2.5, 0.999), (5, 5, 0.5)]:
    line("betainc", [a, b, x], [special.betainc(a, b, x)])
for a, x in [(0.5, 0.1), (1, 2), (3.5, 1), (10, 12), (50, 45), (100, 140), (0.5, 30)]:
    line("gammaincc", [a, x], [special.gammaincc(a, x)])
for k, n, conf in [(0, 10, 0.95), (3, 10, 0.95), (50, 1000, 0.95), (999, 1000, 0.9), (12345, 60000, 0.99),
                   (1, 1, 0.95)]:
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=conf, method="wilson")
    line("wilson", [k, n, conf], [ci.low, ci.high])
# two proportions: the pooled z-test is the chi-square test of the 2x2 table;
# the difference's interval is Newcombe's hybrid score (method 10) and the
# ratio's the Miettinen-Nurminen score interval, as statsmodels computes them
# (Debian's python3-statsmodels), zero cells included
def mn_ratio_ci(ka, na, kb, nb, conf):
    """The ratio (b over a) where statsmodels' Miettinen-Nurminen score
    statistic crosses the normal quantile, found by brentq in log ratio:
    its closed form fails when a group converted wholly (complex roots, or a
    bound at the estimate), so it is only compared where both groups are
    strictly between none and all."""
    if ka == 0 and kb == 0:
        return np.nan, np.nan
    q = stats.norm.ppf(1 - (1 - conf) / 2)
    def z(t):
        r = score_test_proportions_2indep(kb, nb, ka, na, value=np.exp(t), compare="ratio",
                                          correction=True, return_results=True)
        v = float(np.real(r.statistic))
        return 0.0 if np.isnan(v) else v  # 0 / 0 at the estimate
    def root(target):
        start = np.log((kb + 0.5) / (nb + 1)) - np.log((ka + 0.5) / (na + 1))
        below = z(start) < target
        step, near = 0.5, start
        while True:
            far = start + (-step if below else step)
            if abs(far) > 300:
                return 0.0 if below else np.inf
            if (z(far) < target) != below:
                break
            near, step = far, step * 2
        return np.exp(optimize.brentq(lambda t: z(t) - target, min(near, far), max(near, far),
                                      xtol=1e-15, rtol=8.9e-16, maxiter=500))
    lo, hi = root(q), root(-q)
    if 0 < ka < na and 0 < kb < nb:
        c = confint_proportions_2indep(kb, nb, ka, na, compare="ratio", method="score", correction=True,
                                       alpha=1 - conf)
        assert abs(c[0] - lo) < 1e-9 * lo and abs(c[1] - hi) < 1e-9 * hi, (ka, na, kb, nb, c, lo, hi)
    return lo, hi
for ka, na, kb, nb in [(120, 2000, 150, 2000), (31, 1000, 30, 1010), (500, 9000, 610, 9100),
                       (4, 50, 11, 55), (2400, 100000, 2600, 100000),
                       (0, 21, 5, 70), (5, 70, 0, 21), (0, 21, 0, 30), (0, 1000, 3, 1000),
                       (5, 70, 21, 21), (21, 21, 5, 70), (30, 30, 30, 30), (0, 40, 40, 40)]:
    pa, pb = ka / na, kb / nb
    if ka + kb in (0, na + nb):
        z, p = 0.0, 1.0  # no one or everyone converted: scipy refuses the table; no evidence
    else:
        chi2, p, _, _ = stats.chi2_contingency([[ka, na - ka], [kb, nb - kb]], correction=False)
        z = np.sign(pb - pa) * np.sqrt(chi2)
    lo, hi = confint_proportions_2indep(kb, nb, ka, na, compare="diff", method="newcomb")
    rlo, rhi = mn_ratio_ci(ka, na, kb, nb, 0.95)
    line("prop", [ka, na, kb, nb], [pb - pa, lo, hi, z, p, pb / pa - 1 if ka else np.nan, rlo - 1, rhi - 1])
# Welch: summary statistics of two samples
rng = np.random.default_rng(7)
for na, nb, shift in [(30, 40, 0.5), (200, 180, 0.0), (1000, 1200, 0.08), (12, 9, 3.0), (5000, 5000, -0.02)]:
    a = rng.gamma(2.0, 10.0, na)
    b = rng.gamma(2.0, 10.0, nb) + shift * 10
    ma, va, mb, vb = a.mean(), a.var(ddof=1), b.mean(), b.var(ddof=1)
    r = stats.ttest_ind_from_stats(mb, np.sqrt(vb), nb, ma, np.sqrt(va), na, equal_var=False)
    sa, sb = va / na, vb / nb
    df = (sa + sb) ** 2 / (sa ** 2 / (na - 1) + sb ** 2 / (nb - 1))
    q = stats.t.ppf(0.975, df)
    d = mb - ma
    line("welch", [ma, va, na, mb, vb, nb], [d, d - q * np.sqrt(sa + sb), d + q * np.sqrt(sa + sb),
                                              r.statistic, df, r.pvalue])
for obs, share in [([1010, 4480, 4510], [0.1, 0.45, 0.45]), ([98, 102], [0.5, 0.5]),
                   ([900, 4600, 4500], [0.1, 0.45, 0.45]), ([5, 30, 31, 34], [0.1, 0.3, 0.3, 0.3])]:
    f = np.array(share) / sum(share) * sum(obs)
    r = stats.chisquare(obs, f)
    line("chisquare%d" % len(obs), obs + share, [r.statistic, r.pvalue])
# Holm and Benjamini-Hochberg
def holm(p):
    p = np.asarray(p); m = len(p); o = np.argsort(p, kind="stable")
    adj = np.minimum(1, np.maximum.accumulate((m - np.arange(m)) * p[o]))
    r = np.empty(m); r[o] = adj; return r
def bh(p):
    p = np.asarray(p); m = len(p); o = np.argsort(p, kind="stable")
    adj = np.minimum(1, np.minimum.accumulate((p[o] * m / (np.arange(m) + 1))[::-1])[::-1])
    r = np.empty(m); r[o] = adj; return r
for ps in [[0.01, 0.04, 0.03, 0.005], [0.2, 0.001, 0.049, 0.5, 0.012, 0.3]]:
    line("holm%d" % len(ps), ps, holm(ps))
    line("bh%d" % len(ps), ps, bh(ps))

with open(__file__.replace(".py", ".txt"), "w") as f:
    f.write("# scipy %s, statsmodels %s: see stats_vectors.py\n" % (__import__("scipy").__version__,
                                                                __import__("statsmodels").__version__))
    f.write("\n".join(out) + "\n")
