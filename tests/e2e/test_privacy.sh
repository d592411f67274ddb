#!/usr/bin/env bash
# test_privacy.sh -- personal data at rest and the data subject's rights:
# no phone number or e-mail of any imported user appears in clear in any
# file of the data directory (database, WAL, logs, snapshots, models,
# quarantine, campaign logs); erasure removes a user's events, records,
# campaign records and derived data, after which no file holds the user's
# id, phone or e-mail, and a re-import of the same files is refused for
# that user; retention drops old events and their campaign records; users
# who withdraw profiling leave segments and exports and get lists that
# are not personalised; exports for third parties name users by keyed
# pseudonyms; the audit log's chain holds and shows tampering.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

W=$TMP/world
D=$TMP/d
"$TAILOR" gen --users 3000 --items 300 --days 60 --seed 11 --out "$W" >/dev/null
files=("$W"/{users,items,products,credit,consents,events}.csv)
"$TAILOR" --data "$D" import "${files[@]}" >/dev/null 2>&1
"$TAILOR" --data "$D" profile build >/dev/null
"$TAILOR" --data "$D" train --model ials >/dev/null
"$TAILOR" --data "$D" train --model segpop >/dev/null
cat >"$TMP/camp.json" <<'EOF'
{"id":"spring","audience":"true","channels":["push","sms"],"content":{"type":"recommendations","n":3},
 "holdout":10,"consent":"marketing_push"}
EOF
"$TAILOR" --data "$D" campaign create "$TMP/camp.json" >/dev/null
"$TAILOR" --data "$D" campaign run spring --at 2025-11-30T10:00:00Z >/dev/null

# the user to erase: one with many events who was sent a message
V=$(python3 - "$D/outbox" "$W/events.csv" <<'PY'
import collections, csv, glob, json, sys
sent = set()
for f in glob.glob(sys.argv[1] + "/*.jsonl"):
    sent |= {json.loads(l)["user"] for l in open(f) if l.strip()}
n = collections.Counter(r["user"] for r in csv.DictReader(open(sys.argv[2], errors="replace")))
print(max(sent, key=lambda u: n[u]))
PY
)
PH=$(python3 -c 'import csv,sys; print(next(r["phone"] for r in csv.DictReader(open(sys.argv[1], errors="replace")) if r["user"] == sys.argv[2]))' "$W/users.csv" "$V")
EM=$(python3 -c 'import csv,sys; print(next(r["email"] for r in csv.DictReader(open(sys.argv[1], errors="replace")) if r["user"] == sys.argv[2]))' "$W/users.csv" "$V")
check_cmd "the chosen user has a phone and an e-mail" test -n "$PH" -a -n "$EM"
"$TAILOR" --data "$D" offers "$V" >/dev/null 2>&1
"$TAILOR" --data "$D" export-user "$V" >/dev/null

# every phone number and e-mail of the imported users: none in clear anywhere
python3 - "$W/users.csv" >"$TMP/pii.txt" <<'PY'
import csv, sys
for r in csv.DictReader(open(sys.argv[1], errors="replace")):
    for k in ("phone", "email", "id_number"):
        if len(r.get(k) or "") >= 6:
            print(r[k])
PY
npii=$(wc -l <"$TMP/pii.txt")
check_cmd "personal values to look for" test "$npii" -gt 5000
check "files of the data directory holding any of them in clear" "$(grep -r -a -l -F -f "$TMP/pii.txt" "$D" | wc -l)" 0
check_cmd "quarantined raw rows exist (and are sealed)" test "$("$TAILOR" --data "$D" stats --json | jget quarantined)" -gt 0

