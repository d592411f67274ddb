#!/usr/bin/env bash
# test_audit.sh -- the audit log's anchor: with everything in the database
# readable, entries cut from the end (the recorded head rewritten to the
# new last MAC), an anchor rewritten to match, a wiped table, MACs blanked
# at the end, all make `audit verify` fail naming what is missing; entries
# added after a cut do not hide it; an untouched log, and one after key
# rotation, erasure and retention, verifies; a directory from before
# anchors is anchored by its next writable open and says so.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

W=$TMP/world
D0=$TMP/d0
"$TAILOR" gen --users 40 --items 10 --days 5 --seed 3 --out "$W" >/dev/null
"$TAILOR" --data "$D0" import "$W/users.csv" "$W/events.csv" >/dev/null 2>&1
mapfile -t U < <(python3 -c 'import csv,sys; [print(r["user"]) for r in list(csv.DictReader(open(sys.argv[1])))[:12]]' "$W/users.csv")
for i in $(seq 0 9); do "$TAILOR" --data "$D0" export-user "${U[$i]}" >/dev/null; done

# verify DIR: exit code in $rc, stdout in $TMP/out, stderr in $TMP/err
verify() {
    rc=0
    "$TAILOR" --data "$1" audit verify >"$TMP/out" 2>"$TMP/err" || rc=$?
}
fresh() { rm -rf "$TMP/$1" && cp -a "$D0" "$TMP/$1" && echo "$TMP/$1"; }
sql() { sqlite3 "$1/tailor.db" "$2"; }

verify "$D0"
check "untouched: verifies" "$rc" 0
check_cmd "... all 10 entries, as the anchor says" grep -q "10 entries chained, as many as its anchor says" "$TMP/out"
check_cmd "... no note for a log anchored from its start" bash -c "! grep -q note '$TMP/out'"

# cut the tail, and set the recorded head to the new last MAC
D=$(fresh cut)
sql "$D" "DELETE FROM audit WHERE id > 7;
          INSERT OR REPLACE INTO config(key, value) VALUES ('audit_head', (SELECT mac FROM audit WHERE id = 7))"
verify "$D"
check "cut tail: fails" "$rc" 1
check_cmd "... naming what is missing" grep -q "ends at entry 7 but its anchor says 10: 3 entries removed from the end" "$TMP/err"
"$TAILOR" --data "$D" export-user "${U[10]}" >/dev/null
verify "$D"
check "an entry added after the cut does not hide it" "$rc" 1
check_cmd "... still 3 missing" grep -q "ends at entry 8 but its anchor says 11: 3 entries removed" "$TMP/err"

# cut the tail and rewrite the anchor's count and head to match
D=$(fresh head)
m7=$(sql "$D" "SELECT mac FROM audit WHERE id = 7")
m10=$(sql "$D" "SELECT mac FROM audit WHERE id = 10")
sql "$D" "DELETE FROM audit WHERE id > 7;
          UPDATE meta SET value = replace(value, 'v1 10 $m10 ', 'v1 7 $m7 ') WHERE key = 'audit_anchor'"
check "... (the anchor was rewritten)" "$(sql "$D" "SELECT value LIKE 'v1 7 $m7 %' FROM meta WHERE key = 'audit_anchor'")" 1
verify "$D"
check "rewritten head: fails" "$rc" 1
check_cmd "... saying the anchor was changed" grep -q "anchor does not match its MAC" "$TMP/err"

# wipe the table
D=$(fresh wipe)
sql "$D" "DELETE FROM audit; DELETE FROM config WHERE key = 'audit_head'"
verify "$D"
check "wiped: fails" "$rc" 1
check_cmd "... naming what is missing" grep -q "empty but its anchor says 10 entries: all 10 were removed" "$TMP/err"

# blank the MACs of the last entries (they would pass as older than the chain)
D=$(fresh blank)
sql "$D" "UPDATE audit SET mac = NULL, who = 'someone else' WHERE id > 8"
verify "$D"
check "blanked MACs: fail" "$rc" 1
check_cmd "... naming the entry" grep -q "audit entry 9 has no MAC" "$TMP/err"

# wipe the table and remove the anchor: told until the next writable open,
# which anchors the log again and leaves a note that verify prints
D=$(fresh gone)
sql "$D" "DELETE FROM audit; DELETE FROM meta WHERE key = 'audit_anchor'"
verify "$D"
check "no anchor: fails" "$rc" 1
check_cmd "... saying so" grep -q "has no anchor" "$TMP/err"
"$TAILOR" --data "$D" export-user "${U[10]}" >/dev/null
verify "$D"
check "anchored again by a writable open: verifies" "$rc" 0
check_cmd "... with a note that says when, over how many entries" grep -q "note: the log was anchored at .* over its first 0 entries" "$TMP/out"
check "... also in JSON" "$("$TAILOR" --data "$D" audit verify --json | jget anchored_later)" '{"at":"'"$(sed -n 's/^note: the log was anchored at \(.*\) over.*/\1/p' "$TMP/out")"'","entries":0}'

# a directory from before anchors: no anchor, the head as a setting
D=$(fresh old)
sql "$D" "DELETE FROM meta WHERE key = 'audit_anchor';
          INSERT OR REPLACE INTO config(key, value) VALUES ('audit_head', (SELECT mac FROM audit WHERE id = 10))"
verify "$D"
check "before anchors, read-only: not vouched for" "$rc" 1
check_cmd "... saying the next writable open anchors it" grep -q "older tailor.*anchors the log" "$TMP/err"
"$TAILOR" --data "$D" export-user "${U[10]}" >/dev/null
verify "$D"
check "upgraded at the next writable open: verifies" "$rc" 0
check_cmd "... over its first 10 entries" grep -q "over its first 10 entries" "$TMP/out"
check "... the old head setting gone" "$(sql "$D" "SELECT count(*) FROM config WHERE key = 'audit_head'")" 0
# the same, cut before the upgrade without the head rewritten: still told
D=$(fresh oldcut)
sql "$D" "INSERT OR REPLACE INTO config(key, value) VALUES ('audit_head', (SELECT mac FROM audit WHERE id = 10));
          DELETE FROM meta WHERE key = 'audit_anchor'; DELETE FROM audit WHERE id > 8"
"$TAILOR" --data "$D" export-user "${U[10]}" >/dev/null
verify "$D"
check "cut before the upgrade: fails" "$rc" 1
check_cmd "... against the old head" grep -q "not the head recorded before the log was anchored" "$TMP/err"

# key rotation, erasure and retention keep it valid
D=$(fresh kept)
"$TAILOR" --data "$D" key rotate >/dev/null
verify "$D"
check "after key rotation: verifies" "$rc" 0
check_cmd "... 11 entries" grep -q "11 entries chained" "$TMP/out"
"$TAILOR" --data "$D" erase "${U[0]}" >/dev/null
"$TAILOR" --data "$D" retain --days 2 >/dev/null
verify "$D"
check "after erasure and retention: verifies" "$rc" 0
check_cmd "... 13 entries" grep -q "13 entries chained" "$TMP/out"
sql "$D" "DELETE FROM audit WHERE id = 13"
verify "$D"
check "and a cut after them is told" "$rc" 1
check_cmd "... 1 entry removed" grep -q "ends at entry 12 but its anchor says 13: 1 entry removed from the end" "$TMP/err"
finish
