#!/usr/bin/env bash
# test_score.sh -- `tailor score` and `tailor propensity`. On a crafted
# table: bad records rejected with line and reason (read = kept + rejected),
# a score that is the sum of the points the saved scorecard lists for each
# value, bands and reason codes, results in input order, validation by
# decile and band, PSI that sees a shifted feature, propensity output, a
# feature fitted to noise left out by its chi-square test, clear errors. On a generated world: the users' profiles scored against its
# latent risk. On German Credit and Bank Marketing (skipped when absent):
# 5-fold cross-validated AUC of at least 0.79 for both, duration unused.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# 2,000 applicants: risk falls with income, rises with utilisation, and
# depends on the region; some incomes missing; two broken records
python3 - "$TMP/apps.csv" <<'EOF'
import random, sys
random.seed(7)
with open(sys.argv[1], "w") as f:
    f.write("id,income,utilisation,region,default\n")
    for i in range(2000):
        inc = random.lognormvariate(8, 0.5)
        util = random.random()
        reg = random.choice(["north", "south", "east", "west"])
        risk = 0.05 + 0.3 * util + (0.1 if reg == "south" else 0) - min(inc, 9000) / 60000
        bad = 1 if random.random() < max(risk, 0.01) else 0
        income = "" if i % 17 == 0 else f"{inc:.0f}"
        f.write(f"a{i},{income},{util:.3f},{reg},{bad}\n")
        if i == 500:
            f.write("broken,1,2\n")
        if i == 900:
            f.write("b901,1,0.5,north,0,extra\n")
EOF
M=$TMP/card.json
"$TAILOR" score train --csv "$TMP/apps.csv" --target default --id id --out "$M" --rejects "$TMP/rej.csv" --json >"$TMP/train.json" 2>"$TMP/train.err"
check "train: exit 0" "$?" 0
check "train: read = kept + rejected" "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["read"], d["rows"] + d["rejected"], d["rejected"])' "$TMP/train.json")" "2002 2002 2"
check_cmd "the rejects are listed with line and reason" python3 -c '
import csv, sys
r = list(csv.DictReader(open(sys.argv[1])))
assert [(x["line"], x["reason"]) for x in r] == [("503", "field_count"), ("904", "field_count")], r' "$TMP/rej.csv"
check_cmd "train: income, utilisation and region kept, a good AUC" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
kept = {f["name"] for f in d["features"] if f["kept"]}
assert kept == {"income", "utilisation", "region"}, d
assert d["auc"] > 0.65 and 0 < d["ks"] < 1, d' "$TMP/train.json"

"$TAILOR" score apply --csv "$TMP/apps.csv" --model "$M" --id id --json >"$TMP/apply.json" 2>/dev/null
check "apply: exit 0" "$?" 0
if python3 - "$TMP/apply.json" "$M" "$TMP/apps.csv" <<'EOF'; then pass; else fail "apply does not add up the scorecard's points"; fi
import bisect, csv, json, math, sys
res = json.load(open(sys.argv[1]))
card = json.load(open(sys.argv[2]))
rows = [r for r in csv.DictReader(open(sys.argv[3])) if None not in r.values() and len(r) == 5 and None not in r]
rows = [r for r in rows if r["id"] not in ("broken", "b901")]
assert [x["id"] for x in res] == [r["id"] for r in rows], "results not in input order"
factor = card["pdo"] / math.log(2)
offset = card["base_points"] - factor * math.log(card["base_odds"])
for x, r in zip(res, rows):
    total = 0
    for f in card["features"]:
        if not f["kept"]:
            continue
        v = r[f["name"]]
        pts = [b["points"] for b in f["bins"]]
        if v == "":
            k = f["missing_bin"] if "missing_bin" in f else min(range(len(pts)), key=lambda i: f["bins"][i]["woe"])
        elif f["type"] == "numeric":
            k = bisect.bisect_left(f["cuts"], float(v))
        else:
            k = f["category_bins"][f["categories"].index(v)]
        total += pts[k]
    assert abs(x["score"] - total) < 1e-9, (x, total)
    pd = 1 / (1 + math.exp((total - offset) / factor))
    assert abs(x["pd"] - pd) < 1e-9, (x, pd)
    band = "ABCDE"[sum(pd >= t for t in card["band_pd"])]
    assert x["band"] == band, (x, band)
    assert len(x["reasons"]) <= 4 and set(x["reasons"]) <= {"income", "utilisation", "region"}, x
