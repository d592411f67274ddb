#!/usr/bin/env bash
# test_challenger.sh -- the gradient-boosted challenger beside the
# scorecard. On applicants whose risk has an interaction a scorecard cannot
# add up (one of two conditions, not both), outliers and missing incomes: the
# challenger's cross-validated AUC beats the scorecard's on the very folds
# the scorecard's own cross-validation uses; its PD never rises as a
# column constrained to the falling trend of the scorecard and of the data
# rises (a column whose risk turns with another is left free); an applicant's
# reasons name the columns that make it risky; the saved challenger scores
# as it did when trained (its training AUC again); tuned, its trees are
# chosen on folds of the training rows alone; measured while trained on
# folds held out (--folds), it gives cv's figures and keeps them; the
# report puts the two side by side with PSI against a baseline, and its
# page has the section;
# the store keeps it beside the scorecard; clear errors.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

python3 - "$TMP/apps.csv" "$TMP/later.csv" <<'EOF'
import math, random, sys
random.seed(11)
def rows(path, n, shift):
    with open(path, "w") as f:
        f.write("id,income,utilisation,age,region,tenure,channel,default\n")
        for i in range(n):
            inc = math.exp(random.gauss(8.5, 0.6))
            util = min(0.999, random.random() + shift)
            age = random.randint(18, 80)
            ten = random.random() * 10
            reg = random.choice(["north", "south", "east", "west"])
            ch = random.choice(["web", "app", "branch"])
            either = (util > 0.5) != (ten > 5)  # one or the other, not both: no line adds it up
            z = -3.0 + 1.0 * util - 0.8 * (math.log(inc) - 8.5) + 2.5 * either + (0.4 if reg == "south" else 0)
            bad = random.random() < 1 / (1 + math.exp(-z))
            inc_s = "" if random.random() < 0.05 else ("%.0f" % (inc * 1000 if random.random() < 0.01 else inc))
            f.write("a%d,%s,%.3f,%d,%s,%.2f,%s,%d\n" % (i, inc_s, util, age, reg, ten, ch, bad))
rows(sys.argv[1], 4000, 0)
rows(sys.argv[2], 2000, 0.25)
EOF
M=$TMP/card.json
"$TAILOR" score train --csv "$TMP/apps.csv" --target default --id id --out "$M" --challenger --trees 200 --json >"$TMP/train.json"
check "train --challenger: exit 0" "$?" 0
check "the challenger is written beside the scorecard" "$(test -s "$TMP/card.challenger.json" && echo yes)" yes
check_cmd "train: the challenger's figures, income constrained to the trend, utilisation (whose risk turns with tenure) free" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
x = d["challenger"]
assert x["trees"] == 200 and x["depth"] == 4 and x["columns"] == 6 and x["monotone_columns"] >= 1, x
assert x["auc"] > d["auc"], d
m = json.load(open(sys.argv[2]))
assert m["format"] == "tailor-challenger" and isinstance(m["trees"], str), m.keys()
cols = {c["name"]: c for c in m["columns"]}
assert cols["income"]["monotone"] == -1 and cols["utilisation"]["monotone"] == 0, cols
assert cols["region"]["type"] == "categorical", cols
assert sorted(cols["region"]["categories"]) == ["east", "north", "south", "west"], cols' "$TMP/train.json" "$TMP/card.challenger.json"

"$TAILOR" score cv --csv "$TMP/apps.csv" --target default --id id --challenger --trees 200 --json >"$TMP/cv.json"
"$TAILOR" score cv --csv "$TMP/apps.csv" --target default --id id --json >"$TMP/cv0.json"
check_cmd "cv: the scorecard's folds are the same, the challenger beats it on them" python3 -c '
import json, sys
d, d0 = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert d["auc_folds"] == d0["auc_folds"], (d["auc_folds"], d0["auc_folds"])
x = d["challenger"]
assert len(x["auc_folds"]) == 5 and x["auc"] > d["auc"] + 0.01, (x, d["auc"])
assert all(b > a for a, b in zip(d["auc_folds"], x["auc_folds"])), d' "$TMP/cv.json" "$TMP/cv0.json"

