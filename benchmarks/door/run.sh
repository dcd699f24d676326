#!/usr/bin/env bash
# The door under hostile load: `hooklog serve` (release build) on 127.0.0.1 while 1,000 connections
# trickle 4 MB bodies at it, first to an unknown token, then to a valid one, with real deliveries going
# on throughout; their latency is printed beside a reference phase of the same deliveries with no attack,
# measured in the same run. See attack.py for the phases.
#
#   benchmarks/door/run.sh                        # about 1.5 minutes after the build
#   HOOKLOG_DOOR_BENCH_BIN=/path/to/hooklog benchmarks/door/run.sh   # another build (an older one, say)
#
# Targets: the server's peak RSS ≤ 128 MB in both attack phases; real deliveries all answered 200, their
# p99 within 2× the reference's (or 5 ms, whichever is larger: on 2 cores the attackers' CPU is felt).
#
# Knobs (environment):
#   HOOKLOG_DOOR_BENCH_CONNECTIONS (1000)   attacking connections a phase
#   HOOKLOG_DOOR_BENCH_SECONDS (20)         length of each phase
#   HOOKLOG_DOOR_BENCH_RATE (50)            real deliveries a second
#   HOOKLOG_DOOR_BENCH_BIN                  the hooklog executable (default: build this tree's, release)
#   HOOKLOG_DOOR_BENCH_SERVE_ARGS           extra `serve` flags
#   HOOKLOG_DOOR_BENCH_KEEP=1               keep the temporary directory (data dir, server log)
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CONNECTIONS=${HOOKLOG_DOOR_BENCH_CONNECTIONS:-1000}
SECONDS_EACH=${HOOKLOG_DOOR_BENCH_SECONDS:-20}
RATE=${HOOKLOG_DOOR_BENCH_RATE:-50}

HOOKLOG=${HOOKLOG_DOOR_BENCH_BIN:-}
if [[ -z $HOOKLOG ]]; then
    "$ROOT/tools/build-release" hooklog >&2
    HOOKLOG=$ROOT/.build/release/hooklog
fi

# shellcheck source=../lib.sh
source "$HERE/../lib.sh"
bench_tmp hooklog-door-bench "${HOOKLOG_DOOR_BENCH_KEEP:-0}"

# The attackers, the real deliveries and the server each need more than the usual 1,024 descriptors.
ulimit -n "$(( $(ulimit -Hn) < 8192 ? $(ulimit -Hn) : 8192 ))"

# shellcheck disable=SC2086
"$HOOKLOG" serve --data "$TMP/data" --port 0 ${HOOKLOG_DOOR_BENCH_SERVE_ARGS:-} > "$TMP/serve.out" 2> "$TMP/serve.err" &
SERVE_PID=$!
SERVER_PIDS+=("$SERVE_PID")
for _ in $(seq 200); do
    grep -q '^token: ' "$TMP/serve.out" 2>/dev/null && break
    kill -0 "$SERVE_PID" 2>/dev/null || { cat "$TMP/serve.err" >&2; exit 1; }
    sleep 0.05
done
URL=$(sed -n 's/^ *o2vend: *//p' "$TMP/serve.out" | head -1)
[[ -n $URL ]] || { echo "serve printed no O2VEND URL" >&2; cat "$TMP/serve.out" "$TMP/serve.err" >&2; exit 1; }
PORT=$(echo "$URL" | sed -E 's|^http://127\.0\.0\.1:([0-9]+)/.*|\1|')
PATH_VALID=/${URL#http://*/}
echo "hooklog: $HOOKLOG (pid $SERVE_PID, port $PORT); $CONNECTIONS attacking connections, ${SECONDS_EACH}s a phase, $RATE real deliveries/s"

python3 "$HERE/attack.py" --pid "$SERVE_PID" --port "$PORT" --valid "$PATH_VALID" \
    --connections "$CONNECTIONS" --seconds "$SECONDS_EACH" --rate "$RATE" | tee "$TMP/attack.out"

get() { sed -n "s/^$1=//p" "$TMP/attack.out" | head -1; }
REF_P99=$(get reference_p99_ms)
LIMIT_P99=$(awk -v r="$REF_P99" 'BEGIN { l = 2 * r; if (l < 5) l = 5; printf "%.1f", l }')
echo
for phase in unknown valid; do
    peak=$(get "${phase}_peak_mb")
    p99=$(get "${phase}_p99_ms")
    say "door ($phase token x$CONNECTIONS): RSS before $(get "${phase}_before_mb") MB, peak $peak MB, after $(get "${phase}_after_mb") MB (target ≤ 128: $(verdict "$peak" "<=" 128)); real deliveries p50 $(get "${phase}_p50_ms") ms p99 $p99 ms vs $(get reference_p50_ms) / $REF_P99 ms with no attack (target p99 ≤ $LIMIT_P99: $(verdict "$p99" "<=" "$LIMIT_P99")), $(get "${phase}_ok")/$(get "${phase}_sent") answered 200"
done
if ! kill -0 "$SERVE_PID" 2>/dev/null; then
    problem "serve exited during the run"
    cat "$TMP/serve.err" >&2
fi