# before erasure the id is in the store, its events in the log
n_user=$(python3 -c 'import csv,sys; print(sum(r["user"] == sys.argv[2] for r in csv.DictReader(open(sys.argv[1], errors="replace"))))' "$W/events.csv" "$V")
ev0=$("$TAILOR" --data "$D" stats --json | jget events)
users0=$("$TAILOR" --data "$D" stats --json | jget users)
check_cmd "the id is in the data directory before" grep -r -a -q -w -F "$V" "$D"
"$TAILOR" --data "$D" erase "$V" --json >"$TMP/erase.json"
check_cmd "erase reports events gone" test "$(jget events <"$TMP/erase.json")" -gt 0
stored=$(jget events <"$TMP/erase.json")
check_cmd "... at most as many as the file had for the user" test "$stored" -le "$n_user"
check "... the log shrank by them" "$("$TAILOR" --data "$D" stats --json | jget events)" "$((ev0 - stored))"
check "... one user fewer" "$("$TAILOR" --data "$D" stats --json | jget users)" "$((users0 - 1))"
check "... campaign logs rewritten (the push outbox, exposures, contacts)" "$(jget campaign_logs_rewritten <"$TMP/erase.json")" 3
check "... both models changed" "$(jget models <"$TMP/erase.json")" 2
check "files holding the id, phone or e-mail afterwards" \
    "$(grep -r -a -l -w -F -e "$V" -e "$PH" -e "$EM" "$D" | tr '\n' ' ')" ""
check_cmd "the store checks out" bash -c "'$TAILOR' --data '$D' check >/dev/null"
check_cmd "the user is gone from subject access" bash -c "! '$TAILOR' --data '$D' export-user '$V' 2>/dev/null"
check_cmd "the outbox lines kept their length (delivery offsets hold)" python3 - "$D/outbox" <<'PY'
import glob, json, sys
for f in glob.glob(sys.argv[1] + "/*.jsonl"):
    for l in open(f):
        d = json.loads(l)
        assert "user" in d or d == {"erased": True}, d
PY
check_cmd "the campaign report still builds" bash -c "'$TAILOR' --data '$D' report campaign spring --json >/dev/null"
check "erasing again: said so" "$("$TAILOR" --data "$D" erase "$V" --json | jget erased_before)" True
# a model that does not load is left as it is, and told
printf 'not a model' >"$D/models/broken.tlm"
check "a damaged model: the erasure goes on" "$("$TAILOR" --data "$D" erase "$V" --json 2>"$TMP/broken.err" | jget erased_before)" True
check_cmd "... and tells which model it left" grep -q "^tailor: .*broken" "$TMP/broken.err"
check_cmd "... as it was" test "$(cat "$D/models/broken.tlm")" = "not a model"
rm -f "$D/models/broken.tlm"

# re-importing everything does not bring the user back
"$TAILOR" --data "$D" import "${files[@]}" --json >"$TMP/reimport.json" 2>/dev/null
check_cmd "re-import refuses the erased user's records" python3 - "$TMP/reimport.json" "$stored" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
by = d.get("by_reason") or d.get("quarantined_by_reason") or {}
assert by.get("erased_user", 0) >= int(sys.argv[2]), d
assert d["accepted"] == 0, d
PY
check "... the log unchanged" "$("$TAILOR" --data "$D" stats --json | jget events)" "$((ev0 - stored))"
check "... and the id nowhere in clear" "$(grep -r -a -l -w -F -e "$V" -e "$PH" -e "$EM" "$D" | wc -l)" 0
check "no personal value in clear after all that" "$(grep -r -a -l -F -f "$TMP/pii.txt" "$D" | wc -l)" 0

# retention: the events of the last 20 days stay
cut=$(python3 -c 'import datetime; print((datetime.datetime(2025,12,1,tzinfo=datetime.timezone.utc)-datetime.timedelta(days=20)).strftime("%Y-%m-%dT%H:%M:%SZ"))')
"$TAILOR" --data "$D" retain --days 20 --json >"$TMP/retain.json"
check_cmd "retention dropped events" test "$(jget events <"$TMP/retain.json")" -gt 0
check "... and built the profiles again" "$(jget profiles_rebuilt <"$TMP/retain.json")" True
check_cmd "... no event before the cut is left" python3 - "$D" "$cut" "$TAILOR" <<'PY'
import json, subprocess, sys
s = json.loads(subprocess.check_output([sys.argv[3], "--data", sys.argv[1], "stats", "--json"]))
first = min(d for d, n in s["events_by_day"].items() if n) if isinstance(s.get("events_by_day"), dict) else s["first_event"]
assert first >= sys.argv[2][:10], (first, sys.argv[2])
PY
check_cmd "the store checks out after retention" bash -c "'$TAILOR' --data '$D' check >/dev/null"

