#!/usr/bin/env bash
# test_outside_data.sh -- files from outside read as they are: a headerless
# `::` file mapped by #N with a constant (--set), MovieLens files told by
# their content whatever their name, `eval` reading its files with import's
# options, and uplift and propensity tables whose leaking columns (an id,
# the outcome again, what followed the treatment) are refused by name,
# text features expanded into indicators, `uplift apply --csv` without a
# store, and undefined figures printed as n/a. The data is generated here.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ratings as MovieLens 1M writes them: user::item::stars::unix time, no header
python3 - "$TMP" <<'PY'
import random, sys
r = random.Random(3)
d = sys.argv[1]
with open(d + "/train.txt", "w") as tr, open(d + "/test.txt", "w") as te:
    for u in range(1, 61):
        items = r.sample(range(1, 41), 12)
        for k, i in enumerate(items):
            f = te if k >= 10 else tr
            f.write("%d::%d::%d::%d\n" % (u, i, r.randint(1, 5), 978300000 + 3600 * k + u))
PY
MAP='user=#1,item=#2,rating=#3,ts=#4'

# ---- mappings ------------------------------------------------------------------------
imp "$TMP/d1" "$TMP/o1" --kind events --no-header --delimiter '::' --map "$MAP" --set type=rate "$TMP/train.txt"
check "a headerless :: file with --map #N and --set imports every row" "$rc $R $A $Q" "0 600 600 0"
imp "$TMP/d1" "$TMP/o2" --kind events --no-header --delimiter '::' --map "$MAP" "$TMP/test.txt"
check "without --set type=rate the required type is missing" "$Q $(grep -c missing_field "$TMP/o2")" "120 1"
imp "$TMP/d1" "$TMP/o3" --kind events --no-header --delimiter '::' --map 'user=#0,item=#2,ts=#4' --set type=rate "$TMP/test.txt"
check "#0 is a usage error" "$rc" 2
check_cmd "#0: the error says columns count from 1" grep -q "columns count from 1" "$TMP/o3.err"
imp "$TMP/d1" "$TMP/o4" --kind events --no-header --delimiter '::' --map "$MAP" --set colour=red "$TMP/test.txt"
check_cmd "--set of an unknown field names it" grep -q "colour is not a field of events" "$TMP/o4.err"

# ---- presets by content ------------------------------------------------------------------
imp "$TMP/d2" "$TMP/p1" --preset movielens "$TMP/train.txt"
check "--preset movielens reads ratings not named ratings.dat" "$rc $A $Q" "0 600 0"
imp "$TMP/d3" "$TMP/p2" "$TMP/train.txt"
check "without --preset, a file with MovieLens ratings' layout is read as them" "$rc $A $Q" "0 600 0"
check_cmd "... and the user is told which preset read it" grep -q "read as MovieLens ratings (ratings.dat) by its content (--preset movielens)" "$TMP/p2.err"
printf 'a,b\n1,2\n' >"$TMP/other.csv"
imp "$TMP/d2" "$TMP/p3" --preset movielens "$TMP/other.csv"
check "a file of no MovieLens layout is refused" "$rc" 2
check_cmd "... naming the layouts it could have been" grep -q "none of MovieLens ratings (u.data)" "$TMP/p3.err"

# ---- eval reads its files with import's options ---------------------------------------------
"$TAILOR" eval --train "$TMP/train.txt" --test "$TMP/test.txt" --kind events --no-header --delimiter '::' \
    --map "$MAP" --set type=rate --model pop --json >"$TMP/e1.json" 2>"$TMP/e1.err"
check "eval --map/--set/--delimiter: exit 0" "$?" 0
"$TAILOR" eval --train "$TMP/train.txt" --test "$TMP/test.txt" --kind events --no-header --delimiter '::' \
    --map 'user=#0' --model pop >/dev/null 2>"$TMP/e0.err"
check "eval: a bad --map fails with import's message" "$(($? != 0)) $(grep -c 'columns count from 1' "$TMP/e0.err")" "1 1"
"$TAILOR" eval --train "$TMP/train.txt" --test "$TMP/test.txt" --preset movielens --map "$MAP" >/dev/null 2>&1
check "eval: --preset with --map is a usage error" "$?" 2
"$TAILOR" --data "$TMP/d1" eval --map "$MAP" --model pop >/dev/null 2>"$TMP/e3.err"
check "eval on DATA: a reading option is a usage error, not ignored" "$? $(grep -c -- '--map reads --train' "$TMP/e3.err")" "2 1"
"$TAILOR" eval --train "$TMP/train.txt" --test "$TMP/test.txt" --preset movielens --model pop --json >"$TMP/e2.json" 2>/dev/null
check_cmd "eval with the mapping measures what the preset measures" python3 - "$TMP/e1.json" "$TMP/e2.json" <<'PY'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
for d in (a, b):
    d.pop("train_seconds"), d.pop("eval_seconds")
assert a == b, (a, b)
assert a["train_interactions"] == 600 and a["users"] == 60, a
PY

# ---- uplift tables ------------------------------------------------------------------------
python3 - >"$TMP/exp.csv" <<'PY'
import random
r = random.Random(4)
print("id,age,channel,orders_90d,treated,converted,spend")
for i in range(2000):
    age, orders, ch = r.randint(18, 70), r.randint(0, 6), r.choice(["email", "sms", "push"])
    t = r.random() < 0.5
    c = r.random() < 0.1 + (0.2 if t and age < 35 else 0) + (0.1 if t and ch == "sms" else 0)
    print("u%d,%d,%s,%d,%d,%d,%s" % (i, age, ch, orders, t, c, "%.2f" % (5 + 100 * r.random()) if c else "0"))
