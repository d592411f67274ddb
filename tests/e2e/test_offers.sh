#!/usr/bin/env bash
# test_offers.sh -- `tailor offers` on a generated world: credit is never
# offered without the credit_offers consent, to band E or without a score,
# and every such block is logged with its rule; a scene brings its kinds
# forward; offers come by expected value with their disclosures; a policy
# file replaces the built-in rules and a broken one is refused.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

W=$TMP/world
D=$TMP/d
"$TAILOR" gen --users 3000 --items 300 --days 30 --seed 9 --out "$W" >/dev/null
"$TAILOR" --data "$D" import "$W"/{users,items,products,credit,consents,events}.csv >/dev/null 2>&1
"$TAILOR" --data "$D" profile build >/dev/null

# without a scorecard nobody has a band: every credit offer is blocked
u=$(awk -F, 'NR > 1 && $2 == "credit_offers" && $3 == "granted" {print $1; exit}' "$W/consents.csv")
"$TAILOR" --data "$D" offers "$u" --explain --json >"$TMP/noscore.json" 2>"$TMP/noscore.err"
check_cmd "no scorecard: credit blocked for want of a score, and said so" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert not [o for o in d["offers"] if o["kind"] in ("instalment", "credit_line", "credit_card")], d
blocked = [o for o in d["not_offered"] if "blocked_by" in o]
assert blocked and all("no credit score" in o["blocked_by"] for o in blocked), blocked' "$TMP/noscore.json"
check_cmd "... with a note on stderr" grep -q "train one with" "$TMP/noscore.err"

"$TAILOR" --data "$D" score train --users >/dev/null
"$TAILOR" --data "$D" score apply --users --json >"$TMP/scores.json"

# pick users: one without the consent, one in band E with it, one in band A
# or B with it
read -r nocons bande good < <(python3 - "$W/consents.csv" "$TMP/scores.json" <<'EOF'
import csv, json, sys
latest = {}
for r in csv.DictReader(open(sys.argv[1])):
    if r.get("purpose") == "credit_offers" and r.get("at", "")[:2] == "20":
        if r["user"] not in latest or r["at"] >= latest[r["user"]][0]:
            latest[r["user"]] = (r["at"], r["status"] == "granted")
scores = json.load(open(sys.argv[2]))
band = {s["id"]: s["band"] for s in scores}
consent = {u for u, (_, g) in latest.items() if g}
nocons = next(s["id"] for s in scores if s["id"] not in consent)
bande = next(u for u in sorted(consent) if band.get(u) == "E")
good = next(u for u in sorted(consent) if band.get(u) in ("A", "B"))
print(nocons, bande, good)
EOF
)
check_cmd "found the three users ($nocons, $bande, $good)" test -n "$good"

: >"$D/offers.log"
"$TAILOR" --data "$D" offers "$nocons" --explain --json >"$TMP/nocons.json"
check_cmd "no consent: no credit offered, each block names the rule" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
credit = ("instalment", "credit_line", "credit_card")
assert not [o for o in d["offers"] if o["kind"] in credit], d
blocked = [o for o in d["not_offered"] if "blocked_by" in o]
assert blocked and all(o["kind"] in credit for o in blocked), blocked
assert all("no consent to credit offers" in o["blocked_by"] for o in blocked), blocked' "$TMP/nocons.json"
check_cmd "every blocked offer is in offers.log with its rule, the user by pseudonym" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
log = [json.loads(l) for l in open(sys.argv[2])]
want = {(o["product"], tuple(o["blocked_by"])) for o in d["not_offered"] if "blocked_by" in o}
got = {(l["product"], tuple(l["blocked_by"])) for l in log}
users = {l["user"] for l in log}
assert want == got and len(log) == len(want), (want, got)
assert len(users) == 1 and sys.argv[3] not in users and len(users.pop()) == 32, users' "$TMP/nocons.json" "$D/offers.log" "$nocons"

"$TAILOR" --data "$D" offers "$bande" --explain --json >"$TMP/bande.json"
check_cmd "band E: credit blocked as band E" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
blocked = [o for o in d["not_offered"] if "blocked_by" in o]
assert blocked and all("band E: no new credit" in o["blocked_by"] for o in blocked), blocked' "$TMP/bande.json"

"$TAILOR" --data "$D" offers "$good" -n 20 --json >"$TMP/home.json"
"$TAILOR" --data "$D" offers "$good" -n 20 --scene purchase --category electronics --amount 4000 --json >"$TMP/buy.json"
check_cmd "offers by expected value, disclosed; the purchase scene brings instalments forward" python3 -c '
import json, sys
home, buy = (json.load(open(p)) for p in sys.argv[1:3])
v = [o["expected_value"] for o in home["offers"]]
assert v and v == sorted(v, reverse=True) and min(v) >= 0, v
assert all(o["disclosure"] for o in home["offers"]), home
for o in home["offers"]:
    if "interest_on_amount" in o:  # credit: simple interest on the typical amount over the term
        want = o["amount"] * o["apr"] * o["term_months"] / 12 if o["apr"] > 0 and o["term_months"] > 0 else 0
        assert abs(o["interest_on_amount"] - want) < 1e-6 * max(1, want), o
first = buy["offers"][0]
assert first["scene"] and first["kind"] == "instalment", buy["offers"][:2]
scene = [o["scene"] for o in buy["offers"]]
assert scene == sorted(scene, reverse=True), scene' "$TMP/home.json" "$TMP/buy.json"

# a policy file replaces the built-in rules; a broken one is refused
printf 'credit instalment,credit_line,credit_card\nblock "closed for review" when 1 == 1\ntakeup insurance 0.05\nmargin insurance 0.3\n' >"$TMP/policy.txt"
"$TAILOR" --data "$D" offers "$good" --policy "$TMP/policy.txt" --explain --json >"$TMP/pol.json"
check_cmd "a policy file's block applies to every credit product" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
blocked = [o for o in d["not_offered"] if "blocked_by" in o]
assert blocked and all(o["blocked_by"] == ["closed for review"] for o in blocked), d
assert all(o["kind"] not in ("instalment", "credit_line", "credit_card") for o in d["offers"])' "$TMP/pol.json"
printf 'block "x" when credit_band ==\n' >"$TMP/bad.txt"
"$TAILOR" --data "$D" offers "$good" --policy "$TMP/bad.txt" >/dev/null 2>"$TMP/err"
check "a broken policy: exit 1" "$?" 1
check_cmd "... names the rule" grep -q 'policy block "x"' "$TMP/err"
printf 'allow everything\n' >"$TMP/bad2.txt"
"$TAILOR" --data "$D" offers "$good" --policy "$TMP/bad2.txt" >/dev/null 2>"$TMP/err"
check_cmd "an unknown policy line names its number" grep -q "policy line 1" "$TMP/err"
"$TAILOR" --data "$D" offers nobody >/dev/null 2>&1
check "offers for an unknown user: exit 1" "$?" 1
finish
