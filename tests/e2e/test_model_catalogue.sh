#!/usr/bin/env bash
# test_model_catalogue.sh -- models older than the catalogue. Every kind of
# model is trained, then thousands of new items arrive with events from old
# and new users. Recommendations from the command line, from `serve` (old,
# moved and new users, unknown ones), after SIGHUP, POST /v1/admin/reload
# and an erasure, and from a campaign run all work: items the models never
# saw are scored through their alike items or left out, users the models
# learnt nothing of get the cold start over the whole catalogue, and no
# list names an item twice, one the user had, or one that does not exist.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

W=$TMP/world
D=$TMP/d
"$TAILOR" gen --users 1500 --items 150 --days 20 --seed 11 --dirty 0 --out "$W" >/dev/null
"$TAILOR" --data "$D" import "$W"/{users,items,consents,events}.csv >/dev/null 2>&1
MODELS="pop segpop ease ials knn blend"
for m in $MODELS; do
    check_cmd "train $m" bash -c "'$TAILOR' --data '$D' train --model $m >/dev/null"
done

# the users: the most active one, one without history who stays so, one
# without history who then takes only new items, and one new to the store
read -r OLD COLD MOVED < <(python3 - "$W" <<'EOF'
import collections, csv, sys
w = sys.argv[1]
users = [r["user"] for r in csv.DictReader(open(f"{w}/users.csv", encoding="utf-8"))]
n = collections.Counter(e["user"] for e in csv.DictReader(open(f"{w}/events.csv", encoding="utf-8"))
                        if e.get("item"))
idle = [u for u in users if not n[u]]
print(n.most_common(1)[0][0], idle[0], idle[1])
EOF
)
NEWU=x000001

# 3000 new items in the catalogue's categories; events from old and new users
python3 - "$W" "$TMP" "$OLD" "$MOVED" "$NEWU" <<'EOF'
import csv, sys
w, t, old, moved, newu = sys.argv[1:]
cats = sorted({r["category"] for r in csv.DictReader(open(f"{w}/items.csv", encoding="utf-8"))})
with open(f"{t}/new_items.csv", "w", newline="") as f:
    o = csv.writer(f)
    o.writerow(["item", "title", "category", "brand", "price"])
    for i in range(3000):
        o.writerow([f"n{i:05d}", f"New item {i}", cats[i % len(cats)], f"Brand{i % 7}", 20 + i % 500])
with open(f"{t}/new_users.csv", "w", newline="") as f:
    o = csv.writer(f)
    o.writerow(["user", "gender", "birth_year"])
    for k in range(1, 301):
        o.writerow([f"x{k:06d}", "fm"[k % 2], 1960 + k % 40])
with open(f"{t}/new_events.csv", "w", newline="") as f:
    o = csv.writer(f)
    o.writerow(["event_id", "user", "item", "type", "ts"])
    k = 0
    for i in range(3000):
        who = [f"x{1 + i % 300:06d}", f"u{1 + (i * 7) % 1500:06d}"]
        if i % 100 == 0:
            who += [moved]
        if i % 500 == 0:
            who += [old]
        for u in who:
            k += 1
            o.writerow([f"ne{k:07d}", u, f"n{i:05d}", ("view", "cart", "purchase")[i % 3],
                        f"2025-11-30T{i % 24:02d}:{i % 60:02d}:00Z"])
EOF
for f in new_users new_items new_events; do
    "$TAILOR" --data "$D" import "$TMP/$f.csv" >"$TMP/$f.out" 2>&1
    check "import $f" "$?" 0
done
"$TAILOR" --data "$D" profile build >/dev/null

# every list is kept (keep WHAT USER FILE [EXPECT]) and checked at the end
# in one pass (lists_valid): items each once, existing, none the user had;
# EXPECT cold: the cold start (popularity by segment and taste, in order);
# fill: 100 items, some new
mkdir -p "$TMP/lists"
nlists=0
keep() {
    nlists=$((nlists + 1))
    cp "$3" "$TMP/lists/$nlists.json"
    printf '%s\t%s\t%s\t%s\n' "$nlists" "$2" "$1" "${4:-}" >>"$TMP/lists/index"
}
lists_valid() {
    python3 - "$W" "$TMP" <<'EOF'
import collections, csv, json, sys
world, tmp = sys.argv[1:3]
items = {r["item"] for r in csv.DictReader(open(f"{world}/items.csv", encoding="utf-8"))}
items |= {r["item"] for r in csv.DictReader(open(f"{tmp}/new_items.csv", encoding="utf-8"))}
had = collections.defaultdict(set)
for f in (f"{world}/events.csv", f"{tmp}/new_events.csv"):
    for e in csv.DictReader(open(f, encoding="utf-8")):
        if e.get("item"):
            had[e["user"]].add(e["item"])
bad = 0
for line in open(f"{tmp}/lists/index"):
    n, user, what, expect = line.rstrip("\n").split("\t")
    got = json.load(open(f"{tmp}/lists/{n}.json"))["items"]
    ids, scores = [i["item"] for i in got], [i["score"] for i in got]
    cold = (len(ids) == 10 and scores == sorted(scores, reverse=True) and scores[0] > scores[-1]
            and all(i["reason"].startswith(("popular", "trending")) for i in got))
    why = ("empty" if not ids else "an item twice" if len(ids) != len(set(ids))
           else f"unknown items {set(ids) - items}" if not set(ids) <= items
           else f"items the user had {set(ids) & had[user]}" if set(ids) & had[user]
           else "not the cold start" if expect == "cold" and not cold
           else "no new items" if expect == "fill" and not (len(ids) == 100 and any(i.startswith("n") for i in ids))
           else None)
    if why:
        bad += 1
        print(f"FAIL: {what}: {why}")
sys.exit(bad > 0)
EOF
}

