#!/usr/bin/env bash
# Builds hooklog's benchmarks in release and runs them all, then prints the summary: each figure beside its
# reference measured in the same run, with the ratio and the target.
#
#   benchmarks/run.sh                          # the default sizes (1 M-event archive, cached in .data)
#   HOOKLOG_BENCH_EVENTS=10000000 benchmarks/run.sh   # by hand: the 10 M-event archive (takes a while once)
#   benchmarks/run.sh --filter 'append.*'      # extra arguments go to `swift package benchmark`
set -euo pipefail
cd "$(dirname "$0")"
export HOOKLOG_BENCH_RUN="${HOOKLOG_BENCH_RUN:-$(date -u +%Y%m%dT%H%M%SZ)}"

for product in hooklog-bench-prepare hooklog-bench-report; do
    swift build -c release --product "$product"
done
# The big archive (hooklog + SQLite twin) is built once per size and seed, then reused.
.build/release/hooklog-bench-prepare
swift package benchmark --no-progress "$@"
echo
.build/release/hooklog-bench-report
