#!/usr/bin/env bash
# test_rec_frontends.sh -- the command line and the API give the same
# recommendations and similar items: the same items and reasons
# (from the cache and for a scene too), the same limit on n, and the same
# fall back to likeness by content when there is no item-kNN model.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

W=$TMP/world
D=$TMP/d
"$TAILOR" gen --users 800 --items 120 --days 10 --seed 5 --dirty 0 --out "$W" >/dev/null
"$TAILOR" --data "$D" import "$W"/{users,items,consents,events}.csv >/dev/null 2>&1
"$TAILOR" --data "$D" train --model ials >/dev/null
"$TAILOR" --data "$D" train --model ease >/dev/null
"$TAILOR" --data "$D" profile build >/dev/null
read -r WARM COLD < <(python3 - "$W" <<'EOF'
import collections, csv, sys
w = sys.argv[1]
users = [r["user"] for r in csv.DictReader(open(f"{w}/users.csv", encoding="utf-8"))]
n = collections.Counter(e["user"] for e in csv.DictReader(open(f"{w}/events.csv", encoding="utf-8"))
                        if e.get("item"))
print(n.most_common(1)[0][0], next(u for u in users if not n[u]))
EOF
)
ITEM=i00007

# the command line: one limit on n, and similar items without a kNN model
"$TAILOR" --data "$D" recommend "$WARM" --n 100 >/dev/null 2>&1
check "recommend --n 100" "$?" 0
"$TAILOR" --data "$D" recommend "$WARM" --n 101 >/dev/null 2>"$TMP/n.err"
check "recommend --n 101 is refused" "$?" 2
check "... saying the limit" "$(grep -c 100 "$TMP/n.err")" 1
"$TAILOR" --data "$D" similar "$ITEM" --n 101 >/dev/null 2>&1
check "similar --n 101 is refused" "$?" 2
"$TAILOR" --data "$D" similar "$ITEM" --n 5 --json >"$TMP/sim-cli.json" 2>"$TMP/sim.err"
check "similar without a kNN model" "$?" 0
check "... is by content" "$(jget by <"$TMP/sim-cli.json")" content

# lists compared by items and reasons (the order is the scores'; the API
# prints them to 6 digits)
cli() { # USER MODEL N [SCENE]: the CLI's list
    "$TAILOR" --data "$D" recommend "$1" --model "$2" --n "$3" ${4:+--scene "$4"} --json |
        python3 -c 'import json,sys; print(json.dumps([[i["item"], i["reason"]] for i in json.load(sys.stdin)["items"]]))'
}
api() { # PATH: the API's list
    curl -s -H "Authorization: Bearer $SVC" "$URL$1" |
        python3 -c 'import json,sys; print(json.dumps([[i["item"], i.get("reason")] for i in json.load(sys.stdin)["items"]]))'
}
start() {
    "$TAILOR" --data "$D" serve --listen 127.0.0.1:0 >"$TMP/serve.out" 2>"$TMP/serve.err" &
    pid=$!
    for _ in $(seq 100); do grep -q listening "$TMP/serve.out" 2>/dev/null && break; sleep 0.1; done
    URL="http://127.0.0.1:$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$TMP/serve.out")"
}
SVC=$("$TAILOR" --data "$D" apikey create --role service 2>/dev/null)
ADM=$("$TAILOR" --data "$D" apikey create --role admin 2>/dev/null)
start
trap 'kill -9 $pid 2>/dev/null; rm -rf "$TMP"' EXIT
status() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $SVC" "$URL$1"; }

for u in "$WARM" "$COLD"; do
    want=$(cli "$u" ials 10)
    check "$u: the API's list (and reasons) is the CLI's" "$(api "/v1/users/$u/recommendations?n=10")" "$want"
    check "$u: ... from the cache too" "$(api "/v1/users/$u/recommendations?n=10")" "$want"
    check "$u: ... with another model" "$(api "/v1/users/$u/recommendations?n=10&model=ease")" "$(cli "$u" ease 10)"
done
check "a scene's reasons are the CLI's" "$(api "/v1/users/$WARM/recommendations?n=5&scene=item:$ITEM")" \
    "$(cli "$WARM" ials 5 "item:$ITEM")"
check_cmd "... and say what the list goes with" grep -q "goes with" <<<"$(api "/v1/users/$WARM/recommendations?n=5&scene=item:$ITEM")"
check "API n=100" "$(status "/v1/users/$WARM/recommendations?n=100")" 200
check "API n=101 is refused" "$(status "/v1/users/$WARM/recommendations?n=101")" 400
check "API similar n=101 is refused" "$(status "/v1/items/$ITEM/similar?n=101")" 400

simlist() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["by"], json.dumps([[i["item"], round(i["similarity"], 4)] for i in d["items"]]))'; }
check "similar by content: the API's is the CLI's" \
    "$(curl -s -H "Authorization: Bearer $SVC" "$URL/v1/items/$ITEM/similar?n=5" | simlist)" "$(simlist <"$TMP/sim-cli.json")"

# with an item-kNN model, both by interactions
check_cmd "train knn while serving" "$TAILOR" --data "$D" train --model knn >/dev/null
check "reload" "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $ADM" "$URL/v1/admin/reload")" 200
"$TAILOR" --data "$D" similar "$ITEM" --n 5 --json >"$TMP/sim-cli.json"
check "similar by kNN" "$(jget by <"$TMP/sim-cli.json")" interactions
check "similar by kNN: the API's is the CLI's" \
    "$(curl -s -H "Authorization: Bearer $SVC" "$URL/v1/items/$ITEM/similar?n=5" | simlist)" "$(simlist <"$TMP/sim-cli.json")"
kill -TERM $pid
wait $pid
check "the server stops cleanly" "$?" 0
finish
