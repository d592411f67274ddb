#!/usr/bin/env bash
# test_tags_server.sh -- tags kept by `tag apply` are columns of every
# profile set the engine builds, whoever builds it: the server at its
# start, after SIGHUP and /v1/admin/reload, and as events arrive over the
# API; retention's rebuild; the command line. A segment over a tag works
# over the API as in the CLI, and a profile read over the API shows it.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

W=$TMP/world
D=$TMP/d
world_store 800 150 30
cat >"$TMP/rules.txt" <<'EOF'
tag big = monetary > 300
tag spend = "high" if monetary > 300
tag spend = "low" if true
EOF
"$TAILOR" --data "$D" tag apply "$TMP/rules.txt" >/dev/null
cli_big=$("$TAILOR" --data "$D" segment create bigs --where 'has_tag("big")' --json | jget size)
check_cmd "the CLI finds big spenders by their tag" test "$cli_big" -gt 0
# a user the tag leaves out, who will buy enough over the API
small=$("$TAILOR" --data "$D" profile export --format jsonl |
    python3 -c 'import json,sys
for l in sys.stdin:
    d = json.loads(l)
    if d["tag_big"] == 0: print(d["user"]); break')
check_cmd "a user without the tag" test -n "$small"
ADM=$("$TAILOR" --data "$D" apikey create --role admin 2>/dev/null)

"$TAILOR" --data "$D" serve --listen 127.0.0.1:0 >"$TMP/serve.out" 2>"$TMP/serve.err" &
pid=$!
trap 'kill -9 $pid 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do grep -q listening "$TMP/serve.out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$TMP/serve.out")
U="http://127.0.0.1:$port"
req() { # METHOD PATH [BODY]: prints the status, the body to $TMP/body
    local m=$1 p=$2
    shift 2
    curl -s -o "$TMP/body" -w '%{http_code}' -X "$m" -H "Authorization: Bearer $ADM" \
        ${1:+--data-binary "$1"} "$U$p"
}
feature() { # USER NAME: the profile feature read over the API
    req GET "/v1/users/$1/profile" >/dev/null
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["features"].get(sys.argv[2], "MISSING"))' "$TMP/body" "$2"
}

check "a segment over a tag, over the API after the server's start" \
    "$(req POST /v1/segments '{"name":"bigs_api","expression":"tag_big == 1"}')" 201
check "... as many members as in the CLI" "$(req GET /v1/segments/bigs_api; echo " $(jget size <"$TMP/body")")" "200 $cli_big"
check "a category tag in a segment" "$(req POST /v1/segments '{"name":"high","expression":"tag_spend == \"high\""}')" 201
check "... the same members" "$(jget size <"$TMP/body")" "$cli_big"
check "a profile read over the API shows the tag" "$(feature "$small" tag_spend)" low

# events over the API: the tags follow the profile they are computed from
check "a large purchase over the API" "$(req POST /v1/events "[{\"event_id\":\"tag-buy-1\",\"user\":\"$small\",\"item\":\"i00001\",\"type\":\"purchase\",\"ts\":\"2025-11-30T10:00:00Z\",\"amount\":5000}]")" 200
check "... makes the buyer big at once" "$(feature "$small" tag_big)" 1
check "... and a high spender" "$(feature "$small" tag_spend)" high
check "... one more member of the segment" "$(req GET /v1/segments/bigs_api; echo " $(jget size <"$TMP/body")")" "200 $((cli_big + 1))"

kill -HUP $pid
for _ in $(seq 50); do
    [[ $(curl -s "$U/metrics" | sed -n 's/^tailor_reloads_total //p') == 1 ]] && break
    sleep 0.1
done
check "after SIGHUP the tag is still a column" "$(req POST /v1/segments '{"name":"bigs_hup","expression":"has_tag(\"big\")"}')" 201
check "... with the same members" "$(jget size <"$TMP/body")" "$((cli_big + 1))"
check "after /v1/admin/reload too" "$(req POST /v1/admin/reload)" 200
check "... the tag is still a column" "$(req GET /v1/segments/bigs_api; echo " $(jget size <"$TMP/body")")" "200 $((cli_big + 1))"

kill -TERM $pid
wait $pid
check "the server stops cleanly" $? 0
trap 'rm -rf "$TMP"' EXIT

# the next builds by the command line and by retention keep the tags too
"$TAILOR" --data "$D" profile build >/dev/null
check "a profile build by the CLI keeps the tag" \
    "$("$TAILOR" --data "$D" profile show "$small" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["features"]["tag_big"])')" 1
"$TAILOR" --data "$D" retain --days 20 --json >"$TMP/retain.json"
check "retention built the profiles again" "$(jget profiles_rebuilt <"$TMP/retain.json")" True
check "... with the tag columns" \
    "$("$TAILOR" --data "$D" profile show "$small" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["features"].get("tag_spend", "MISSING"))')" high
finish
