#!/usr/bin/env bash
# test_readme.sh -- every command of the README's "Using it" section, run in
# order and as written, in a fresh directory that holds what a clone holds:
# build/tailor, examples/ and ../shared/datasets. Only what must differ in a
# test is changed: a smaller world, a free loopback port for the server, a
# local gateway for deliveries. The API key is the one `apikey create`
# printed, as in a shell. Lines that need a public data set are skipped
# with a message when it is absent.
#
# Every command must succeed (curl fails on an HTTP error here), and the
# imports must quarantine only the rows that are really bad: the generated
# world's exactly the defects its truth.json lists, whatever order
# world/*.csv names its files in; the examples' and MovieLens' none.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

README=$SRC/README.md
mapfile -t lines < <(awk '/^## Using it/ { s = 1; next }
    s == 1 && /^```sh/ { s = 2; next }
    s == 2 && /^```/ { exit }
    s == 2' "$README")
check "the README's Using it section has commands" "$((${#lines[@]} > 30))" 1

W=$TMP/clone
mkdir -p "$W/build"
ln -s "$TAILOR" "$W/build/tailor"
ln -s "$SRC/examples" "$W/examples"
if [[ -d $DATASETS ]]; then
    mkdir -p "$TMP/shared"
    ln -s "$DATASETS" "$TMP/shared/datasets"
fi
# curl as the README calls it, failing on an HTTP error status
mkdir -p "$TMP/curl"
printf 'fail-with-body\nsilent\nshow-error\n' >"$TMP/curl/.curlrc"
export CURL_HOME=$TMP/curl

serve_pid=
python3 "$SRC/tests/e2e/gateway.py" "$TMP/delivered.jsonl" >"$TMP/gateway.port" &
gateway=$!
trap 'kill $gateway $serve_pid 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do [[ -s $TMP/gateway.port ]] && break; sleep 0.1; done
gport=$(head -n 1 "$TMP/gateway.port")

# What an import left: its summary line's counts as "read accepted
# duplicates quarantined".
counts() { sed -n 's/^read=\([0-9]*\) accepted=\([0-9]*\) duplicates=\([0-9]*\) quarantined=\([0-9]*\)$/\1 \2 \3 \4/p' "$1" | tail -n 1; }

cd "$W" || exit 1
port=
n=0
for line in "${lines[@]}"; do
    n=$((n + 1))
    cmd=$line
    if [[ $cmd == *../shared/datasets/* ]]; then
        f=${cmd#*../shared/datasets/}
        f=../shared/datasets/${f%% *}
        if [[ ! -e $f ]]; then
            echo "skipped (no $f): $line"
            continue
        fi
    fi
    cmd=${cmd//--users 20000 --items 3000/--users 2000 --items 600}
    cmd=${cmd//https:\/\/gateway.example/http://127.0.0.1:$gport}
    cmd=${cmd//127.0.0.1:8080/127.0.0.1:0}
    cmd=${cmd//localhost:8080/localhost:$port}
    out=$TMP/out.$n
    rc=0
    eval "$cmd" >"$out" 2>"$out.err" || rc=$?
    if [[ $cmd == *" serve "*"&" ]]; then
        serve_pid=$!
        for _ in $(seq 200); do grep -q listening "$out" 2>/dev/null && break; sleep 0.1; done
        port=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$out" | head -n 1)
        check "the server listens: $line" "${port:+yes}" yes
        continue
    fi
    if [[ $cmd == kill* ]]; then
        wait "$serve_pid"
        rc=$?
    fi
    if ((rc != 0)); then
        fail "exit $rc: $line"
        sed 's/^/    /' "$out.err" | head -n 20
        continue
    fi
    pass
    case $cmd in
    *" import world/*.csv"*)
        check_cmd "the world's import quarantines exactly its known defects" python3 - \
            world/truth.json "$out" <(build/tailor --data mydata stats --json) <<'EOF'
import json, re, sys
truth = json.load(open(sys.argv[1]))
last = open(sys.argv[2]).read().split("\n")[-2]
stats = json.load(open(sys.argv[3]))
want = {k: v for k, v in truth["dirty"].items() if v}
got = stats.get("quarantined_by_reason", {})
dup = int(re.search(r"duplicates=(\d+)", last).group(1))
assert got == want, f"quarantined by reason {got}, the world's defects {want}"
assert dup == truth["duplicates"], (dup, truth["duplicates"])
EOF
        ;;
    *" import --preset movielens "*)
        check "MovieLens: nothing quarantined" "$(counts "$out" | cut -d' ' -f4)" 0
        ;;
    *" feedback import "*)
        check "the example feedback: all accepted" "$(counts "$out")" "6 6 0 0"
        ;;
    *events.jsonl*)
        check "the example events: all accepted" \
            "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["accepted"], d["quarantined"])' "$out")" "7 0"
        ;;
    esac
done
cd "$SRC" || exit 1
finish
