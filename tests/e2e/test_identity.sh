#!/usr/bin/env bash
# test_identity.sh -- one customer across identifiers, end to end: a
# generated world whose people use several devices, openids and a phone
# is imported; the persons the links resolve into agree with the world's
# truth (pairwise precision and recall, nobody over a rule's limit);
# `identity show` of any identifier gives its person, personal ones never
# in clear; a link by hand joins two persons and its split gives back the
# profiles exactly, byte for byte; a link the rules refuse is told and
# counted; `stats` counts it all; the rules are data.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

W=$TMP/w D=$TMP/d
"$TAILOR" gen --users 2000 --items 200 --days 14 --identifiers 2.5 --seed 7 --dirty 0 \
    --out "$W" >/dev/null
"$TAILOR" --data "$D" import "$W"/{users,items,products,credit,consents,events}.csv >/dev/null 2>&1
check "import of the world" "$?" 0
id() { "$TAILOR" --data "$D" identity "$@"; }
jpath() { # PATH < JSON: a value down a dotted path
    python3 -c '
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v)' "$1"
}
ge() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)' "$1" "$2"; }

# ---- against the truth ----------------------------------------------------------------
ev=$(id evaluate --truth "$W/identities.truth" --json)
echo "measured: $(jget precision <<<"$ev") precision, $(jget recall <<<"$ev") recall"
check_cmd "precision of the links against the truth >= 0.99" ge "$(jget precision <<<"$ev")" 0.99
check_cmd "recall of the links against the truth >= 0.95" ge "$(jget recall <<<"$ev")" 0.95
check "no person over a rule's limit" "$(jget over_limit <<<"$ev")" 0
check "every identifier of the truth is in the store" "$(jget missing <<<"$ev")" 0
check "the truth's persons" "$(jget true_persons <<<"$ev")" 2000
check "the truth's shared devices: as many logins refused" "$(jpath resolution.refused <<<"$ev")" \
    "$(jpath identities.shared_devices <"$W/truth.json")"
id evaluate --truth "$W/identities.truth" >"$TMP/ev.txt"
check_cmd "evaluate as text" grep -q '^precision  1.0000' "$TMP/ev.txt"
printf 'identifier,person\nu000001,P\nu000001,Q\n' >"$TMP/bad.truth"
check "a truth giving one identifier two persons: exit 1" \
    "$(id evaluate --truth "$TMP/bad.truth" --json >/dev/null 2>"$TMP/err"; echo $?)" 1
check_cmd "  said where, as one JSON error" grep -q 'bad.truth:3:' "$TMP/err"
check "evaluate without --truth: usage error" "$(id evaluate 2>/dev/null; echo $?)" 2

# ---- show ------------------------------------------------------------------------------
# identifiers whose login is in the events (identify rows), and those never logged in
IFS=$'\t' read -r DEV DEV_P LONE LONE_P PHONE PHONE_P < <(python3 - "$W" <<'EOF'
import csv, sys
w = sys.argv[1]
linked = set()
for r in csv.DictReader(open(w + "/events.csv")):
    if r["type"] == "identify":
        linked.update((r["user"], r["alias"]))
dev = lone = phone = None
for r in csv.DictReader(open(w + "/identities.truth")):
    i, p = r["identifier"], r["person"]
    if i.startswith("device:") and i in linked and not dev: dev = (i, p)
    if i.startswith("device:") and i not in linked and not lone: lone = (i, p)
    if i.startswith("phone:") and i in linked and not phone: phone = (i, p)
print(*dev, *lone, *phone, sep="\t")
EOF
)
s=$(id show "$DEV" --json)
check "show of a logged-in device: its member's person" "$(jget person <<<"$s")" "$DEV_P"
check "  the member among its identifiers" \
    "$(jget identifiers <<<"$s" | python3 -c "import json,sys; print(any(i['id']=='$DEV_P' and i['kind']=='member' for i in json.load(sys.stdin)))")" True
check "  its links all in force" \
    "$(jget links <<<"$s" | python3 -c "import json,sys; print({l['state'] for l in json.load(sys.stdin)})")" "{'in_force'}"
s=$(id show "$PHONE" --json)
check "show of a phone as written: its person" "$(jget person <<<"$s")" "$PHONE_P"
digits=$(tr -cd '0-9' <<<"${PHONE#phone:}")
check "  the phone never in clear" "$(grep -c "${digits: -8}" <<<"$s")" 0
check_cmd "  shown as a keyed pseudonym" grep -q '"phone:#[0-9a-f]\{32\}"' <<<"$s"
check "show of a device never logged in: a person of its own" "$(id show "$LONE" --json | jget person)" "$LONE"
check "show of an unknown identifier: exit 1" "$(id show device:nowhere 2>/dev/null; echo $?)" 1

