#!/usr/bin/env bash
# test_person.sh -- campaigns and privacy treat a person, not an
# identifier: a visitor's app device and mini-program openid, then linked
# to the member who logs in on both, get at most one message a day under a
# cap of one a day, counted across the three (contacts made before the
# link count too); a consent withdrawn on any one of them stops marketing
# to the person; erasing the person by any identifier leaves none of the
# three (nor the phone or e-mail) anywhere in the data directory, and a
# re-import of any of them is refused. A users file links each member to
# its phone and e-mail on request, so a till keyed by phone joins it.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DD=$TMP/d
M=memqx71 DEV=devqx72 OID=oidqx73 OTHER=memqx74 PH=13912345678 EM=qx71@example.com
cat >"$TMP/users.csv" <<EOF
user,gender,birth_year,phone,email
$M,f,1990,$PH,$EM
$OTHER,m,1985,,
EOF
cat >"$TMP/items.csv" <<EOF
item,category,price
i1,home,10
i2,home,20
i3,home,30
i4,home,40
EOF
# the device and the openid browse anonymously; the member buys
cat >"$TMP/events1.csv" <<EOF
user,item,type,ts
device:$DEV,i1,view,2025-11-10T09:00:00+08:00
openid:$OID,i2,view,2025-11-10T10:00:00+08:00
$M,i1,purchase,2025-11-10T11:00:00+08:00
$OTHER,i2,view,2025-11-10T12:00:00+08:00
$OTHER,i1,view,2025-11-10T12:01:00+08:00
$OTHER,i3,view,2025-11-10T12:02:00+08:00
$OTHER,i4,cart,2025-11-10T12:03:00+08:00
EOF
cat >"$TMP/consents1.csv" <<EOF
user,purpose,status,at
device:$DEV,marketing_push,granted,2025-11-01T00:00:00+08:00
openid:$OID,marketing_push,granted,2025-11-01T00:00:00+08:00
$OTHER,marketing_push,granted,2025-11-01T00:00:00+08:00
EOF
imp "$DD" "$TMP/i1.out" "$TMP"/{users,items,events1,consents1}.csv
check "first import: all accepted" "$Q" 0
cat >"$TMP/c1.json" <<'EOF'
{"id":"morning","audience":"true","channels":["push"],"content":{"type":"coupon","code":"A","value":1},
 "holdout":0,"consent":"marketing_push","caps":[{"channel":"push","max":1,"per":"day"}]}
EOF
sed 's/"morning"/"afternoon"/' "$TMP/c1.json" >"$TMP/c2.json"
"$TAILOR" --data "$DD" campaign create "$TMP/c1.json" >/dev/null
"$TAILOR" --data "$DD" campaign create "$TMP/c2.json" >/dev/null
run() { "$TAILOR" --data "$DD" campaign run "$1" --at "$2" --json; }
sent() { jget decisions <"$1" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("sent", 0))'; }

# day 1, before any link: the device and the openid are persons of their own
run morning 2025-11-15T10:00:00+08:00 >"$TMP/r1.json"
check "day 1 morning: device, openid and the other member get a message" "$(sent "$TMP/r1.json")" 3

# the member logs in on both; and grants the purpose
cat >"$TMP/events2.csv" <<EOF
user,alias,type,ts,item
$M,device:$DEV,identify,2025-11-15T11:00:00+08:00,
$M,openid:$OID,identify,2025-11-15T11:05:00+08:00,
device:$DEV,,cart,2025-11-15T11:10:00+08:00,i2
EOF
cat >"$TMP/consents2.csv" <<EOF
user,purpose,status,at
$M,marketing_push,granted,2025-11-15T11:00:00+08:00
EOF
imp "$DD" "$TMP/i2.out" "$TMP"/{events2,consents2}.csv
check "the logins and a cart accepted" "$A" 4
check "one person of three identifiers" \
    "$("$TAILOR" --data "$DD" identity show "device:$DEV" --json | jget identifiers | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 3

# the same day, another campaign: the member was never contacted, but its
# device and openid were today, so the person is capped
run afternoon 2025-11-15T15:00:00+08:00 >"$TMP/r2.json"
check "day 1 afternoon: nobody sent (everyone had a push today)" "$(sent "$TMP/r2.json")" 0
check "... decided once for the person: two decisions in all" "$(jget audience <"$TMP/r2.json")" 2
# day 2: one message for the person, one for the other member, then capped
run morning 2025-11-16T10:00:00+08:00 >"$TMP/r3.json"
check "day 2 morning: the person and the other member, once each" "$(sent "$TMP/r3.json")" 2
run afternoon 2025-11-16T15:00:00+08:00 >"$TMP/r4.json"
check "day 2 afternoon: both capped" "$(sent "$TMP/r4.json")" 0
check_cmd "per day, at most one push to any of the person's identifiers (from the outbox)" \
python3 - "$DD/outbox" "$M" "$DEV" "$OID" <<'EOF'
import collections, glob, json, sys
out, ids = sys.argv[1], set(sys.argv[2:])
per_day = collections.Counter()
for f in glob.glob(out + "/*.jsonl"):
    for line in open(f):
        r = json.loads(line)
        u = r["user"].split(":", 1)[-1]
        if u in ids and r["at"][:10] >= "2025-11-16":
            per_day[r["at"][:10]] += 1