for m in $MODELS; do
    for u in "$OLD" "$COLD" "$MOVED" "$NEWU"; do
        "$TAILOR" --data "$D" recommend "$u" --model "$m" --n 20 --json >"$TMP/r.json" 2>"$TMP/r.err"
        check "recommend $u with $m" "$?" 0
        keep "recommend $u with $m" "$u" "$TMP/r.json"
    done
done
# users whose history is all newer than the model get the cold start, not
# the model's blank guesses
for m in ease ials knn blend; do
    for u in "$MOVED" "$NEWU"; do
        "$TAILOR" --data "$D" recommend "$u" --model "$m" --n 10 --json >"$TMP/r.json"
        keep "$m: $u, newer than the model, gets the cold start" "$u" "$TMP/r.json" cold
    done
done
# new items reach a known user's list through their alike items (the
# category has fewer old items than the list is long)
cat=$(python3 -c 'import csv,sys; print(min(csv.DictReader(open(sys.argv[1], encoding="utf-8")), key=lambda r: r["item"])["category"].split("/")[0])' "$W/items.csv")
for m in ease ials knn blend; do
    "$TAILOR" --data "$D" recommend "$OLD" --model "$m" --category "$cat" --n 100 --json >"$TMP/r.json"
    keep "$m: new items fill a category's list" "$OLD" "$TMP/r.json" fill
done

# the server: starts, serves everybody, reloads, erases
"$TAILOR" --data "$D" apikey create --role service >"$TMP/svc.key" 2>/dev/null
"$TAILOR" --data "$D" apikey create --role admin >"$TMP/adm.key" 2>/dev/null
SVC=$(cat "$TMP/svc.key") ADM=$(cat "$TMP/adm.key")
"$TAILOR" --data "$D" serve --listen 127.0.0.1:0 --model ease >"$TMP/serve.out" 2>"$TMP/serve.err" &
pid=$!
trap 'kill -9 $pid 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do grep -q listening "$TMP/serve.out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$TMP/serve.out")
URL="http://127.0.0.1:$port"
req() { # METHOD PATH KEY: prints the status, the body to $TMP/body
    curl -s -o "$TMP/body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $3" "$URL$2"
}
recs_all() { # every user and model answers 200 with a valid list
    local what=$1 m u
    for m in $MODELS; do
        for u in "$OLD" "$COLD" "$MOVED" "$NEWU"; do
            check "$what: $m for $u" "$(req GET "/v1/users/$u/recommendations?n=20&model=$m" "$SVC")" 200
            keep "$what: $m for $u" "$u" "$TMP/body"
        done
    done
    check "$what: an unknown user" "$(req GET '/v1/users/nobody/recommendations?n=5' "$SVC")" 200
}
recs_all "served"
kill -HUP $pid
for _ in $(seq 100); do grep -q reloaded "$TMP/serve.err" && break; sleep 0.1; done
check "SIGHUP reloads" "$(grep -c reloaded "$TMP/serve.err")" 1
MODELS="ease ials" recs_all "after SIGHUP"
check "POST /v1/admin/reload" "$(req POST /v1/admin/reload "$ADM")" 200
MODELS="ease knn" recs_all "after POST /v1/admin/reload"
check "erase a user newer than the models" "$(req DELETE "/v1/users/$NEWU" "$ADM")" 200
check "erase a user the models learnt from" "$(req DELETE "/v1/users/$OLD" "$ADM")" 200
check "... the server still answers" "$(req GET "/v1/users/$MOVED/recommendations?n=5" "$SVC")" 200
keep "after the erasures" "$MOVED" "$TMP/body"
kill -TERM $pid
wait $pid
check "the server stops cleanly" "$?" 0
check_cmd "every list is valid ($nlists of them)" lists_valid

# a campaign run with recommendations over every profile
cat >"$TMP/camp.json" <<'EOF'
{"id":"grown","audience":"true","channels":["push"],"content":{"type":"recommendations","n":3},"holdout":0}
EOF
"$TAILOR" --data "$D" campaign create "$TMP/camp.json" >/dev/null
"$TAILOR" --data "$D" campaign run grown --at 2025-12-01T10:00:00+08:00 --json >"$TMP/run.json" 2>"$TMP/run.err"
check "campaign run with recommendations" "$?" 0
check_cmd "... every delivery carries three existing items" python3 - "$D/outbox/push.jsonl" "$W" "$TMP" <<'EOF'
import csv, json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
items = {r["item"] for r in csv.DictReader(open(f"{sys.argv[2]}/items.csv", encoding="utf-8"))}
items |= {r["item"] for r in csv.DictReader(open(f"{sys.argv[3]}/new_items.csv", encoding="utf-8"))}
assert len(rows) > 500, len(rows)
for r in rows:
    ids = r["content"]["items"]
    assert len(ids) == 3 == len(set(ids)) and set(ids) <= items, r
EOF
finish
