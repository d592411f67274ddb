#!/usr/bin/env bash
# test_consent_readers.sh -- a consent withdrawn holds for every reader at
# once, without a profile build: withdrawn over the API (then the server
# stopped) or by an import of consents, the command line's profile show,
# profile export, segment export, offers and recommend honour the consents
# in force, not those of the last build; credit_offers withdrawn means no
# credit offer.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

W=$TMP/world
D=$TMP/d
world_store 400 100 20
"$TAILOR" --data "$D" score train --users >/dev/null
"$TAILOR" --data "$D" segment create everyone --where 'events >= 0' >/dev/null

credit_offers() { # USER: how many credit products the user is offered
    "$TAILOR" --data "$D" offers "$1" --n 20 --json | python3 -c '
import json, sys
print(sum(o["kind"] in ("instalment", "credit_line", "credit_card") for o in json.load(sys.stdin)["offers"]))'
}
# three users who are offered credit, with a profile and in the segment
users=()
for i in $(seq -f 'u%06g' 1 400); do
    [[ $(credit_offers "$i") -gt 0 ]] && users+=("$i")
    [[ ${#users[@]} -eq 3 ]] && break
done
check "three users offered credit" "${#users[@]}" 3
A=${users[0]} B=${users[1]} C=${users[2]}
features() { # USER: how many features profile show gives
    "$TAILOR" --data "$D" profile show "$1" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["features"]))'
}
in_export() { # USER: 1 when the segment export lists the user
    "$TAILOR" --data "$D" segment export everyone | grep -c "^$1\$"
}
check_cmd "before: $A has features" test "$(features "$A")" -gt 10
check "before: $A is in the segment's export" "$(in_export "$A")" 1

ADM=$("$TAILOR" --data "$D" apikey create --role admin 2>/dev/null)
"$TAILOR" --data "$D" serve --listen 127.0.0.1:0 >"$TMP/serve.out" 2>"$TMP/serve.err" &
pid=$!
trap 'kill -9 $pid 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do grep -q listening "$TMP/serve.out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$TMP/serve.out")
put() { # USER PURPOSE: withdraws the consent over the API, prints the status
    curl -s -o "$TMP/body" -w '%{http_code}' -X PUT -H "Authorization: Bearer $ADM" \
        --data-binary '{"granted":false}' "http://127.0.0.1:$port/v1/users/$1/consents/$2"
}
check "profiling withdrawn over the API" "$(put "$A" profiling)" 200
check "credit offers withdrawn over the API" "$(put "$B" credit_offers)" 200
kill -TERM $pid
wait $pid
check "the server stops cleanly" $? 0
trap 'rm -rf "$TMP"' EXIT

# no `profile build` since: every reader goes by the consents in force
check "profile show: withdrawn" \
    "$("$TAILOR" --data "$D" profile show "$A" --json | jget profiling)" withdrawn
check "... no feature" "$(features "$A")" 0
check "... and in words" "$("$TAILOR" --data "$D" profile show "$A" | grep -c 'withdrawn: no profile is kept')" 1
check "profile export leaves the user out" "$("$TAILOR" --data "$D" profile export | grep -c "^$A,")" 0
check "segment export leaves the user out" "$(in_export "$A")" 0
check "segment size counts one fewer" \
    "$("$TAILOR" --data "$D" segment size everyone --json | jget size)" \
    "$(($("$TAILOR" --data "$D" profile export | tail -n +2 | wc -l)))"
check "offers: no credit without a profile" "$(credit_offers "$A")" 0
check "recommend: not personalised" \
    "$("$TAILOR" --data "$D" recommend "$A" --model pop --json | jget personalised)" False
check "credit_offers withdrawn: no credit offer" "$(credit_offers "$B")" 0
check "... and the profile kept" "$(( $(features "$B") > 10 ))" 1

# a withdrawal by an import of consents holds at once too
printf 'user,purpose,status,at\n%s,profiling,revoked,2025-11-30T12:00:00Z\n' "$C" >"$TMP/c.csv"
"$TAILOR" --data "$D" import --kind consents "$TMP/c.csv" >/dev/null 2>&1
check "withdrawn by an import: profile show" \
    "$("$TAILOR" --data "$D" profile show "$C" --json | jget profiling)" withdrawn
check "... no credit offers" "$(credit_offers "$C")" 0
check "... out of the segment's export" "$(in_export "$C")" 0
finish
