#!/usr/bin/env bash
# Issue 6's replay benchmark: `hooklog replay` from the big benchmark archive to `hooklog-sink`, each
# figure printed beside wrk (a C HTTP load generator) sending the same kind of request to the same sink at
# the same concurrency, measured in the same run, with the ratio and the target. Ends with one summary
# line per comparison.
#
#   benchmarks/replay/run.sh          # about 1.5 minutes after the builds, on 2 cores
#
# What it measures (one sink for the whole run; `GET /stats` deltas check every phase):
#   1. 1-event requests: `hooklog replay --shape o2vend --concurrency 16` of the ONE subset (default
#      `--account saanjh-retail`: the O2VEND account, ~88 k events), requests/s = requests / wall seconds
#      of the process (start and archive scan included), vs wrk -c 16 -t 2 POSTing one payload of that
#      subset (the one nearest its mean size) as application/json. Target: ≥ 50 % of wrk's requests/s.
#   2. 50-event batches: `hooklog replay --shape orderspace --batch 50 --concurrency 16` of the BATCH
#      subset (default `--account northwind-trade`: an Orderspace account, ~270 k events), events/s, vs
#      wrk POSTing a JSON list of 50 payloads of that subset (the 50 consecutive ones whose total is
#      nearest 50 × the mean), requests/s × 50. Target: ≥ 50 % of wrk's events/s.
#   wrk's figure is the mean of two WRK_SECONDS runs, one just before and one just after the replay, so
#   drift in the machine's other load hits both sides alike (both runs are printed).
#   Then a diagnostic (not a target), if benchmarks/.build/release/hooklog-noop-server is built: (2)
#   again against it (a Hummingbird route that reads the body and answers 200 `{}`, no JSON parsing), to
#   show how far replay goes when the receiver is not the limit.
#
# Client (wrk or hooklog replay) and sink run on the same machine and share its cores (2 here), so every
# phase prints the CPU each side used (per request) and what other processes used meanwhile (from
# /proc/stat): a fuzzer or a build elsewhere on the machine skews the figures, and the run says so.
#
# Needs: swift, wrk, curl. Knobs (environment):
#   HOOKLOG_BENCH_EVENTS / HOOKLOG_BENCH_SEED     which archive (as benchmarks/run.sh; default 1000000 / 42)
#   HOOKLOG_REPLAY_BENCH_ONE ("--account saanjh-retail")     replay filters of (1) (no globbing by the shell)
#   HOOKLOG_REPLAY_BENCH_BATCH ("--account northwind-trade") replay filters of (2)
#   HOOKLOG_REPLAY_BENCH_CONCURRENCY (16)         replay --concurrency and wrk -c
#   HOOKLOG_REPLAY_BENCH_WRK_SECONDS (5)          each of the two wrk runs around a replay
#   HOOKLOG_REPLAY_BENCH_NOOP (1)                 0: skip the diagnostic against hooklog-noop-server
#   HOOKLOG_REPLAY_BENCH_PERF=DIR                 record `perf record -g` profiles of the replays in DIR
#   HOOKLOG_REPLAY_BENCH_NO_BUILD=1               use the built executables as they are
#   HOOKLOG_REPLAY_BENCH_KEEP=1                   keep the temporary directory (bodies, logs)
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=../lib.sh
source "$HERE/../lib.sh"
read -r -a ONE_ARGS <<< "${HOOKLOG_REPLAY_BENCH_ONE:---account saanjh-retail}"
read -r -a BATCH_ARGS <<< "${HOOKLOG_REPLAY_BENCH_BATCH:---account northwind-trade}"
CONC=${HOOKLOG_REPLAY_BENCH_CONCURRENCY:-16}
WRK_SECONDS=${HOOKLOG_REPLAY_BENCH_WRK_SECONDS:-5}
BATCH=50
WRK_THREADS=2
PERF_DIR=${HOOKLOG_REPLAY_BENCH_PERF:-}
REPLAY_TIMEOUT=600   # a replay to a dead sink retries for a long time: give up after this many seconds

for tool in wrk curl awk; do
    command -v "$tool" >/dev/null || { echo "error: $tool not found (apt-get install -y $tool)" >&2; exit 1; }
done
[[ -z $PERF_DIR ]] || { command -v perf >/dev/null || { echo "error: perf not found" >&2; exit 1; }; mkdir -p "$PERF_DIR"; }