# profiling opt-out: two users revoke "profiling"; they leave every
# segment and export, keep no profile, and get the list anybody gets
read -r P Q < <(python3 - "$W/events.csv" "$V" <<'PY'
import collections, csv, sys
n = collections.Counter(r["user"] for r in csv.DictReader(open(sys.argv[1], errors="replace")) if r["ts"] >= "2025-11-15")
n.pop(sys.argv[2], None)
print(*[u for u, _ in n.most_common(2)])
PY
)
"$TAILOR" --data "$D" segment create everyone --where 'events >= 0' >/dev/null
size0=$("$TAILOR" --data "$D" segment size everyone --json | jget size)
check "before: recommendations for $P are personalised" "$("$TAILOR" --data "$D" recommend "$P" --json | jget personalised)" True
printf 'user,purpose,status,at\n%s,profiling,revoked,2025-11-30T12:00:00Z\n%s,profiling,revoked,2025-11-30T12:00:00Z\n' "$P" "$Q" >"$TMP/optout.csv"
"$TAILOR" --data "$D" import --kind consents "$TMP/optout.csv" >/dev/null
"$TAILOR" --data "$D" profile build >/dev/null
"$TAILOR" --data "$D" train --model ials >/dev/null
"$TAILOR" --data "$D" profile show "$P" --json >"$TMP/p.json"
check "the profile says profiling is withdrawn" "$(jget profiling <"$TMP/p.json")" withdrawn
check "... and holds no feature" "$(jget features <"$TMP/p.json")" "{}"
check "... both left every segment" "$("$TAILOR" --data "$D" segment size everyone --json | jget size)" "$((size0 - 2))"
check "... not in a segment export" "$("$TAILOR" --data "$D" segment export everyone | grep -c -x -e "$P" -e "$Q")" 0
check "... nor in the profile export" "$("$TAILOR" --data "$D" profile export | grep -c -e "^$P," -e "^$Q,")" 0
"$TAILOR" --data "$D" recommend "$P" --json >"$TMP/rp.json"
"$TAILOR" --data "$D" recommend "$Q" --json >"$TMP/rq.json"
check "recommendations not personalised" "$(jget personalised <"$TMP/rp.json")" False
check "... the list anybody gets (the same for both)" "$(jget items <"$TMP/rp.json")" "$(jget items <"$TMP/rq.json")"
check_cmd "... every reason says so" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["items"] and all(i["reason"].endswith("with everybody") for i in d["items"]), d' "$TMP/rp.json"
check "a cart scene does not read the user's cart" "$("$TAILOR" --data "$D" recommend "$P" --scene cart --json | jget scene_items)" "[]"

# exports for third parties: keyed pseudonyms, per recipient
"$TAILOR" --data "$D" segment export everyone >"$TMP/plain.csv"
"$TAILOR" --data "$D" segment export everyone --pseudonymous --recipient acme >"$TMP/acme.csv"
"$TAILOR" --data "$D" segment export everyone --pseudonymous --recipient acme >"$TMP/acme2.csv"
"$TAILOR" --data "$D" segment export everyone --pseudonymous --recipient zenith >"$TMP/zenith.csv"
check "pseudonymous export: as many users" "$(wc -l <"$TMP/acme.csv")" "$(wc -l <"$TMP/plain.csv")"
check "... each a 128-bit pseudonym" "$(tail -n +2 "$TMP/acme.csv" | grep -c -v -x '[0-9a-f]\{32\}')" 0
check "... no id in clear" "$(grep -c -x -F -f <(tail -n +2 "$TMP/plain.csv") "$TMP/acme.csv")" 0
check_cmd "... the same for the same recipient" cmp -s "$TMP/acme.csv" "$TMP/acme2.csv"
check "... none shared with another recipient" "$(tail -n +2 "$TMP/zenith.csv" | grep -c -x -F -f <(tail -n +2 "$TMP/acme.csv"))" 0
"$TAILOR" --data "$D" profile export --pseudonymous --format jsonl --out "$TMP/prof.jsonl"
check "... the profile export too" "$(grep -c -w -F -f <(tail -n +2 "$TMP/plain.csv") "$TMP/prof.jsonl")" 0

