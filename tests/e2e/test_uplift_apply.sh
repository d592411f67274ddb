#!/usr/bin/env bash
# test_uplift_apply.sh -- `uplift apply` projects from a model only as far as
# held-out data back it: training keeps the held-out Qini in the model
# file; a model whose held-out Qini is not above zero, or was never
# measured, gets a warning in the text and `supported_by_held_out: false`
# with the warning in the JSON; a positive one gets neither.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

W=$TMP/world
D=$TMP/d
M=$TMP/model.json
"$TAILOR" gen --users 300 --items 20 --days 10 --seed 9 --dirty 0 --out "$W" >/dev/null
"$TAILOR" --data "$D" import "$W"/{users,items,events}.csv >/dev/null 2>&1
"$TAILOR" --data "$D" profile build >/dev/null
# an experiment as a table over two profile columns
python3 - >"$TMP/exp.csv" <<'PY'
import random
r = random.Random(4)
print("age,orders_90d,treated,converted")
for i in range(2000):
    age, orders = r.randint(18, 70), r.randint(0, 6)
    t = r.random() < 0.5
    print("%d,%d,%d,%d" % (age, orders, t, r.random() < 0.1 + (0.2 if t and age < 35 else 0)))
PY
"$TAILOR" --data "$D" uplift train --csv "$TMP/exp.csv" --treatment treated --outcome converted \
    --model "$M" --json >"$TMP/train.json"
check_cmd "the held-out measure is kept with the model" python3 - "$TMP/train.json" "$M" <<'PY'
import json, sys
t, m = (json.load(open(f)) for f in sys.argv[1:])
assert m["held_out"]["units"] == t["test"]["units"] > 0, (m.get("held_out"), t["test"])
assert m["held_out"]["qini_coefficient"] == t["test"]["qini_coefficient"], (m["held_out"], t["test"])
PY

# set_qini VALUE: the model's held-out Qini ("none": no measure, as older files)
set_qini() {
    python3 - "$M" "$1" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
if sys.argv[2] == "none":
    m.pop("held_out", None)
else:
    m["held_out"] = {"units": 600, "qini_coefficient": float(sys.argv[2])}
json.dump(m, open(sys.argv[1], "w"))
PY
}
apply() {
    "$TAILOR" --data "$D" uplift apply --model "$M" --top 20 >"$TMP/apply.txt"
    "$TAILOR" --data "$D" uplift apply --model "$M" --top 20 --json >"$TMP/apply.json"
}

set_qini -0.041
apply
check_cmd "negative held-out Qini: a warning in the text" \
    grep -q "^WARNING: the model's Qini coefficient on 600 held-out units is -0.041: .* not supported by the held-out data" "$TMP/apply.txt"
check_cmd "... and the projection marked" grep -q "projected (not supported by held-out data):" "$TMP/apply.txt"
check "... JSON: not supported" "$(jget supported_by_held_out <"$TMP/apply.json")" False
check_cmd "... with the warning and the Qini" python3 - "$TMP/apply.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert "not supported by the held-out data" in j["warning"] and j["held_out_qini"] == -0.041, j
assert j["targeted"] == 60, j
PY

set_qini 0.18
apply
check "positive held-out Qini: no warning" "$(grep -c WARNING "$TMP/apply.txt")" 0
check "... JSON: supported" "$(jget supported_by_held_out <"$TMP/apply.json")" True
check "... and no warning field" "$(jget warning <"$TMP/apply.json")" MISSING

set_qini none
apply
check_cmd "never measured: a warning" grep -q "^WARNING: the model was never measured on units held out" "$TMP/apply.txt"
check "... JSON: not supported" "$(jget supported_by_held_out <"$TMP/apply.json")" False
finish