PY
UP=(uplift train --csv "$TMP/exp.csv" --treatment treated --outcome converted --model "$TMP/m.json")
"$TAILOR" --data "$TMP/none" "${UP[@]}" >/dev/null 2>"$TMP/u1.err"
check "uplift: an id column among the default features is refused" "$?" 1
check_cmd "... by name" grep -q 'column "id" looks like an identifier' "$TMP/u1.err"
"$TAILOR" --data "$TMP/none" "${UP[@]}" --id id >/dev/null 2>"$TMP/u2.err"
check_cmd "uplift: spend, a function of the outcome, is refused by name" grep -q 'column "spend" is a function of the outcome "converted"' "$TMP/u2.err"
"$TAILOR" --data "$TMP/none" "${UP[@]}" --id id --features age,spend >/dev/null 2>"$TMP/u3.err"
check_cmd "... also when named in --features" grep -q '"spend"' "$TMP/u3.err"
"$TAILOR" --data "$TMP/none" "${UP[@]}" --id id --allow spend --json >"$TMP/u4.json" 2>/dev/null
check "uplift: --allow spend keeps it" "$?" 0
"$TAILOR" --data "$TMP/none" "${UP[@]}" --id id --features age,channel,orders_90d --json >"$TMP/u5.json"
check_cmd "uplift: a text feature is expanded into indicators, the most frequent level the reference" python3 - "$TMP/m.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
names = [f["name"] for f in m["features"]]
assert names[0] == "age" and names[-1] == "orders_90d", names
ch = sorted(n for n in names if n.startswith("channel="))
assert len(ch) == 2 and "channel" not in names, names
assert all(f["sd"] > 0 for f in m["features"]), m["features"]
PY
"$TAILOR" --data "$TMP/none" "${UP[@]}" --id id --features age,channel --test-share 0 >"$TMP/u6.txt"
check_cmd "--test-share 0: the held-out Qini is n/a, not 0.000" grep -q "Qini coefficient n/a, AUUC n/a" "$TMP/u6.txt"
check "... and no figure prints as nan" "$(grep -c nan "$TMP/u6.txt")" 0
head -n 301 "$TMP/exp.csv" >"$TMP/tiny.csv" # a hold-out of 3 units, all treated
"$TAILOR" --data "$TMP/none" uplift train --csv "$TMP/tiny.csv" --treatment treated --outcome converted \
    --id id --features age --test-share 0.02 --model "$TMP/t.json" >"$TMP/u7.txt" 2>&1
check "a tiny hold-out prints no nan" "$(grep -c nan "$TMP/u7.txt") $(grep -c 'Qini coefficient n/a' "$TMP/u7.txt")" "0 1"
python3 - >"$TMP/tiny40.csv" <<'PY'
import random
random.seed(1)
print("id,age,seg,treated,converted")
for i in range(40):
    print("%d,%d,%s,%d,%d" % (i, random.randint(18, 70), random.choice("ab"), i % 2, random.random() < 0.3))
PY
for m in class trees; do # 27 units train: a line fits them all, not three quarters of them
    "$TAILOR" --data "$TMP/none" uplift train --csv "$TMP/tiny40.csv" --treatment treated --outcome converted \
        --id id --method $m --model "$TMP/t40.json" >/dev/null 2>"$TMP/t40.err"
    check "40 units, $m: trained (folds that cannot fit a line tell nothing)" "$?:$(cat "$TMP/t40.err")" "0:"
done
"$TAILOR" --data "$TMP/none" uplift apply --csv "$TMP/tiny40.csv" --model "$TMP/t40.json" --id id --json >"$TMP/a40.json"
check "... and applied: every unit scored" "$?:$(jget users <"$TMP/a40.json")" "0:40"
"$TAILOR" --data "$TMP/none" uplift apply --csv "$TMP/exp.csv" --model "$TMP/m.json" --id id --out "$TMP/up.csv" --json >"$TMP/a.json"
check "uplift apply --csv without a store: exit 0" "$?" 0
check "... every row scored, the top 20 % targeted" "$(jget users <"$TMP/a.json") $(jget targeted <"$TMP/a.json")" "2000 400"
check "... written by id" "$(head -n 2 "$TMP/up.csv" | cut -d, -f1 | tr '\n' ' ')" "id u0 "
check "... and no data directory was made" "$(test -e "$TMP/none" && echo made || echo none)" none

# ---- propensity refuses the same leaks ------------------------------------------------------
"$TAILOR" --data "$TMP/pd" propensity train --csv "$TMP/exp.csv" --target converted --exclude treated \
    >/dev/null 2>"$TMP/p1.err"
check_cmd "propensity: an id column is refused by name" grep -q 'column "id" looks like an identifier' "$TMP/p1.err"
"$TAILOR" --data "$TMP/pd" propensity train --csv "$TMP/exp.csv" --target converted --exclude treated \
    --id id >/dev/null 2>"$TMP/p2.err"
check_cmd "propensity: spend is refused by name" grep -q 'column "spend" is a function of the outcome' "$TMP/p2.err"
"$TAILOR" --data "$TMP/pd" propensity train --csv "$TMP/exp.csv" --target converted --exclude treated \
    --id id --allow spend >/dev/null 2>&1
check "propensity: --allow spend keeps it" "$?" 0
finish
