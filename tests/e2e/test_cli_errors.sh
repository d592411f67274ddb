#!/usr/bin/env bash
# test_cli_errors.sh -- how the command line fails and what it says about
# itself: --version and `version` print the version CMakeLists.txt sets; an
# unknown command, subcommand or option names the nearest known one (exit
# 2, not the whole help); under --json every command fails with exactly
# one JSON error object on stderr, whose exit is the process's and the
# same as without --json (rejected records inside it), and succeeds with
# nothing on stderr.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---- the version
want=$(sed -n 's/^project(tailor VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
check "CMakeLists.txt sets a version" "${want:+set}" set
check "tailor --version" "$("$TAILOR" --version)" "tailor $want"
check "tailor version" "$("$TAILOR" version)" "tailor $want"
check "tailor version --json" "$("$TAILOR" version --json | jget version)" "$want"

# ---- the nearest command, subcommand, option
nearest() { # DESC EXPECTED-FIRST-LINE ARGS...
    local desc=$1 first=$2 rc=0
    shift 2
    "$TAILOR" "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
    check "$desc: exit 2" "$rc" 2
    check "$desc: says" "$(head -n 1 "$TMP/err")" "$first"
    check "$desc: not the whole help" "$(grep -c -e '^commands:' -e 'usage: tailor \[--data DIR\] <command>' "$TMP/err" "$TMP/out" | awk -F: '{ s += $2 } END { print s }')" 0
}
nearest "a misspelt command" "tailor: unknown command 'recomend'; did you mean 'recommend'?" recomend u000001
check_cmd "... and points to tailor help" grep -q '`tailor help`' "$TMP/err"
nearest "an unknown command" "tailor: unknown command 'frobnicate'" frobnicate
nearest "a command's prefix" "tailor: unknown command 'segm'; did you mean 'segment'?" segm list
nearest "help for a misspelt command" "tailor help: unknown command 'campain'; did you mean 'campaign'?" help campain
nearest "a misspelt subcommand" "tailor campaign: unknown subcommand 'rn'; did you mean 'run'?" campaign rn cart-push
nearest "swapped letters" "tailor segment: unknown subcommand 'craete'; did you mean 'create'?" segment craete x --where true
nearest "an unknown subcommand" "tailor profile: unknown subcommand 'frobnicate'" profile frobnicate
nearest "a misspelt option" "tailor stats: unknown option '--jsno'; did you mean '--json'?" stats --jsno
nearest "a misspelt option with a value" "tailor recommend: unknown option '--scnee'; did you mean '--scene'?" recommend u000001 --scnee cart

# ---- errors under --json
D=$TMP/d
"$TAILOR" gen --users 300 --items 100 --days 20 --out "$TMP/w" >/dev/null
"$TAILOR" --data "$D" import "$TMP"/w/{users,items,products,credit,consents,events}.csv >/dev/null 2>&1
"$TAILOR" --data "$D" profile build >/dev/null
printf 'user,type,ts\nu000001,view,2025-11-01T00:00:00Z\nu000002,teleport,2025-11-01T00:00:00Z\n' >"$TMP/bad.csv"
printf '{"id":"x","channels":["pigeon"]}\n' >"$TMP/camp.json"
printf 'id,x,default\na1,1,0\na2,2,1\na3,3\n' >"$TMP/score.csv"
N=$TMP/none
# one failing run of every command that takes --json, with its arguments
fails=(
    "import --strict $TMP/bad.csv"
    "import --kind nope $TMP/bad.csv"
    "stats --data $N"
    "quarantine list --limit lots"
    "check --data $N"
    "profile show nobody"
    "tag apply $TMP/no-rules.txt"
    "segment create big --where orders>"
    "identity show nobody"
    "train --model nope"
    "eval --split sideways"
    "recommend"
    "similar"
    "score train --csv $TMP/no.csv --target default"
    "propensity cv --csv $TMP/score.csv"
    "offers"
    "report campaign nothing"
    "campaign create $TMP/camp.json"
    "campaign rn"
    "status --at yesterday"
    "feedback import $TMP/no.csv"
    "uplift train --campaign nothing"
    "apikey create --role root"
    "gen --users 0 --out $TMP/w0"
    "export-user"
    "erase"
    "retain"
    "audit verify --data $N"
    "key rotate --data $N"
    "version extra"
    "recomend u000001"
)
covered=" "
k=0
for f in "${fails[@]}"; do
    read -r -a args <<<"$f"
    covered+="${args[0]} "
    k=$((k + 1))
    rc=0
    "$TAILOR" --data "$D" "${args[@]}" --json >/dev/null 2>"$TMP/err.$k" || rc=$?
    plain=0
    "$TAILOR" --data "$D" "${args[@]}" >/dev/null 2>"$TMP/plain.$k" || plain=$?
    printf '%s\t%s\t%s\n' "$rc" "$plain" "$f" >>"$TMP/runs.tsv"
done
check_cmd "under --json, one JSON error object on stderr with the process's exit code, as without --json" \
    python3 - "$TMP" <<'EOF'
import json, sys
bad = []
for k, row in enumerate(open(sys.argv[1] + "/runs.tsv"), 1):
    rc, plain, what = row.rstrip("\n").split("\t")
    text = open(f"{sys.argv[1]}/err.{k}").read()
    lines = text.splitlines()
    try:
        assert len(lines) == 1, "not one line"
        e = json.loads(lines[0])["error"]
        assert e["exit"] == int(rc) != 0, f"exit {e['exit']}, the process's {rc}"
        assert e["code"] and e["message"], "no code or message"
        assert plain == rc, f"exit {plain} without --json, {rc} with it"
        assert not open(f"{sys.argv[1]}/plain.{k}").read().startswith("{"), "JSON without --json"
    except (AssertionError, ValueError, KeyError) as x:
        bad.append(f"{what}: {x}: {text!r}")
assert not bad, "\n".join(bad)
EOF
# every command that takes --json is among them
for c in $("$TAILOR" help | sed -n 's/^  \([a-z-]*\) .*/\1/p'); do
    if "$TAILOR" help "$c" | grep -q -- '--json'; then
        check "a failure of $c under --json is tried" "$([[ $covered == *" $c "* ]] && echo yes)" yes
    fi
done

# the rejected records of a strict import are in the error object
"$TAILOR" --data "$D" import --strict "$TMP/bad.csv" --json >/dev/null 2>"$TMP/err"
check "a strict import's rejected record, in the error" \
    "$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["error"]["rejected"]; print(len(r), r[0]["line"], r[0]["reason"])' "$TMP/err")" \
    "1 3 unknown_type"
# a success under --json leaves stderr empty, even with rejected rows
rc=0
{ cat "$SRC/examples/applicants.csv"; echo "a999999,broken"; } >"$TMP/apps.csv"
"$TAILOR" score train --csv "$TMP/apps.csv" --target default --id id --out "$TMP/card.json" --json \
    >"$TMP/out" 2>"$TMP/err" || rc=$?
check "--json, with a rejected row: the JSON result" "$rc $(jget rejected <"$TMP/out")" "0 1"
check "... and nothing on stderr" "$(wc -c <"$TMP/err")" 0
finish
