#!/usr/bin/env bash
# test_campaign_json.sh -- a campaign definition that is not JSON is refused
# with a message that says where the text stops being JSON and what is
# there: never a message ending on a dangling colon.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

D=$TMP/data
# create TEXT: `campaign create` on a file of that text; exit code in $rc,
# the message in $msg (and in $TMP/err)
create() {
    printf '%s' "$1" >"$TMP/c.json"
    rc=0
    "$TAILOR" --data "$D" campaign create "$TMP/c.json" >/dev/null 2>"$TMP/err" || rc=$?
    msg=$(cat "$TMP/err")
}

create '{"id":"spring",'
check "truncated: refused" "$([[ $rc -ne 0 ]] && echo yes)" yes
check_cmd "truncated: says the text ends before the JSON is complete, where ($msg)" \
    grep -q 'not valid JSON: the text ends at line 1, column 16, before the JSON is complete' "$TMP/err"
check_cmd "truncated: no dangling colon ($msg)" bash -c '! grep -q ": *$" "$1"' _ "$TMP/err"

create $'{"id": "spring",\n  "channels": [push]\n}'
check "bad token: refused" "$([[ $rc -ne 0 ]] && echo yes)" yes
check_cmd "bad token: line, column and the text there ($msg)" \
    grep -q 'not valid JSON at line 2, column 16 (byte 33): unexpected "push\]"' "$TMP/err"

create ''
check_cmd "empty: says so ($msg)" grep -q 'not valid JSON: the text is empty' "$TMP/err"

finish