# --- build, archive -----------------------------------------------------------------------------------
HOOKLOG=$ROOT/.build/release/hooklog
SINK=$ROOT/.build/release/hooklog-sink
NOOP=$ROOT/benchmarks/.build/release/hooklog-noop-server
if [[ ${HOOKLOG_REPLAY_BENCH_NO_BUILD:-0} != 1 ]]; then
    # (one product per invocation: given several --product, SwiftPM builds only the last)
    "$ROOT/tools/build-release" hooklog hooklog-sink >&2
fi
bench_archive

bench_tmp hooklog-replay-bench "${HOOKLOG_REPLAY_BENCH_KEEP:-0}"

# --- helpers ------------------------------------------------------------------------------------------
NCPU=$(nproc)
f0() { awk -v x="$1" 'BEGIN { printf "%.0f", x }'; }
f1() { awk -v x="$1" 'BEGIN { printf "%.1f", x }'; }
f2() { awk -v x="$1" 'BEGIN { printf "%.2f", x }'; }
load1() { cut -d' ' -f1-3 /proc/loadavg; }

# start_server VAR_URL CMD...: starts a server that prints `... listening on http://HOST:PORT`
start_server() {
    local -n _url=$1; shift
    local log=$TMP/server-${#SERVER_PIDS[@]}
    "$@" > "$log.out" 2> "$log.err" &
    SERVER_PIDS+=($!)
    LAST_SERVER_PID=$!
    for ((i = 0; i < 100; i++)); do
        _url=$(grep -o 'http://[0-9.]*:[0-9]*' "$log.out" 2>/dev/null | head -1 || true)
        [[ -n $_url ]] && return 0
        kill -0 "$LAST_SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "error: $1 did not start:" >&2; cat "$log.out" "$log.err" >&2; exit 1
}
# stat_of KEY: a counter of the sink's /stats
stats() { curl -sf "$SINK_BASE/stats" || echo '{}'; }
stat_of() { sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" <<< "$1"; }

# measure CMD...: runs CMD in this shell's foreground (its CPU shows in `times`) and sets
#   M_WALL (s), M_RC, M_CLIENT_CPU (s, the command and its children), M_SERVER_CPU (s, $MEASURED_SERVER),
#   M_OTHER (cores used by other processes of the machine meanwhile), M_LOAD (loadavg after)
# (`times` in this shell, not in a $(...) subshell, which would count its own children only)
children_s() { times > "$TMP/times"; tail -1 "$TMP/times" | awk '{ t = 0; for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); t += p[1] * 60 + p[2] } printf "%.3f", t }'; }
measure() {
    local t0 m0 c0 s0 t1 m1 c1 s1
    children_s > "$TMP/c0"; m0=$(machine_ticks); s0=$(cpu_ticks "$MEASURED_SERVER"); t0=$EPOCHREALTIME
    set +e; "$@"; M_RC=$?; set -e
    t1=$EPOCHREALTIME; m1=$(machine_ticks); s1=$(cpu_ticks "$MEASURED_SERVER"); children_s > "$TMP/c1"
    c0=$(< "$TMP/c0"); c1=$(< "$TMP/c1")
    M_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    M_CLIENT_CPU=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.3f", b - a }')
    M_SERVER_CPU=$(awk -v a="$s0" -v b="$s1" -v k="$CLK_TCK" 'BEGIN { printf "%.3f", (b - a) / k }')
    M_OTHER=$(awk -v m="$((m1 - m0))" -v s="$M_SERVER_CPU" -v c="$M_CLIENT_CPU" -v w="$M_WALL" -v k="$CLK_TCK" \
        'BEGIN { o = m / k - s - c; if (o < 0) o = 0; printf "%.2f", o / w }')
    M_LOAD=$(load1)
}
# cpu_line N WHAT: where the cores went in the last measure, N requests
cpu_line() {
    awk -v n="$1" -v w="$M_WALL" -v c="$M_CLIENT_CPU" -v s="$M_SERVER_CPU" -v o="$M_OTHER" -v who="$2" -v l="$M_LOAD" -v srv="$SERVER_LABEL" \
        'BEGIN { printf "%s %.2f cores (%.0f µs CPU/request), %s %.2f cores (%.0f µs/request), other processes %.2f cores; loadavg %s",
                 who, c / w, 1e6 * c / n, srv, s / w, 1e6 * s / n, o, l }'
}
check_other() { awk -v o="$M_OTHER" 'BEGIN { exit !(o > 0.25) }' && problem "$1: other processes used $M_OTHER cores meanwhile (figures skewed)"; return 0; }
check_alive() { kill -0 "$MEASURED_SERVER" 2>/dev/null || { problem "$1: the server is gone (killed by someone?); the run is void"; exit 1; }; }

# wrk_run LABEL LUA URL: sets W_RPS, W_REQS (and the measure figures)
wrk_run() {
    local out=$TMP/wrk-$1.txt
    measure wrk -c "$CONC" -t "$WRK_THREADS" -d "${WRK_SECONDS}s" -s "$2" "$3" > "$out" 2>&1
    W_RPS=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$out")
    W_REQS=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$out")
    local bad; bad=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$out")
    [[ $M_RC == 0 && -n $W_RPS ]] || { problem "wrk $1 failed:"; cat "$out"; exit 1; }
    [[ -z $bad ]] || problem "wrk $1: $bad non-2xx answers"
    grep -q 'Socket errors' "$out" && problem "wrk $1: $(grep 'Socket errors' "$out" | sed 's/^ *//')"
    check_alive "wrk $1"
    check_other "wrk $1"
    echo "  wrk $1: $(f0 "$W_RPS") req/s ($W_REQS requests in $(f1 "$M_WALL") s); $(cpu_line "$W_REQS" wrk)"
    return 0
}
# lua BODYFILE: a wrk script POSTing the file as application/json
lua() {
    local script=$TMP/$(basename "$1").lua
    cat > "$script" <<EOF
wrk.method = "POST"
local f = assert(io.open("$1", "rb")); wrk.body = f:read("*a"); f:close()
wrk.headers["Content-Type"] = "application/json"
EOF
    echo "$script"
}
# plan ARGS...: sets P_EVENTS, P_REQUESTS from a dry run
plan() {
    local out; out=$("$HOOKLOG" replay --data "$DATA" --to http://127.0.0.1:9/ --dry-run "$@")
    P_EVENTS=$(sed -n 's/^ *events: *\([0-9]*\).*/\1/p' <<< "$out")
    P_REQUESTS=$(sed -n 's/^ *requests: *\([0-9]*\).*/\1/p' <<< "$out")
    [[ -n $P_EVENTS && $P_EVENTS -gt 0 ]] || { echo "error: the dry run of $* selects no events:" >&2; echo "$out" >&2; exit 1; }
}
# replay_run LABEL URL ARGS...: a measured replay; sets R_DELIVERED, R_REQUESTS, R_OWN_S (its own timing)
replay_run() {
    local label=$1 url=$2; shift 2
    local err=$TMP/replay-$label.err pre=()
    [[ -z $PERF_DIR ]] || pre=(perf record -q -g -F 499 -o "$PERF_DIR/replay-$label.perf" --)
    local s0; s0=$(stats)
    measure timeout -k 10 "$REPLAY_TIMEOUT" "${pre[@]}" "$HOOKLOG" replay --data "$DATA" --to "$url" "$@" > "$err" 2>&1
    local s1; s1=$(stats)
    local line; line=$(grep '^replay: delivered' "$err" | tail -1 || true)
    R_DELIVERED=$(sed -n 's/^replay: delivered \([0-9]*\) of.*/\1/p' <<< "$line")
    R_REQUESTS=$(sed -n 's/.* events in \([0-9]*\) requests.*/\1/p' <<< "$line")
    R_OWN_S=$(sed -n 's/.* in \([0-9.]*\) s$/\1/p' <<< "$line")
    R_RETRIES=$(sed -n 's/.*(\([0-9]*\) retries.*/\1/p' <<< "$line")
    if [[ $M_RC != 0 || -z $line ]] || grep -q 'interrupted\|stopping after' "$err"; then
        problem "replay $label: exit $M_RC, not a complete run:"; sed 's/^/     /' "$err" | tail -5; exit 1
    fi
    [[ $R_DELIVERED == "$P_EVENTS" && $R_REQUESTS == "$P_REQUESTS" ]] \
        || problem "replay $label: delivered $R_DELIVERED events in $R_REQUESTS requests; the plan said $P_EVENTS in $P_REQUESTS"
    if [[ $MEASURED_SERVER == "$SINK_PID" ]]; then
        local dreq=$(( $(stat_of "$s1" requests) - $(stat_of "$s0" requests) ))
        local dev=$(( $(stat_of "$s1" events) - $(stat_of "$s0" events) ))
        [[ $dreq == $(( R_REQUESTS + ${R_RETRIES:-0} )) && $dev == "$R_DELIVERED" ]] \
            || problem "replay $label: the sink counted $dreq requests, $dev events (replay: $R_REQUESTS requests + ${R_RETRIES:-0} retries, $R_DELIVERED events)"
    fi
    check_alive "replay $label"
    check_other "replay $label"
    echo "  hooklog replay $label: $line"
    echo "    $(f0 "$(awk -v r="$R_REQUESTS" -v w="$M_WALL" 'BEGIN { print r / w }')") req/s, $(f0 "$(awk -v e="$R_DELIVERED" -v w="$M_WALL" 'BEGIN { print e / w }')") events/s over the process's $(f1 "$M_WALL") s; $(cpu_line "$R_REQUESTS" replay)"
    return 0
}
# bodies ARGS...: the subset's mean payload size (S_EVENTS, S_MEAN), then in $TMP/one.json the payload
# nearest the mean and in $TMP/batch.json `[` the 50 consecutive payloads whose total is nearest 50 × the
# mean `]`, both among the subset's first 20000 events
bodies() {
    read -r S_EVENTS S_MEAN < <("$HOOKLOG" query --data "$DATA" "$@" --format payload \
        | awk '{ n++; s += length($0) } END { printf "%d %.1f\n", n, n ? s / n : 0 }')
    "$HOOKLOG" query --data "$DATA" "$@" --format payload --limit 20000 | awk -v m="$S_MEAN" -v k="$BATCH" \
        -v one="$TMP/one.json" -v batch="$TMP/batch.json" '
        { line[NR] = $0; len[NR] = length($0); d = len[NR] - m; if (d < 0) d = -d
          if (NR == 1 || d < bestd) { bestd = d; best = NR }
          sum += len[NR]; if (NR > k) sum -= len[NR - k]
          if (NR >= k) { e = sum - k * m; if (e < 0) e = -e; if (!w || e < beste) { beste = e; w = NR - k + 1 } } }
        END { printf "%s", line[best] > one
              printf "[" > batch; for (i = w; i < w + k; i++) printf "%s%s", (i > w ? "," : ""), line[i] > batch; printf "]" > batch }'
}

# --- setup ----------------------------------------------------------------------------------------------
echo "archive: $ARCHIVE ($(sed -n 's/^events=//p' "$ARCHIVE/manifest") events)"
echo "hooklog: $HOOKLOG; sink: $SINK; $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
echo "machine: $NCPU cores, shared by the client (wrk or hooklog replay) and the sink; loadavg $(load1) at the start"
echo "  busiest processes over the last second: $(top -b -n 2 -d 1 -w 200 2>/dev/null | awk '/^ *PID/ { block++; next } block == 2 && NF >= 12 && n < 4 { printf "%s%s %s%%", sep, $12, $9; sep = ", "; n++ }')"
echo
cat "$DATA"/log/* > /dev/null    # the archive warm in the page cache, as for the other benchmarks

start_server SINK_BASE "$SINK" --port 0
SINK_PID=$LAST_SERVER_PID
MEASURED_SERVER=$SINK_PID
SERVER_LABEL=sink
URL=$SINK_BASE/replay-bench

# --- 1. 1-event requests ----------------------------------------------------------------------------------
plan "${ONE_ARGS[@]}" --shape o2vend --concurrency "$CONC"
bodies "${ONE_ARGS[@]}"
one_bytes=$(stat -c %s "$TMP/one.json")
echo "1-event: replay ${ONE_ARGS[*]} --shape o2vend --concurrency $CONC: $P_EVENTS events, mean payload $(f0 "$S_MEAN") B; wrk body: one $one_bytes-byte payload of them"
ONE_LUA=$(lua "$TMP/one.json")
measure wrk -c "$CONC" -t "$WRK_THREADS" -d 2s -s "$ONE_LUA" "$URL" > /dev/null 2>&1    # warm-up, not counted
wrk_run one-before "$ONE_LUA" "$URL"; w1=$W_RPS
replay_run one-event "$URL" "${ONE_ARGS[@]}" --shape o2vend --concurrency "$CONC"
one_rps=$(awk -v r="$R_REQUESTS" -v w="$M_WALL" 'BEGIN { print r / w }')
wrk_run one-after "$ONE_LUA" "$URL"; w2=$W_RPS
ref=$(awk -v a="$w1" -v b="$w2" 'BEGIN { print (a + b) / 2 }')
p=$(pct "$one_rps" "$ref")
say "replay 1-event (o2vend, ${ONE_ARGS[*]}, $P_EVENTS events, concurrency $CONC): hooklog replay $(f0 "$one_rps") req/s vs wrk $(f0 "$ref") req/s (same sink, -c $CONC -t $WRK_THREADS, $one_bytes-byte body; $(f0 "$w1") before, $(f0 "$w2") after) = $p % (target ≥ 50 %, $(verdict "$p" ">=" 50))"
echo

# --- 2. 50-event batches ------------------------------------------------------------------------------------
plan "${BATCH_ARGS[@]}" --shape orderspace --batch "$BATCH" --concurrency "$CONC"
bodies "${BATCH_ARGS[@]}"
batch_bytes=$(stat -c %s "$TMP/batch.json")
echo "batches: replay ${BATCH_ARGS[*]} --shape orderspace --batch $BATCH --concurrency $CONC: $P_EVENTS events in $P_REQUESTS requests, mean payload $(f0 "$S_MEAN") B; wrk body: a list of $BATCH of them, $batch_bytes B"
BATCH_LUA=$(lua "$TMP/batch.json")
wrk_run batch-before "$BATCH_LUA" "$URL"; w1=$W_RPS
replay_run batch "$URL" "${BATCH_ARGS[@]}" --shape orderspace --batch "$BATCH" --concurrency "$CONC"
batch_eps=$(awk -v e="$R_DELIVERED" -v w="$M_WALL" 'BEGIN { print e / w }')
batch_rps=$(awk -v r="$R_REQUESTS" -v w="$M_WALL" 'BEGIN { print r / w }')
batch_sink_us=$(awk -v s="$M_SERVER_CPU" -v n="$R_REQUESTS" 'BEGIN { print 1e6 * s / n }')
batch_sink_cores=$(awk -v s="$M_SERVER_CPU" -v w="$M_WALL" 'BEGIN { print s / w }')
wrk_run batch-after "$BATCH_LUA" "$URL"; w2=$W_RPS
ref=$(awk -v a="$w1" -v b="$w2" -v k="$BATCH" 'BEGIN { print k * (a + b) / 2 }')
p=$(pct "$batch_eps" "$ref")
say "replay batches (orderspace --batch $BATCH, ${BATCH_ARGS[*]}, $P_EVENTS events, concurrency $CONC): hooklog replay $(f0 "$batch_eps") events/s ($(f0 "$batch_rps") req/s) vs wrk $(f0 "$ref") events/s ($(f0 "$(awk -v r="$ref" -v k="$BATCH" 'BEGIN { print r / k }')") req/s × $BATCH, same sink, $batch_bytes-byte body; $(f0 "$w1") / $(f0 "$w2") req/s before / after) = $p % (target ≥ 50 %, $(verdict "$p" ">=" 50))"
# The sink counts a list's events with JSONSerialization: when that is what limits both sides, say so.
awk -v c="$batch_sink_cores" 'BEGIN { exit !(c > 0.8) }' \
    && echo "  note: the sink used $(f2 "$batch_sink_cores") cores ($(f0 "$batch_sink_us") µs a $BATCH-event request, mostly JSONSerialization counting the list's events): both sides are bound by the sink here; see the diagnostic below"
echo

# --- diagnostic: (2) against a receiver that does not parse ---------------------------------------------
if [[ ${HOOKLOG_REPLAY_BENCH_NOOP:-1} == 1 && -x $NOOP ]]; then
    start_server NOOP_BASE "$NOOP" --port 0
    MEASURED_SERVER=$LAST_SERVER_PID
    SERVER_LABEL="noop server"
    NURL=$NOOP_BASE/v1/orderspace/replay-bench
    echo "diagnostic (not a target): (2) against hooklog-noop-server (reads the body, answers {}; no JSON parsing)"
    wrk_run noop-batch "$BATCH_LUA" "$NURL"; nw=$W_RPS
    replay_run noop-batch "$NURL" "${BATCH_ARGS[@]}" --shape orderspace --batch "$BATCH" --concurrency "$CONC"
    neps=$(awk -v e="$R_DELIVERED" -v w="$M_WALL" 'BEGIN { print e / w }')
    echo "  => replay $(f0 "$neps") events/s vs wrk $(f0 "$(awk -v r="$nw" -v k="$BATCH" 'BEGIN { print r * k }')") events/s = $(pct "$neps" "$(awk -v r="$nw" -v k="$BATCH" 'BEGIN { print r * k }')") % (the replay's own ceiling with batches, where the sink is not the limit)"
    echo
elif [[ ${HOOKLOG_REPLAY_BENCH_NOOP:-1} == 1 ]]; then
    echo "(diagnostic against hooklog-noop-server skipped: build it with 'cd benchmarks && swift build -c release --product hooklog-noop-server')"
    echo
fi

echo "loadavg at the end: $(load1); $NCPU cores shared by client and sink throughout"
echo
echo "summary:"
printf '%s\n' "${SUMMARY[@]}"
if (( ${#PROBLEMS[@]} )); then
    echo "problems:"
    printf '  %s\n' "${PROBLEMS[@]}"
fi