"$TAILOR" score cv --csv "$TMP/apps.csv" --target default --id id --challenger --tune --folds 3 --json >"$TMP/cvt.json"
check_cmd "cv --tune: each fold's trees chosen on its training rows alone, from the grid, still ahead" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
x = d["challenger"]
assert len(x["tuned"]) == 3 and len(x["auc_folds"]) == 3, x
assert all(f["depth"] in (2, 3, 4, 6) and f["trees"] in (100, 200, 300, 500) for f in x["tuned"]), x
assert x["auc"] > d["auc"] + 0.01, (x, d["auc"])' "$TMP/cvt.json"
"$TAILOR" score train --csv "$TMP/apps.csv" --target default --id id --out "$TMP/t.json" --challenger --tune --json >"$TMP/tt.json"
check_cmd "train --tune: the chosen trees and their held-out AUC" python3 -c '
import json, sys
x = json.load(open(sys.argv[1]))["challenger"]
assert x["depth"] in (2, 3, 4, 6) and x["trees"] in (100, 200, 300, 500) and 0.5 < x["tuned_auc"] < x["auc"], x' "$TMP/tt.json"
"$TAILOR" score train --csv "$TMP/apps.csv" --target default --id id --out "$TMP/h.json" --challenger --trees 200 --folds 5 --json >"$TMP/th.json"
check_cmd "train --folds: both measured on the folds of cv, the same figures, kept with the challenger" python3 -c '
import json, sys
x, cv, m = json.load(open(sys.argv[1]))["challenger"], json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
h = x["held_out"]
assert h["folds"] == 5 and abs(h["scorecard_auc"] - cv["auc"]) < 1e-9 and abs(h["challenger_auc"] - cv["challenger"]["auc"]) < 1e-9, (h, cv)
assert m["held_out"]["challenger_auc"] == h["challenger_auc"] and h["challenger_auc"] < x["auc"], (m["held_out"], x)' \
    "$TMP/th.json" "$TMP/cv.json" "$TMP/h.challenger.json"
"$TAILOR" score train --csv "$TMP/apps.csv" --target default --id id --out "$TMP/ht.json" --challenger --tune --folds 3 --json >"$TMP/tht.json"
check_cmd "train --tune --folds: the tuning repeated inside each fold, as cv --tune does" python3 -c '
import json, sys
h, cv = json.load(open(sys.argv[1]))["challenger"]["held_out"], json.load(open(sys.argv[2]))
assert h["folds"] == 3 and abs(h["challenger_auc"] - cv["challenger"]["auc"]) < 1e-9, (h, cv["challenger"])' "$TMP/tht.json" "$TMP/cvt.json"

# income rises, nothing else moves: the risk never rises
python3 - "$TMP/mono.csv" <<'EOF'
import sys
with open(sys.argv[1], "w") as f:
    f.write("id,income,utilisation,age,region,tenure,channel\n")
    for k in range(50):
        f.write("m%d,%d,0.700,40,north,2.00,web\n" % (k, 500 + 400 * k))
    f.write("risky,300,0.95,40,south,1.00,web\n")
EOF
"$TAILOR" score apply --csv "$TMP/mono.csv" --id id --model "$M" --challenger --json >"$TMP/mono.json"
check "apply --challenger: exit 0" "$?" 0
check_cmd "apply: the PD falls with income alone; the risky applicant told why" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
pd = [x["pd"] for x in r[:50]]
assert all(b <= a for a, b in zip(pd, pd[1:])) and pd[-1] < pd[0], pd
k = r[50]
assert k["id"] == "risky" and k["band"] == "E" and k["reasons"][0] in ("income", "utilisation", "tenure"), k
assert set(k["reasons"]) >= {"income", "utilisation"}, k' "$TMP/mono.json"

"$TAILOR" score report --csv "$TMP/apps.csv" --target default --id id --model "$M" --challenger --json >"$TMP/self.json"
check_cmd "the saved challenger scores as trained: its training AUC again" python3 -c '
import json, sys
t, r = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
c = r["champion_challenger"]
assert abs(c["challenger"]["auc"] - t["challenger"]["auc"]) < 1e-9, (c["challenger"]["auc"], t["challenger"]["auc"])
assert abs(c["scorecard"]["auc"] - t["auc"]) < 1e-9, c' "$TMP/train.json" "$TMP/self.json"