assert per_day and max(per_day.values()) == 1, per_day
EOF

# the openid withdraws the purpose: the person is no longer marketed to
cat >"$TMP/consents3.csv" <<EOF
user,purpose,status,at
openid:$OID,marketing_push,revoked,2025-11-16T20:00:00+08:00
EOF
imp "$DD" "$TMP/i3.out" "$TMP/consents3.csv"
run morning 2025-11-17T10:00:00+08:00 >"$TMP/r5.json"
check "day 3: only the other member is sent" "$(sent "$TMP/r5.json")" 1
check "... the person: no consent" \
    "$(jget decisions <"$TMP/r5.json" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("no_consent", 0))')" 1

# recommendations: one row for the person, asked for by any identifier;
# the device's cart is the person's cart scene
"$TAILOR" --data "$DD" train >/dev/null 2>&1
rec() { "$TAILOR" --data "$DD" recommend "$1" --scene cart --json | python3 -c '
import json, sys
r = json.load(sys.stdin)
print(json.dumps([[i["item"], i["reason"]] for i in r["items"]]), r["scene_items"], r["personalised"], sep="\t")'; }
check "the member's and the openid's recommendations are one" "$(rec "openid:$OID")" "$(rec "$M")"
check "... and the device's" "$(rec "device:$DEV")" "$(rec "$M")"
check_cmd "... items, not an empty list" grep -q "i3" <<<"$(rec "$M" | cut -f1)"
check_cmd "... the cart scene holds the device's cart" grep -q "i2" <<<"$(rec "$M" | cut -f2)"

# subject access lists all three
"$TAILOR" --data "$DD" export-user "openid:$OID" --out "$TMP/sar.json"
check "subject access: the two other identifiers linked" \
    "$(jget linked_identifiers <"$TMP/sar.json" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 2

# erasure by the device: every identifier of the person goes
check_cmd "every identifier is in the data directory before" \
    grep -r -a -q -F -e "$M" "$DD"
"$TAILOR" --data "$DD" erase "device:$DEV" --json >"$TMP/erase.json"
check "erase: three identifiers" "$(jget identifiers <"$TMP/erase.json")" 3
check "no identifier, phone or e-mail of the person left in any file" \
    "$(grep -r -a -l -F -e "$M" -e "$DEV" -e "$OID" -e "$PH" -e "$EM" "$DD" | tr '\n' ' ')" ""
check_cmd "the other member is still there" grep -r -a -q -F "$OTHER" "$DD"
cat >"$TMP/events4.csv" <<EOF
user,item,type,ts
$M,i1,view,2025-11-20T09:00:00+08:00
device:$DEV,i1,view,2025-11-20T09:01:00+08:00
openid:$OID,i1,view,2025-11-20T09:02:00+08:00
$OTHER,i1,view,2025-11-20T09:03:00+08:00
EOF
imp "$DD" "$TMP/i4.out" "$TMP/events4.csv"
check "re-import: the three identifiers refused, the other accepted" "$A $Q" "1 3"

# a CRM's users file links each member to its phone and e-mail (on request):
# a till's purchase keyed by the phone, written its own way, is the member's;
# a phone two members share stays with the first
C=$TMP/crm
cat >"$TMP/crm.csv" <<EOF
user,gender,phone,email,registered_at
crm1,f,+86 139 5555 0001,Crm1@Example.com,2025-01-01
crm2,m,+86 139 5555 0002,,2025-01-01
crm3,m,+86 139 5555 0002,,2025-01-02
EOF
printf 'user,item,type,ts,amount
+86-139-5555-0001,i1,purchase,2025-11-10T09:00:00+08:00,50
' >"$TMP/till.csv"
"$TAILOR" --data "$C" import "$TMP/crm.csv" >/dev/null
check "without --link-contacts, a member is its only identifier" \
    "$("$TAILOR" --data "$C" identity show crm1 --json | jget identifiers | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 1
"$TAILOR" --data "$C" import --link-contacts "$TMP/crm.csv" >/dev/null
"$TAILOR" --data "$C" import --identity phone "$TMP/till.csv" "$TMP/items.csv" >/dev/null
check "with it: the member, its phone and its e-mail" \
    "$("$TAILOR" --data "$C" identity show crm1 --json | jget identifiers | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 3
check "a phone two members share: the second member's link refused" \
    "$("$TAILOR" --data "$C" stats --json | jget identity | python3 -c 'import json,sys; print(json.load(sys.stdin)["refused_merges"])')" 1
"$TAILOR" --data "$C" profile build >/dev/null 2>&1
check "the till's purchase by phone counts for the member" \
    "$("$TAILOR" --data "$C" profile show crm1 | awk '$1 == "monetary_365d" {print $2}')" 50
check "no phone or e-mail in clear in the data directory" \
    "$(grep -r -a -l -F -e "5555 0001" -e "13955550001" -e "rm1@example.com" -e "Crm1@Example.com" "$C" | wc -l)" 0
finish
