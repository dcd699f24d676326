# Shell helpers shared by the benchmark scripts (benchmarks/{ingest,replay,cli}/run.sh): the big
# benchmark archive, a temporary directory with the servers they start cleaned up on exit, the CPU
# accounting from /proc, and the summary lines. Source it after `set -euo pipefail`, with ROOT set.

# bench_archive: sets ARCHIVE and DATA (its hooklog data directory) for HOOKLOG_BENCH_EVENTS /
# HOOKLOG_BENCH_SEED (default 1000000 / 42), building the archive once if it is missing.
bench_archive() {
    ARCHIVE=$ROOT/benchmarks/.data/archive-${HOOKLOG_BENCH_EVENTS:-1000000}-seed${HOOKLOG_BENCH_SEED:-42}-corpus1-rest-dict
    DATA=$ARCHIVE/hooklog
    if [[ ! -f $ARCHIVE/manifest ]]; then
        echo "building the benchmark archive (once) ..." >&2
        (cd "$ROOT/benchmarks" && swift build -c release --product hooklog-bench-prepare >&2 \
            && .build/release/hooklog-bench-prepare) >&2
    fi
}

# bench_tmp NAME KEEP: makes $TMP (mktemp, in $TMPDIR) and the exit trap that stops every pid in
# SERVER_PIDS (SIGTERM, then waits) and removes $TMP, unless KEEP is 1.
bench_tmp() {
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
    BENCH_KEEP=$2
    SERVER_PIDS=()
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}
bench_cleanup() {
    local pid
    for pid in "${SERVER_PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    if [[ $BENCH_KEEP == 1 ]]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}

CLK_TCK=$(getconf CLK_TCK)
# cpu_ticks PID: user + system clock ticks of a process so far (0 once it is gone)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# machine_ticks: user + nice + system clock ticks of the whole machine so far
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 }' /proc/stat; }
# pct A B: A as a whole percentage of B
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b > 0) ? 100 * a / b : 0 }'; }
# verdict VALUE OP LIMIT (OP is >= or <=): "✓ met" / "✗ NOT met"
verdict() { awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN { ok = (op == ">=") ? (v >= l) : (v <= l); print ok ? "✓ met" : "✗ NOT met" }'; }

# say LINE: prints it and keeps it for the summary; problem LINE: the same for what went wrong
SUMMARY=()
PROBLEMS=()
say() { echo "$*"; SUMMARY+=("$*"); }
problem() { echo "  !! $*"; PROBLEMS+=("$*"); }