"$TAILOR" score report --csv "$TMP/later.csv" --baseline "$TMP/apps.csv" --target default --id id --model "$M" \
    --challenger --html "$TMP/cc.html" --json >"$TMP/rep.json"
check "report --challenger: exit 0" "$?" 0
check_cmd "report: both models side by side, calibration and PSI of each" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
c = d["champion_challenger"]
for m in ("scorecard", "challenger"):
    v = c[m]
    assert 0.5 < v["auc"] < 1 and 0 < v["ks"] < 1 and 0 < v["brier"] < 0.25, v
    assert len(v["deciles"]) == 10 and sum(x["rows"] for x in v["deciles"]) == d["rows"], v
    assert v["score_psi"] > 0.1 if m == "scorecard" else v["score_psi"] > 0, v
assert 0 < c["same_band"] <= 1, c
assert abs(c["scorecard"]["auc"] - d["auc"]) < 1e-12, c' "$TMP/rep.json"
check "report --html: the champion and challenger section" "$(grep -c 'Champion and challenger' "$TMP/cc.html")" 1
check "... without held-out figures when training measured none" "$(grep -c 'folds held out of its training rows' "$TMP/cc.html")" 0
"$TAILOR" score report --csv "$TMP/later.csv" --target default --id id --model "$TMP/h.json" --challenger --html "$TMP/hh.html" >/dev/null
check "... with them when it did" "$(python3 -c '
import json, re, sys
h = json.load(open(sys.argv[2]))["held_out"]
page = open(sys.argv[1]).read()
print(bool(re.search(r"on 5 folds held out of its training rows.*AUC %.4f for the scorecard, %.4f for the challenger" % (h["scorecard_auc"], h["challenger_auc"]), page, re.S)))' "$TMP/hh.html" "$TMP/h.challenger.json")" True

# the store keeps it beside the scorecard
D=$TMP/data
"$TAILOR" --data "$D" score train --csv "$TMP/apps.csv" --target default --id id --challenger --trees 50 >/dev/null
check "train --challenger into the store: exit 0" "$?" 0
"$TAILOR" --data "$D" score apply --csv "$TMP/mono.csv" --id id --challenger --json >"$TMP/store.json"
check "apply --challenger from the store: 51 results" "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$TMP/store.json")" 51

# errors
"$TAILOR" score train --csv "$TMP/apps.csv" --target default --id id --out "$TMP/x.json" --trees 10 >/dev/null 2>&1
check "--trees without --challenger: exit 2" "$?" 2
"$TAILOR" score train --csv "$TMP/apps.csv" --target default --id id --out "$TMP/x.json" --folds 5 >/dev/null 2>&1
check "train --folds without --challenger: exit 2" "$?" 2
python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
m["held_out"]["challenger_auc"] = 1.5
json.dump(m, open(sys.argv[2], "w"))' "$TMP/h.challenger.json" "$TMP/badheld.json"
"$TAILOR" score apply --csv "$TMP/mono.csv" --id id --challenger-model "$TMP/badheld.json" --challenger 2>"$TMP/err" >/dev/null
check "a held-out AUC out of range: a damaged challenger" "$?:$(grep -c 'damaged challenger' "$TMP/err")" "1:1"
"$TAILOR" score apply --csv "$TMP/mono.csv" --id id --model "$TMP/x.json" --challenger >/dev/null 2>"$TMP/err"
check "apply --challenger with none trained: exit 1" "$?" 1
check "it says how to train one" "$(grep -c 'score train --challenger' "$TMP/err")" 1
printf '{"format":"tailor-challenger","version":1}\n' >"$TMP/bad.json"
"$TAILOR" score apply --csv "$TMP/mono.csv" --id id --challenger-model "$TMP/bad.json" --challenger 2>"$TMP/err" >/dev/null
check "a damaged challenger: exit 1" "$?" 1
check "it is named damaged" "$(grep -c 'damaged challenger' "$TMP/err")" 1
cut -d, -f1,2,3,4,5,7 "$TMP/mono.csv" >"$TMP/short.csv"
"$TAILOR" score apply --csv "$TMP/short.csv" --id id --model "$M" --challenger 2>"$TMP/err" >/dev/null
check "a table without a column the challenger needs: exit 1, naming it" "$?:$(grep -c '"tenure"' "$TMP/err")" "1:1"
finish