EOF
# an applicant with the riskiest values gets reasons; one with the best none
printf 'id,income,utilisation,region\nworst,100,0.99,south\nbest,20000,0.01,north\n' >"$TMP/two.csv"
"$TAILOR" score apply --csv "$TMP/two.csv" --model "$M" --id id --json >"$TMP/two.json"
check_cmd "reason codes: the worst applicant is told why, the best is not" python3 -c '
import json, sys
w, b = json.load(open(sys.argv[1]))
assert w["band"] > b["band"] and w["score"] < b["score"], (w, b)
assert set(w["reasons"]) == {"income", "utilisation", "region"} and b["reasons"] == [], (w, b)' "$TMP/two.json"

# validation and stability: the same population, then one whose
# utilisation moved up
python3 - "$TMP/apps.csv" "$TMP/shifted.csv" <<'EOF2'
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
with open(sys.argv[2], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(rows[0])
    for r in rows[1:]:
        if len(r) == 5:
            r[2] = "%.3f" % min(float(r[2]) + 0.4, 1.0)
            w.writerow(r)
EOF2
"$TAILOR" score report --csv "$TMP/shifted.csv" --baseline "$TMP/apps.csv" --model "$M" --json >"$TMP/rep.json" 2>/dev/null
check "report: exit 0" "$?" 0
check_cmd "report: deciles and bands add up, risk falls with the score, PSI sees the shift" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
dec = d["deciles"]
assert sum(x["rows"] for x in dec) == d["rows"] == 2000 and sum(x["bads"] for x in dec) == d["bads"], d
assert sum(b["rows"] for b in d["bands"].values()) == d["rows"], d
assert dec[0]["bad_rate"] > dec[-1]["bad_rate"] and dec[0]["score_max"] <= dec[-1]["score_min"], dec
assert all(0 <= x["mean_pd"] <= 1 for x in dec)
p = d["psi"]
assert p["features"]["utilisation"] > 0.25 and p["features"]["income"] < 0.10, p
assert p["score"] > 0.10 and p["reading"] in ("watch", "shifted"), p' "$TMP/rep.json"

# the store's users: trained on their profiles against the generated world's
# recorded defaults, and checked against its latent risk
W=$TMP/world
"$TAILOR" gen --users 4000 --items 300 --days 30 --seed 5 --out "$W" >/dev/null
"$TAILOR" --data "$TMP/wd" import "$W"/{users,items,credit,events}.csv >/dev/null 2>&1
"$TAILOR" --data "$TMP/wd" profile build >/dev/null
"$TAILOR" --data "$TMP/wd" score train --users --json >"$TMP/ut.json"
check "train --users: exit 0" "$?" 0
"$TAILOR" --data "$TMP/wd" score apply --users --json >"$TMP/ua.json"
check_cmd "the users' score separates the riskiest tenth of the latent risk, without repayment leakage" python3 - "$TMP/ut.json" "$TMP/ua.json" "$W/truth.json" <<'EOF2'
import json, sys
t, a, truth = (json.load(open(p)) for p in sys.argv[1:4])
names = {f["name"] for f in t["features"]}
assert "repayments" not in names and "repay_amount" not in names, "leaking columns used"
assert t["auc"] > 0.65 and t["rows"] + t["without_outcome"] == t["read"] == 4000, t
risk = {u["user"]: u["risk"] for u in truth["user_truth"]}
res = [(risk[x["id"]], x["score"]) for x in a]
assert len(res) == 4000
cut = sorted(r for r, _ in res)[int(0.9 * len(res))]
pos = [s for r, s in res if r >= cut]
neg = [s for r, s in res if r < cut]
# AUC of "lower score = riskier" for the top decile of latent risk
wins = sum((p < n) + 0.5 * (p == n) for p in pos for n in neg)
auc = wins / (len(pos) * len(neg))
assert auc > 0.6, auc
print(f"latent-risk AUC {auc:.3f}", file=sys.stderr)
EOF2

# propensity: the same machinery aimed at an event, any shape, every feature
"$TAILOR" --data "$TMP/pd" propensity train --csv "$TMP/apps.csv" --target default --id id --json >"$TMP/pt.json" 2>/dev/null
check_cmd "propensity: finer bins, every feature, saved apart" python3 -c '
import json, os, sys
d = json.load(open(sys.argv[1]))
assert d["scorecard"].endswith("models/propensity.json") and os.path.exists(d["scorecard"]), d
assert all(f["kept"] for f in d["features"]), d
assert max(f["bins"] for f in d["features"]) > 8, d' "$TMP/pt.json"
"$TAILOR" --data "$TMP/pd" propensity apply --csv "$TMP/two.csv" --id id --json >"$TMP/pa.json"
check_cmd "propensity apply: an id and a probability per row" python3 -c '
import json, sys
w, b = json.load(open(sys.argv[1]))
assert set(w) == {"id", "p"} and w["id"] == "worst" and 0 < b["p"] < w["p"] < 1, (w, b)' "$TMP/pa.json"

# the scorecard's HTML page
"$TAILOR" report scorecard --html "$TMP/card.html" --csv "$TMP/shifted.csv" --baseline "$TMP/apps.csv" --model "$M" >/dev/null
check "report scorecard: exit 0" "$?" 0
check_cmd "report scorecard: every section, chart and kept feature" python3 -c '
import re, sys
h = open(sys.argv[1]).read()
for s in ("Goods and bads over the score", "Default rate by band", "Calibration by score decile",
          "Stability against the baseline", "The scorecard", "income", "utilisation", "region",
          "shifted"):
    assert s in h, s
assert h.count("<svg") == 4 + 3 and h.count("<polyline") == 6, (h.count("<svg"), h.count("<polyline"))
assert not re.search(r"\bnan\b|\binf\b", h)' "$TMP/card.html"

# a shop among 60 that says nothing of the risk reaches the IV of income on
# 1,000 rows (its groups follow the noise): the chi-square test over its 60
# categories leaves it out, with the chance it is noise; --alpha 1 keeps it
python3 - "$TMP/noise.csv" <<'EOF'
import random, sys
random.seed(2)
with open(sys.argv[1], "w") as f:
    f.write("id,income,shop,default\n")
    for i in range(1000):
        inc = random.lognormvariate(8, 0.6)
        bad = 1 if random.random() < max(0.45 - min(inc, 9000) / 18000, 0.03) else 0
        f.write(f"a{i},{inc:.0f},s{random.randrange(60)},{bad}\n")
EOF
"$TAILOR" score train --csv "$TMP/noise.csv" --target default --id id --out "$TMP/noise.json" --json >"$TMP/noise-05.json"
"$TAILOR" score train --csv "$TMP/noise.csv" --target default --id id --out "$TMP/noise1.json" --alpha 1 --json >"$TMP/noise-1.json"
check_cmd "a feature fitted to noise is left out by its chi-square test, kept without the test" python3 -c '
import json, sys
d, d1, m = (json.load(open(a)) for a in sys.argv[1:4])
f = {x["name"]: x for x in d["features"]}
f1 = {x["name"]: x for x in d1["features"]}
assert f["income"]["kept"] and f["income"]["p"] < 0.001, f["income"]
assert not f["shop"]["kept"] and f["shop"]["iv"] > 0.2 and f["shop"]["p"] > 0.05, f["shop"]
assert f1["shop"]["kept"] and f1["shop"]["p"] == f["shop"]["p"], f1["shop"]
assert {x["name"]: x["p"] for x in m["features"]} == {k: v["p"] for k, v in f.items()}, m["features"]' \
    "$TMP/noise-05.json" "$TMP/noise-1.json" "$TMP/noise.json"
"$TAILOR" report scorecard --html "$TMP/noise.html" --csv "$TMP/noise.csv" --model "$TMP/noise.json" >/dev/null
check_cmd "the scorecard's page lists the candidates left out with their IV and p" python3 -c '
import json, re, sys
page, m = open(sys.argv[1]).read(), json.load(open(sys.argv[2]))
shop = [f for f in m["features"] if f["name"] == "shop"][0]
part = page.split("Candidates left out", 1)[1]
assert re.search(r"shop</td>\s*<td[^>]*>categorical</td>\s*<td[^>]*>%.4f</td>\s*<td[^>]*>%s</td>" % (shop["iv"], "%.3g" % shop["p"]), part), part[:2000]
assert "income</td>" not in part' "$TMP/noise.html" "$TMP/noise.json"
"$TAILOR" score cv --csv "$TMP/noise.csv" --target default --id id --alpha 0 >/dev/null 2>&1
check "--alpha 0: exit 2" "$?" 2

# errors
"$TAILOR" score train --csv "$TMP/apps.csv" --target nothing --out "$TMP/x.json" >/dev/null 2>"$TMP/err"
check "train with an unknown target: exit 1" "$?" 1
check_cmd "... and says which" grep -q 'no target column "nothing"' "$TMP/err"
"$TAILOR" score train --csv "$TMP/apps.csv" --out "$TMP/x.json" >/dev/null 2>&1
check "train without --target: exit 2" "$?" 2
printf 'id,region\nx,north\n' >"$TMP/short.csv"
"$TAILOR" score apply --csv "$TMP/short.csv" --model "$M" >/dev/null 2>"$TMP/err"
check "apply without a feature's column: exit 1" "$?" 1
check_cmd "... and names it" grep -q 'needs a column "income"' "$TMP/err"
printf '{"format": "tailor-scorecard", "version": 1}' >"$TMP/bad.json"
"$TAILOR" score apply --csv "$TMP/apps.csv" --model "$TMP/bad.json" >/dev/null 2>"$TMP/err"
check "a damaged scorecard: exit 1" "$?" 1
check_cmd "... says so" grep -q "damaged" "$TMP/err"
"$TAILOR" score train --csv "$TMP/apps.csv" --target default --bands 5,2,10,20 >/dev/null 2>&1
check "bands out of order: exit 2" "$?" 2

G=$DATASETS/german-credit/german.data
if [[ ! -f $G ]]; then
    echo "SKIP: German Credit not found at $G"
    finish
fi
"$TAILOR" score cv --csv "$G" --preset german-credit --folds 5 --seed 0 --json >"$TMP/cv.json"
auc=$(jget auc <"$TMP/cv.json")
check_cmd "German Credit 5-fold AUC >= 0.79 ($auc)" python3 -c "assert $auc >= 0.79"
check "German Credit: every row in a fold" "$(jget rows <"$TMP/cv.json")" 1000
B=$DATASETS/bank-marketing/bank-additional-full.csv
if [[ ! -f $B ]]; then
    echo "SKIP: Bank Marketing not found at $B"
    finish
fi
"$TAILOR" --data "$TMP/bank" propensity train --csv "$B" --preset bank-marketing --json >"$TMP/bt.json"
check_cmd "bank marketing: duration is not used" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert "duration" not in {f["name"] for f in d["features"]} and d["rows"] == 41188, d' "$TMP/bt.json"
"$TAILOR" propensity cv --csv "$B" --preset bank-marketing --json >"$TMP/bcv.json"
bauc=$(jget auc <"$TMP/bcv.json")
check_cmd "bank marketing propensity 5-fold AUC >= 0.79 ($bauc)" python3 -c "assert $bauc >= 0.79"
finish
