#!/usr/bin/env bash
# Issue 4's ingest benchmark: `hooklog serve` under HTTP load, each figure printed beside its reference
# measured in the same run, with the ratio and the target. Ends with one summary line per comparison.
#
#   benchmarks/ingest/run.sh                  # about 3.5 minutes after the builds, on 2 cores
#
# What it measures (every phase on a fresh data directory in $TMPDIR unless said):
#   1. append (the reference of 2): in process, `ArchiveStore.append` (durable, group commit) of a set of
#      N corpus Orderspace batches of 50 events from 32 concurrent tasks, the set repeated for SECONDS;
#      each batch with a 16-byte body digest and the default dedupe window, as `serve` stores an
#      Orderspace delivery (so the store does the same dedupe work and writes the same records; the
#      digest is made from the batch's position, not hashed: hashing the body is the server's work).
#      Events/s and MB/s of payload, counted as the appends are acknowledged (the background indexing and
#      LZ4HC recompression that close() then waits for is shown apart, for information).
#   2. batches: `hooklog serve`; the same set as Orderspace request bodies (`[` the payloads joined by `,`
#      `]`; on the k-th pass over the set, k spaces after the `[`, so every body is distinct for body
#      dedupe while every event's bytes stay those of (1)), POSTed over 32 keep-alive connections, closed
#      loop, WARMUP + SECONDS. Events/s, requests/s, p50/p99 latency. Target: ≥ 50 % of (1)'s events/s.
#   3. singles: 1-event O2VEND requests (a pool of corpus O2VEND events, each request with a new `Id`)
#      over 64 connections, closed loop, to hooklog-noop-server (Hummingbird 2, POST routes that collect
#      the body and answer 200 `{}`) and to a fresh `hooklog serve` in turn: SLICES slices each of WARMUP +
#      SECONDS/SLICES, the no-op server first, with the same request bodies, so that a host slowing down
#      for a while weighs on both alike. Requests/s of each. Target: hooklog ≥ 40 % of the no-op server.
#   4. paced: the server of (3) (its archive holds (3)'s events), 1-event O2VEND requests at half of
#      hooklog's requests/s in (3), open loop (sends follow the schedule whatever the answers; up to 64
#      connections), WARMUP + PACED_SECONDS. Ack latency p50/p99/p99.9 from the moment each request is
#      handed to the client (also shown: from its scheduled time, and how late the sender was). Target:
#      p99 ≤ 5 ms. Why 60 s by default: a 64 MB segment holds about 470k of these events, so at 7-15k
#      req/s one is sealed every 30-65 s, and sealing is the server's one periodic burst of background
#      work. A 15 s window held a seal in some runs and not in others, and one that did weighed it three
#      to four times as much as a long run does: the verdict was a draw. Over 60 s the seals come at their
#      natural frequency; the segments sealed in the window and the worst 15 s stretch's p99 are printed.
# Every HTTP phase checks the answers: any non-200, client error or duplicate (the corpus bodies and the
# Ids are all distinct, so the archive should store every event once) is printed, and after (2) and (4)
# the archive's event count (`hooklog stats`) is compared with what the answers said was stored.
#
# The load generator (hooklog-loadgen: by default a lean HTTP/1.1 driver on SwiftNIO channels, one event
# loop; AsyncHTTPClient on request, which costs about twice the CPU a request) runs on the same machine
# as the server: on 2 cores client and server share them, so the HTTP figures are lower than a server
# alone would reach. Both HTTP references use the same client, which keeps the ratios fair; the CPU
# seconds each side used are printed for every phase.
#
# Needs: swift. Knobs (environment):
#   HOOKLOG_INGEST_BENCH_BATCHES (1000)        N: the set of 50-event batches of (1) and (2)
#   HOOKLOG_INGEST_BENCH_SECONDS (15)          measured seconds of each phase (and each side of 3)
#   HOOKLOG_INGEST_BENCH_WARMUP (2)            unmeasured seconds before (2), each slice of (3), and (4)
#   HOOKLOG_INGEST_BENCH_SLICES (3)            how many turns each side of (3) takes (SECONDS in all)
#   HOOKLOG_INGEST_BENCH_PACED_SECONDS (60)    measured seconds of (4)
#   HOOKLOG_INGEST_BENCH_CLIENT (nio)          the load generator's HTTP client: nio or ahc (AsyncHTTPClient)
#   HOOKLOG_INGEST_BENCH_CLIENT_THREADS (1)    event-loop threads of the load generator
#   HOOKLOG_BENCH_SEED (42)                    corpus seed
#   HOOKLOG_INGEST_BENCH_NO_BUILD=1            use the built executables as they are
#   HOOKLOG_INGEST_BENCH_KEEP=1                keep the temporary directory (data dirs, server logs)
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
BENCH=$(cd "$HERE/.." && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BATCHES=${HOOKLOG_INGEST_BENCH_BATCHES:-1000}
SECONDS_MEASURED=${HOOKLOG_INGEST_BENCH_SECONDS:-15}
WARMUP=${HOOKLOG_INGEST_BENCH_WARMUP:-2}
THREADS=${HOOKLOG_INGEST_BENCH_CLIENT_THREADS:-1}
CLIENT=${HOOKLOG_INGEST_BENCH_CLIENT:-nio}
SEED=${HOOKLOG_BENCH_SEED:-42}
BATCH_CONNECTIONS=32
SINGLE_CONNECTIONS=64
SLICES=${HOOKLOG_INGEST_BENCH_SLICES:-3}
PACED_SECONDS=${HOOKLOG_INGEST_BENCH_PACED_SECONDS:-60}
WALL=$(awk -v a="$WARMUP" -v b="$SECONDS_MEASURED" 'BEGIN { print a + b }')

# --- build --------------------------------------------------------------------------------------------
HOOKLOG=$ROOT/.build/release/hooklog
LOADGEN=$BENCH/.build/release/hooklog-loadgen
NOOP=$BENCH/.build/release/hooklog-noop-server
if [[ ${HOOKLOG_INGEST_BENCH_NO_BUILD:-0} != 1 ]]; then
    "$ROOT/tools/build-release" hooklog >&2
    (cd "$BENCH" && swift build -c release --product hooklog-loadgen && swift build -c release --product hooklog-noop-server) >&2
fi

# shellcheck source=../lib.sh
source "$HERE/../lib.sh"
bench_tmp hooklog-ingest-bench "${HOOKLOG_INGEST_BENCH_KEEP:-0}"

# --- helpers ------------------------------------------------------------------------------------------
# get FILE KEY: the value of a `key=value` line of a loadgen output
get() { sed -n "s/^$2=//p" "$1" | head -1; }
# cpu_s TICKS: in seconds; cores SECONDS WALL: CPU seconds as cores over WALL seconds
cpu_s() { awk -v t="$1" -v k="$CLK_TCK" 'BEGIN { printf "%.2f", t / k }'; }
cores() { awk -v c="$1" -v s="$2" 'BEGIN { printf "%.2f", (s > 0) ? c / s : 0 }'; }
# per_request CPU_SECONDS RATE: microseconds of CPU a request, the phase (WALL seconds) at RATE req/s. The
# figure to compare between runs: when the host is contended it rises (for hooklog, whose every request
# waits on a disk sync and wakes other threads, more than for the no-op server), and the req/s and
# latencies of that run with it.
# (over WALL SECONDS instead of the phase's WALL when given)
per_request() { awk -v c="$1" -v r="$2" -v s="${3:-$WALL}" 'BEGIN { printf "%.0f", (r > 0) ? c * 1e6 / (r * s) : 0 }'; }
# server_cpu TICKS RATE [WALL]: "server ≈ C cores (U µs a request)", the server's TICKS over the phase (WALL
# seconds, the phase's by default) at RATE req/s
server_cpu() {
    local seconds wall=${3:-$WALL}
    seconds=$(cpu_s "$1")
    echo "server ≈ $(cores "$seconds" "$wall") cores ($(per_request "$seconds" "$2" "$wall") µs a request)"
}

# thread_ticks PID: "tid ticks name" for every thread of PID (name with spaces squeezed out)
thread_ticks() {
    local t
    for t in /proc/"$1"/task/*/stat; do
        sed -E 's/^([0-9]+) \((.*)\) [A-Za-z] (.*)$/\1 \3 \2/' "$t" 2>/dev/null \
            | awk '{ name = ""; for (i = 51; i <= NF; i++) name = name $i; print $1, $12 + $13, name }'
    done
}
# thread_report BEFORE AFTER SECONDS: the server's CPU by kind of thread over a phase (threads that came
# and went in between are missed)
thread_report() {
    awk -v s="$3" 'NR == FNR { before[$1] = $2; next }
        { n = $3
          if (n ~ /^NIO-/) n = "NIO event loops"
          else if (n ~ /qos/) n = "Swift concurrency pool"
          d = $2 - (($1 in before) ? before[$1] : 0); t[n] += d; all += d }
        END { for (n in t) if (t[n] > 0) printf "%s %.2f\n", n, t[n] / '"$CLK_TCK"' / s }' "$1" "$2" \
        | sort -k2 -t' ' -rn | awk '{ c = $NF; $NF = ""; sub(/ +$/, ""); printf "%s%s %s cores", sep, $0, c; sep = "; " } END { printf "" }'
    # The store's writer, syncer and indexer threads inherit the name of the thread that opened the store
    # (a pool thread): the busiest single threads show a serial bottleneck where there is one.
    awk -v s="$3" 'NR == FNR { before[$1] = $2; next }
        { d = $2 - (($1 in before) ? before[$1] : 0); if (d > 0) printf "%.2f %s\n", d / '"$CLK_TCK"' / s, $1 }' "$1" "$2" \
        | sort -rn | head -3 | awk '{ printf "%s%s %s", sep, $2, $1; sep = ", " } END { if (NR) printf " (busiest threads, cores)"; print "" }' | sed 's/^/; /'
}
# What else ran on the machine during a phase: CPU time of the whole machine (user + system, from
# /proc/stat) less that of the server and of this script's children (the load generator), per second.
# (children's CPU: `times` in this shell, not in a subshell, which would count its own children only)
phase_begin() {  # phase_begin [SERVER_PID]
    PHASE_PID=${1:-}; PHASE_T0=$EPOCHREALTIME; PHASE_M0=$(machine_ticks)
    times > "$TMP/times"; PHASE_C0=$(tail -1 "$TMP/times" | awk '{ t = 0; for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); t += p[1] * 60 + p[2] } printf "%.3f", t }')
    PHASE_S0=$([[ -n $PHASE_PID ]] && cpu_ticks "$PHASE_PID" || echo 0)
}
phase_end() {  # phase_end LABEL: prints and checks the other load
    local m1 c1 s1 other
    m1=$(machine_ticks); times > "$TMP/times"; c1=$(tail -1 "$TMP/times" | awk '{ t = 0; for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); t += p[1] * 60 + p[2] } printf "%.3f", t }'); s1=$([[ -n $PHASE_PID ]] && cpu_ticks "$PHASE_PID" || echo 0)
    other=$(awk -v m="$((m1 - PHASE_M0))" -v s="$((s1 - PHASE_S0))" -v c0="$PHASE_C0" -v c1="$c1" -v t0="$PHASE_T0" \
        -v t1="$EPOCHREALTIME" -v k="$CLK_TCK" 'BEGIN { o = (m - s) / k - (c1 - c0); if (o < 0) o = 0; printf "%.2f", o / (t1 - t0) }')
    echo "  other processes on the machine meanwhile: $other cores"
    awk -v o="$other" 'BEGIN { exit !(o > 0.15) }' && problem "$1: other processes used $other cores meanwhile (figures skewed)"
    return 0
}

# wait_for_line FILE PATTERN PID: waits (30 s at most) until FILE has a line matching PATTERN
wait_for_line() {
    local i
    for ((i = 0; i < 300; i++)); do
        grep -q -- "$2" "$1" 2>/dev/null && return 0
        kill -0 "$3" 2>/dev/null || { echo "error: the server exited:" >&2; cat "$1" "$1.err" >&2 2>/dev/null; exit 1; }
        sleep 0.1
    done
    echo "error: no '$2' from the server within 30 s" >&2
    exit 1
}

# start_hooklog NAME: `hooklog serve` on a fresh data dir $TMP/NAME; sets SERVER_PID, ORDERSPACE_URL, O2VEND_URL
start_hooklog() {
    local out=$TMP/$1.out
    "$HOOKLOG" serve --data "$TMP/$1" --port 0 > "$out" 2> "$out.err" &
    SERVER_PID=$!
    SERVER_PIDS+=("$SERVER_PID")
    wait_for_line "$out" '^  o2vend: ' "$SERVER_PID"
    ORDERSPACE_URL=$(sed -n 's/^  orderspace: *//p' "$out")
    O2VEND_URL=$(sed -n 's/^  o2vend: *//p' "$out")
}
# start_noop NAME: hooklog-noop-server; sets SERVER_PID, O2VEND_URL (same path shape as hooklog's)
start_noop() {
    local out=$TMP/$1.out
    "$NOOP" --port 0 > "$out" 2> "$out.err" &
    SERVER_PID=$!
    SERVER_PIDS+=("$SERVER_PID")
    wait_for_line "$out" '^noop: listening on ' "$SERVER_PID"
    O2VEND_URL="$(sed -n 's/^noop: listening on //p' "$out")/v1/o2vend/noop"
}
# stop_server PID [LABEL]: SIGTERM, then waits (30 s at most); with LABEL, says the peak memory and how
# long the stop took (a clean stop finishes the store's queued background work)
stop_server() {
    local hwm t0=$EPOCHREALTIME i
    hwm=$(awk '/^VmHWM:/ { printf "%.0f MB", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || true)
    kill -TERM "$1" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$1" 2>/dev/null && { problem "${2:-server}: did not stop on SIGTERM within 30 s; killed"; kill -KILL "$1"; }
    wait "$1" 2>/dev/null || true
    [[ -z ${2:-} ]] || echo "  server: peak RSS $hwm; stopped $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s after SIGTERM"
}
# check_answers FILE LABEL: reports non-200 answers, client errors and duplicates in a loadgen output
check_answers() {
    local non200 errors dups first
    non200=$(get "$1" non200); errors=$(get "$1" errors); dups=$(get "$1" answer_duplicates)
    (( non200 == 0 )) || problem "$2: $non200 non-200 answers ($(get "$1" non200_by_status))"
    (( errors == 0 )) || problem "$2: $errors requests failed in the client"
    (( ${dups:-0} == 0 )) || problem "$2: $dups events answered as duplicates"
    local warm_bad warm_dups; warm_bad=$(get "$1" outside_window_not_ok); warm_dups=$(get "$1" outside_window_duplicates)
    (( ${warm_bad:-0} == 0 )) || problem "$2: $warm_bad non-200 answers outside the measured window"
    (( ${warm_dups:-0} == 0 )) || problem "$2: $warm_dups duplicates outside the measured window"
    first=$(get "$1" first_problem)
    [[ -z $first ]] || echo "  first problem: $first"
}
# check_log FILE LABEL: warnings and errors the server logged
check_log() {
    local n; n=$(grep -c -E '(warning|error|critical)' "$1" || true)
    (( n == 0 )) || { problem "$2: the server logged $n warning/error lines, e.g.:"; grep -m 3 -E '(warning|error|critical)' "$1" | sed 's/^/      /'; }
}
# check_archive DIR EXPECTED LABEL: the archive's event count against the stored events the answers counted
check_archive() {
    local n; n=$("$HOOKLOG" stats --data "$1" | sed -n 's/^events: \([0-9]*\).*/\1/p')
    if [[ $n == "$2" ]]; then echo "  archive check: $n events stored, as the answers said"
    else problem "$3: the archive holds $n events, the answers said $2 were stored"; fi
}

echo "ingest benchmark: $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), $(free -g | awk '/^Mem:/ { print $2 }') GiB;" \
    "client and server share the cores"
echo "data dirs: $TMP ($(df -T "$TMP" | awk 'NR == 2 { print $2 " on " $1 }')); kernel $(uname -r)"
echo "hooklog: $HOOKLOG; loadgen: $([[ $CLIENT == nio ]] && echo "SwiftNIO driver" || echo AsyncHTTPClient), HTTP/1.1 keep-alive, $THREADS event-loop thread(s); seed $SEED"
echo

# --- 1. in-process append (reference) ----------------------------------------------------------------
echo "1. in-process append: $BATCHES batches × 50 Orderspace events, 32 tasks, repeated for ≥ $SECONDS_MEASURED s ..."
phase_begin
"$LOADGEN" append --data "$TMP/append" --batches "$BATCHES" --tasks 32 --seed "$SEED" \
    --min-seconds "$SECONDS_MEASURED" > "$TMP/append.txt"
A=$TMP/append.txt
A_EPS=$(get "$A" events_per_s)
A_MBPS=$(get "$A" payload_mb_per_s)
[[ -z $(get "$A" first_problem) ]] || problem "append: $(get "$A" first_problem)"
echo "  $(get "$A" events) events in $(get "$A" seconds) s = $A_EPS events/s, $A_MBPS MB/s of payload;" \
    "append p50 $(get "$A" append_latency_p50_ms) ms p99 $(get "$A" append_latency_p99_ms) ms; CPU $(get "$A" cpu_seconds) s;" \
    "$(get "$A" batch_body_bytes_avg) bytes a batch body"
echo "  (info: close() then took $(get "$A" close_seconds) s finishing background indexing/recompression:" \
    "$(get "$A" events_per_s_with_close) events/s counting it; peak RSS $(get "$A" peak_rss_mb) MB; data dir $(du -sh "$TMP/append" | cut -f1))"
phase_end append
rm -rf "$TMP/append"
echo

# --- 2. hooklog serve, the same batches over HTTP ------------------------------------------------------
echo "2. hooklog serve: the same $BATCHES batches (a pass of the set after the first: spaces after '[', so" \
    "bodies stay distinct and events identical), $BATCH_CONNECTIONS connections, ${WARMUP} s warm-up + ${SECONDS_MEASURED} s ..."
start_hooklog batches
c0=$(cpu_ticks "$SERVER_PID"); thread_ticks "$SERVER_PID" > "$TMP/threads0"; phase_begin "$SERVER_PID"
"$LOADGEN" batches --url "$ORDERSPACE_URL" --batches "$BATCHES" --connections "$BATCH_CONNECTIONS" \
    --threads "$THREADS" --client "$CLIENT" --seed "$SEED" --warmup "$WARMUP" --seconds "$SECONDS_MEASURED" > "$TMP/batches.txt"
c1=$(cpu_ticks "$SERVER_PID"); thread_ticks "$SERVER_PID" > "$TMP/threads1"
B=$TMP/batches.txt
B_EPS=$(get "$B" events_per_s)
echo "  $(get "$B" ok) requests in ${SECONDS_MEASURED} s = $(get "$B" req_per_s) req/s, $B_EPS events/s, $(get "$B" payload_mb_per_s) MB/s of payload" \
    "($(get "$B" passes) passes of the set); latency p50 $(get "$B" latency_p50_ms) ms p99 $(get "$B" latency_p99_ms) ms max $(get "$B" latency_max_ms) ms"
echo "  CPU: server ≈ $(cores "$(cpu_s $((c1 - c0)))" "$WALL") cores, loadgen $(get "$B" loadgen_cpu_seconds) s in the ${SECONDS_MEASURED} s"
echo "  server threads: $(thread_report "$TMP/threads0" "$TMP/threads1" "$WALL")"
phase_end batches
check_answers "$B" batches
# (+1: the probe request before the run)
check_archive "$TMP/batches" $(( $(get "$B" answer_stored) + $(get "$B" outside_window_stored) + 1 )) batches
stop_server "$SERVER_PID" batches
check_log "$TMP/batches.out.err" batches
rm -rf "$TMP/batches"
say "ingest-batches (50-event batches, $BATCH_CONNECTIONS connections): hooklog serve $B_EPS events/s ($(get "$B" req_per_s) req/s, p50 $(get "$B" latency_p50_ms) ms, p99 $(get "$B" latency_p99_ms) ms) vs in-process durable append $A_EPS events/s ($A_MBPS MB/s) = $(pct "$B_EPS" "$A_EPS") % (target ≥ 50 %, $(verdict "$(pct "$B_EPS" "$A_EPS")" ">=" 50))"
echo

# --- 3. 1-event requests: no-op server and hooklog serve, in alternating slices ------------------------
# The two sides take turns, SLICES slices each of WARMUP + SECONDS/SLICES, on the same request bodies (slice
# k of both with tag 3k): a host that slows down for a while (these shared VMs do, by a third at times)
# then weighs on both sides alike, where one phase after the other could put it all on one of them.
singles() {  # singles URL TAG OUTPUT SECONDS
    "$LOADGEN" singles --url "$1" --connections "$SINGLE_CONNECTIONS" --threads "$THREADS" --client "$CLIENT" --seed "$SEED" \
        --tag "$2" --warmup "$WARMUP" --seconds "$4" > "$3"
}
# over_slices STAT KEY FILE...: the mean, median or max of KEY over the slices' files (the median of an
# even count: the higher; the mean of equal-length slices' rates is the rate over all of them)
over_slices() {
    local stat=$1 key=$2; shift 2
    for f in "$@"; do get "$f" "$key"; done | sort -g | awk -v stat="$stat" '{ v[NR] = $1; t += $1 }
        END { if (stat == "mean") printf "%.0f", t / NR; else if (stat == "median") print v[int(NR / 2) + 1]; else print v[NR] }'
}
SLICE_SECONDS=$(awk -v s="$SECONDS_MEASURED" -v n="$SLICES" 'BEGIN { printf "%g", s / n }')
SLICE_WALL=$(awk -v a="$WARMUP" -v b="$SLICE_SECONDS" -v n="$SLICES" 'BEGIN { print (a + b) * n }')
echo "3. 1-event O2VEND requests, $SINGLE_CONNECTIONS connections: no-op server and hooklog serve in turn, $SLICES slices each of" \
    "${WARMUP} s warm-up + ${SLICE_SECONDS} s ..."
start_noop noop
NOOP_PID=$SERVER_PID; NOOP_URL=$O2VEND_URL
start_hooklog singles
HOOKLOG_PID=$SERVER_PID; HOOKLOG_URL=$O2VEND_URL
n0=$(cpu_ticks "$NOOP_PID"); thread_ticks "$NOOP_PID" > "$TMP/noop-threads0"
c0=$(cpu_ticks "$HOOKLOG_PID"); thread_ticks "$HOOKLOG_PID" > "$TMP/threads0"
NOOP_FILES=(); SINGLES_FILES=(); S_STORED=0
# slice K PID URL NAME LABEL: slice K against the server PID at URL, into $TMP/NAME-K.txt (in this shell,
# not a subshell: phase_begin/phase_end count this shell's children)
slice() {
    local f=$TMP/$4-$1.txt
    phase_begin "$2"
    singles "$3" "3$1" "$f" "$SLICE_SECONDS"
    echo "  slice $1: $5 $(get "$f" req_per_s) req/s (p99 $(get "$f" latency_p99_ms) ms)"
    phase_end "$4 slice $1"
    check_answers "$f" "$4 slice $1"
}
for ((k = 1; k <= SLICES; k++)); do
    slice "$k" "$NOOP_PID" "$NOOP_URL" noop no-op
    NOOP_FILES+=("$TMP/noop-$k.txt")
    slice "$k" "$HOOKLOG_PID" "$HOOKLOG_URL" singles hooklog
    SINGLES_FILES+=("$TMP/singles-$k.txt")
    S_STORED=$(( S_STORED + $(get "$TMP/singles-$k.txt" answer_stored) + $(get "$TMP/singles-$k.txt" outside_window_stored) ))
done
n1=$(cpu_ticks "$NOOP_PID"); thread_ticks "$NOOP_PID" > "$TMP/noop-threads1"
c1=$(cpu_ticks "$HOOKLOG_PID"); thread_ticks "$HOOKLOG_PID" > "$TMP/threads1"
N_RPS=$(over_slices mean req_per_s "${NOOP_FILES[@]}")
S_RPS=$(over_slices mean req_per_s "${SINGLES_FILES[@]}")
N_P50=$(over_slices median latency_p50_ms "${NOOP_FILES[@]}"); N_P99=$(over_slices max latency_p99_ms "${NOOP_FILES[@]}")
S_P50=$(over_slices median latency_p50_ms "${SINGLES_FILES[@]}"); S_P99=$(over_slices max latency_p99_ms "${SINGLES_FILES[@]}")
echo "  no-op: $N_RPS req/s; latency p50 $N_P50 ms (median slice), p99 $N_P99 ms (highest slice);" \
    "CPU: $(server_cpu $((n1 - n0)) "$N_RPS" "$SLICE_WALL") in its slices"
echo "  server threads: $(thread_report "$TMP/noop-threads0" "$TMP/noop-threads1" "$SLICE_WALL")"
stop_server "$NOOP_PID" noop
echo "  hooklog: $S_RPS req/s; latency p50 $S_P50 ms (median slice), p99 $S_P99 ms (highest slice);" \
    "CPU: $(server_cpu $((c1 - c0)) "$S_RPS" "$SLICE_WALL") in its slices"
echo "  server threads: $(thread_report "$TMP/threads0" "$TMP/threads1" "$SLICE_WALL")"
SERVER_PID=$HOOKLOG_PID; O2VEND_URL=$HOOKLOG_URL
say "ingest-singles (1-event requests, $SINGLE_CONNECTIONS connections, $SLICES alternating slices): hooklog serve $S_RPS req/s (p50 $S_P50 ms, p99 $S_P99 ms) vs no-op Hummingbird POST route $N_RPS req/s (p50 $N_P50 ms, p99 $N_P99 ms) = $(pct "$S_RPS" "$N_RPS") % (target ≥ 40 %, $(verdict "$(pct "$S_RPS" "$N_RPS")" ">=" 40))"
echo

# --- 4. paced at half the peak --------------------------------------------------------------------------
RATE=$(( S_RPS / 2 ))
echo "4. hooklog serve (the server of 3), 1-event O2VEND requests paced at $RATE req/s (half of 3), open loop, ${WARMUP} s warm-up + ${PACED_SECONDS} s ..."
segments() { find "$TMP/singles" -name '*.log' | wc -l; }
g0=$(segments)
c0=$(cpu_ticks "$SERVER_PID"); thread_ticks "$SERVER_PID" > "$TMP/threads0"; phase_begin "$SERVER_PID"
"$LOADGEN" paced --url "$O2VEND_URL" --rate "$RATE" --connections "$SINGLE_CONNECTIONS" --threads "$THREADS" --client "$CLIENT" \
    --seed "$SEED" --tag 4 --warmup "$WARMUP" --seconds "$PACED_SECONDS" --window "$SECONDS_MEASURED" > "$TMP/paced.txt"
c1=$(cpu_ticks "$SERVER_PID"); thread_ticks "$SERVER_PID" > "$TMP/threads1"
g1=$(segments)
PACED_WALL=$(awk -v a="$WARMUP" -v b="$PACED_SECONDS" 'BEGIN { print a + b }')
P=$TMP/paced.txt
echo "  sent $(get "$P" achieved_rate) req/s (target $(get "$P" target_rate); at most $(get "$P" max_waiting_for_a_connection) requests waited for a free connection);" \
    "ack latency p50 $(get "$P" latency_p50_ms) ms p90 $(get "$P" latency_p90_ms) ms p99 $(get "$P" latency_p99_ms) ms p99.9 $(get "$P" latency_p999_ms) ms max $(get "$P" latency_max_ms) ms"
echo "  from the scheduled time: p50 $(get "$P" from_schedule_p50_ms) ms p99 $(get "$P" from_schedule_p99_ms) ms p99.9 $(get "$P" from_schedule_p999_ms) ms;" \
    "queued before sending (no free connection, or the timer late) p99 $(get "$P" send_lag_p99_ms) ms"
echo "  segments sealed during the phase (warm-up included): $((g1 - g0)); the worst ${SECONDS_MEASURED} s stretch (starts 1 s apart):" \
    "p99 $(get "$P" worst_window_p99_ms) ms, from $(get "$P" worst_window_start_s) s"
echo "  CPU: $(server_cpu $((c1 - c0)) "$RATE" "$PACED_WALL"), loadgen $(get "$P" loadgen_cpu_seconds) s in the ${PACED_SECONDS} s"
echo "  server threads: $(thread_report "$TMP/threads0" "$TMP/threads1" "$PACED_WALL")"
phase_end paced
check_answers "$P" paced
P_STORED=$(( $(get "$P" answer_stored) + $(get "$P" outside_window_stored) ))
# Each 1-event request stores one event (plus the loadgen's probe request before each run: one a slice
# of (3), one for (4)).
check_archive "$TMP/singles" $(( S_STORED + P_STORED + SLICES + 1 )) "singles+paced"
stop_server "$SERVER_PID" "singles+paced"
check_log "$TMP/singles.out.err" "singles+paced"
say "ingest-latency (1-event requests at $RATE req/s = half of hooklog's peak, open loop, ${PACED_SECONDS} s, $((g1 - g0)) segment(s) sealed): hooklog serve ack p50 $(get "$P" latency_p50_ms) ms, p99 $(get "$P" latency_p99_ms) ms, p99.9 $(get "$P" latency_p999_ms) ms (from the scheduled time: p99 $(get "$P" from_schedule_p99_ms) ms; worst ${SECONDS_MEASURED} s: p99 $(get "$P" worst_window_p99_ms) ms) (target p99 ≤ 5 ms, $(verdict "$(get "$P" latency_p99_ms)" "<=" 5))"
echo

echo "summary ($(nproc) cores shared by the load generator and the server):"
printf '%s\n' "${SUMMARY[@]}"
if (( ${#PROBLEMS[@]} > 0 )); then
    echo "problems:"
    printf '  %s\n' "${PROBLEMS[@]}"
fi
