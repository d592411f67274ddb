#!/usr/bin/env bash
# test_import_order.sh -- one import command gives the same store whatever
# order its files are named in.
#
# A generated world (its consents as JSON Lines, the rest as CSV) is
# imported with one command in several orders, each into a fresh data
# directory: name order (what `import world/*` gives: consents and credit
# before users), reverse name order, a shuffled order, and the consents
# through a pipe named first (a pipe is read after the files). Every store must equal the first: the
# import's counts by reason, `stats --json`, `check --json`, the quarantine
# (file, line, reason) and the exported profiles; and what is quarantined
# is exactly the world's dirty rows (truth.json), so no good row is
# quarantined as unknown_user.
#
# Across commands a reference is checked against what the store holds:
# consents and credit records imported before their users are quarantined
# as unknown_user, and importing the same files again once the users are
# in takes them, reaching the store of the single command.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

W=$TMP/world
"$TAILOR" gen --users 300 --items 200 --days 20 --out "$W" >/dev/null
python3 - "$W" <<'PY'
import csv, json, os, sys
w = sys.argv[1]
# a blank first line in place of the header: the same line numbers
with open(os.path.join(w, "consents.csv"), newline="") as f, open(os.path.join(w, "consents.jsonl"), "w") as o:
    o.write("\n")
    for row in csv.DictReader(f):
        o.write(json.dumps({k: v for k, v in row.items() if v}) + "\n")
PY

# summary DIR: what must not depend on the order, one line per aspect.
summary() {
    local d=$1
    "$TAILOR" --data "$d" stats --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
print("stats", json.dumps(s, sort_keys=True))
print("store", json.dumps({k: v for k, v in s.items() if not k.startswith("quarantined")}, sort_keys=True))'
    echo "check $("$TAILOR" --data "$d" check --json | jcanon)"
    # rows by file and reason, and a digest of every (file, line, reason)
    "$TAILOR" --data "$d" quarantine export --format jsonl | python3 -c '
import collections, hashlib, json, os, sys
q = [json.loads(l) for l in sys.stdin]
def show(rows):
    return "%s %s" % (dict(sorted(collections.Counter(r[:-2] + r[-1:] for r in rows).items())),
                      hashlib.md5(repr(sorted(rows)).encode()).hexdigest())
print("quarantine", show([(os.path.basename(o["source"]), o["line"], o["reason"]) for o in q]))
print("reasons", show([(o["line"], o["reason"]) for o in q]))'
    "$TAILOR" --data "$d" profile build >/dev/null 2>&1
    echo "profiles $("$TAILOR" --data "$d" profile export | md5sum)"
}

# one_command NAME FILE...: a fresh store NAME imported with one command.
one_command() {
    local name=$1
    shift
    "$TAILOR" --data "$TMP/$name" import --json "$@" >"$TMP/$name.json" 2>"$TMP/$name.err" ||
        fail "$name: import exited $?: $(head -c 300 "$TMP/$name.err")"
    summary "$TMP/$name" >"$TMP/$name.sum"
}

NAMES=(consents.jsonl credit.csv events.csv items.csv products.csv users.csv)
one_command names "${NAMES[@]/#/$W/}"

# The reference: the world's dirty rows, and nothing else, quarantined.
check_cmd "name order: read = accepted + duplicates + quarantined, by reason as truth.json's dirty rows" \
    python3 - "$TMP/names.json" "$W/truth.json" <<'PY'
import json, sys
s, t = (json.load(open(f)) for f in sys.argv[1:])
assert s["read"] == s["accepted"] + s["duplicates"] + s["quarantined"], s
dirty = {k: v for k, v in t["dirty"].items() if v}
assert s["by_reason"] == dirty, (s["by_reason"], dirty)
assert s["by_reason"].get("unknown_user", 0) == t["dirty"]["unknown_user"], s["by_reason"]
assert s["duplicates"] == t["duplicates"], (s["duplicates"], t["duplicates"])
PY
check "name order: no good row is an unknown user" \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["by_reason"].get("unknown_user", 0))' "$TMP/names.json")" \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["dirty"]["unknown_user"])' "$W/truth.json")"

REVERSED=(users.csv products.csv items.csv events.csv credit.csv consents.jsonl)
SHUFFLED=(events.csv consents.jsonl users.csv products.csv credit.csv items.csv)
one_command reversed "${REVERSED[@]/#/$W/}"
one_command shuffled "${SHUFFLED[@]/#/$W/}"
one_command piped <(cat "$W/consents.csv") "$W/credit.csv" "$W/users.csv" "$W/events.csv" \
    "$W/items.csv" "$W/products.csv"
for name in reversed shuffled piped; do
    check "$name: the import's counts" "$(jcanon <"$TMP/$name.json")" "$(jcanon <"$TMP/names.json")"
    while read -r aspect rest; do
        # a pipe has a name of its own: its rows are compared without it
        [[ $name == piped && $aspect == quarantine ]] && continue
        check "$name: $aspect as in name order" "$rest" "$(sed -n "s/^$aspect //p" "$TMP/names.sum")"
    done <"$TMP/$name.sum"
done

# Two commands in the wrong order, then the references again.
S=$TMP/split
imp "$S" "$TMP/split1" "$W/consents.jsonl" "$W/credit.csv"
check "consents and credit before any user: exit" "$rc" 0
check "... every row quarantined" "$Q" "$R"
check "... as unknown_user" "$("$TAILOR" --data "$S" stats --json | python3 -c '
import json, sys; q = json.load(sys.stdin)["quarantined_by_reason"]; print(sorted(q))')" "['unknown_user']"
imp "$S" "$TMP/split2" "$W/users.csv" "$W/items.csv" "$W/products.csv" "$W/events.csv"
imp "$S" "$TMP/split3" "$W/consents.jsonl" "$W/credit.csv"
check "the same files once the users are in: quarantined as in one command" "$Q" \
    "$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["by_reason"]; print(s.get("unknown_user", 0))' "$TMP/names.json")"
summary "$S" >"$TMP/split.sum"
for aspect in store check profiles; do
    check "split: $aspect as in one command" "$(sed -n "s/^$aspect //p" "$TMP/split.sum")" \
        "$(sed -n "s/^$aspect //p" "$TMP/names.sum")"
done

finish