# given back: profiled again from the next build
printf 'user,purpose,status,at\n%s,profiling,granted,2025-11-30T18:00:00Z\n' "$P" >"$TMP/optin.csv"
"$TAILOR" --data "$D" import --kind consents "$TMP/optin.csv" >/dev/null
"$TAILOR" --data "$D" profile build >/dev/null
"$TAILOR" --data "$D" train --model ials >/dev/null
check "given back: a profile again" "$("$TAILOR" --data "$D" profile show "$P" --json | jget profiling)" MISSING
check "... personalised again" "$("$TAILOR" --data "$D" recommend "$P" --json | jget personalised)" True
check "... in the segment again" "$("$TAILOR" --data "$D" segment size everyone --json | jget size)" "$((size0 - 1))"

# key rotation: everything sealed again; the old key opens nothing
V2=$(python3 -c 'import csv,sys; r=list(csv.DictReader(open(sys.argv[1], errors="replace"))); print(r[5]["user"])' "$W/users.csv")
before=$("$TAILOR" --data "$D" export-user "$V2" | jcanon)
cp "$D/key" "$TMP/old.key"
"$TAILOR" --data "$D" key rotate --json >"$TMP/rotate.json"
check_cmd "rotation re-sealed every user's personal data" test "$(jget users <"$TMP/rotate.json")" -ge 2900
check_cmd "... the key file changed" bash -c "! cmp -s '$D/key' '$TMP/old.key'"
check_cmd "... mode 0600" test "$(stat -c %a "$D/key")" = 600
after=$("$TAILOR" --data "$D" export-user "$V2" | python3 -c 'import json,sys; d=json.load(sys.stdin); d["reads_of_this_data"]=d["reads_of_this_data"][:-1]; print(json.dumps(d, sort_keys=True))')
check "... personal data reads the same under the new key" "$after" "$before"
check "... pseudonyms unchanged (the audit log finds the user)" \
    "$("$TAILOR" --data "$D" audit list --user "$V2" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 2
check "... the erased user stays erased" "$("$TAILOR" --data "$D" erase "$V" --json | jget erased_before)" True
check "no personal value in clear after rotation" "$(grep -r -a -l -F -f "$TMP/pii.txt" "$D" | wc -l)" 0
rc=0
TAILOR_KEY=$(od -An -tx1 "$TMP/old.key" | tr -d ' \n') "$TAILOR" --data "$D" stats >/dev/null 2>"$TMP/oldkey.err" || rc=$?
check "the old key is refused" "$rc" 1
check_cmd "... saying so" grep -q "does not open" "$TMP/oldkey.err"

# the audit log: intact, then tampered with
check "audit chain" "$("$TAILOR" --data "$D" audit verify --json | jget ok)" True
check_cmd "the erasure is in it, by pseudonym" bash -c "'$TAILOR' --data '$D' audit list --json | grep -q '\"what\":\"erase\"'"
check "the audit log names no user in clear" "$("$TAILOR" --data "$D" audit list --json | grep -c -w -F "$V")" 0
sqlite3 "$D/tailor.db" "update audit set who = 'someone else' where id = 1"
rc=0
"$TAILOR" --data "$D" audit verify >/dev/null 2>"$TMP/verify.err" || rc=$?
check "a changed entry breaks the chain" "$rc" 1
check_cmd "... and is named" grep -q "entry 1" "$TMP/verify.err"
finish