# ---- link and split, with the profiles --------------------------------------------------
stat_id() { "$TAILOR" --data "$D" stats --json | jpath "identity.$1"; }
p0=$(stat_id persons) m0=$(stat_id merges) s0=$(stat_id split_links) r0=$(stat_id refused_merges)
"$TAILOR" --data "$D" profile build >/dev/null
"$TAILOR" --data "$D" profile export --out "$TMP/e1.csv"
l=$(id link "$LONE" "$LONE_P" --json)
check "link of the lone device to its member: new" "$(jget new <<<"$l")" True
check "  joined" "$(jget outcome <<<"$l")" joined
check "  one person: the member's" "$(id show "$LONE" --json | jget person)" "$LONE_P"
check "  stats: one person fewer" "$(stat_id persons)" "$((p0 - 1))"
check "  stats: one merge more" "$(stat_id merges)" "$((m0 + 1))"
check "link again: already linked" "$(id link "$LONE_P" "$LONE" --json | jget new)" False
"$TAILOR" --data "$D" profile build >/dev/null
"$TAILOR" --data "$D" profile export --out "$TMP/e2.csv"
check_cmd "the linked profiles differ" bash -c "! cmp -s '$TMP/e1.csv' '$TMP/e2.csv'"
sp=$(id split "$LONE_P" "$LONE" --reason "not the same person" --json)
check "split: two persons again" "$(jget one_person <<<"$sp")" False
check "  the device its own person" "$(id show "$LONE" --json | jget person)" "$LONE"
check "  the link kept as split, with its reason" \
    "$(id show "$LONE" --json | jpath links.0.state)/$(id show "$LONE" --json | jpath links.0.reason)" \
    "split/not the same person"
check "  stats: the persons as before" "$(stat_id persons)" "$p0"
check "  stats: one split link" "$(stat_id split_links)" "$((s0 + 1))"
"$TAILOR" --data "$D" profile build >/dev/null
"$TAILOR" --data "$D" profile export --out "$TMP/e3.csv"
check_cmd "the split gives back the profiles exactly" cmp "$TMP/e1.csv" "$TMP/e3.csv"
check "split of a link not in force: exit 1" "$(id split "$LONE_P" "$LONE" 2>/dev/null; echo $?)" 1

# ---- a link the rules refuse --------------------------------------------------------------
l=$(id link u000001 u000002 --json)
check "a second member for a person: the link kept" "$(jget new <<<"$l")" True
check "  refused by the rules" "$(jget outcome <<<"$l")" refused
check_cmd "  the rule said" grep -q 'identifiers of kind member, at most 1' <<<"$(jget rule <<<"$l")"
check "  two persons still" "$(id show u000002 --json | jget person)" u000002
check "  stats: one refused merge more" "$(stat_id refused_merges)" "$((r0 + 1))"
check "  stats: the persons unchanged" "$(stat_id persons)" "$p0"
check "  shown as refused" \
    "$(id show u000002 --json | jget links | python3 -c "import json,sys; print([l['state'] for l in json.load(sys.stdin)])")" \
    "['refused']"
id link u000001 u000002 >"$TMP/link.txt"
check_cmd "  as text" grep -q 'already linked .*refused by the rules' "$TMP/link.txt"
"$TAILOR" --data "$D" stats >"$TMP/stats.txt"
check_cmd "stats as text: refused merges" grep -q "^refused merges  $((r0 + 1))$" "$TMP/stats.txt"

# ---- the rules as data ----------------------------------------------------------------------
id rules >"$TMP/rules.json"
check "rules: the defaults' member limit" "$(jpath kinds.0.max <"$TMP/rules.json")" 1
sed 's/"name":"member","max":1/"name":"member","max":2/' "$TMP/rules.json" >"$TMP/rules2.json"
id rules --set "$TMP/rules2.json" >/dev/null 2>&1
check "two members a person allowed: the refused link joins" "$(id show u000002 --json | jget person)" u000001
check "  nobody over the new limits" \
    "$(id evaluate --truth "$W/identities.truth" --json | jget over_limit)" 0
echo '{"kinds":[]}' >"$TMP/bad.json"
check "rules --set of bad rules: usage error" "$(id rules --set "$TMP/bad.json" 2>/dev/null; echo $?)" 2
id rules --set "$TMP/rules.json" >/dev/null 2>&1
check "the defaults back: refused again" "$(id show u000002 --json | jget person)" u000002
finish
