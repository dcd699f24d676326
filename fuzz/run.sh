#!/usr/bin/env bash
# Builds the fuzz targets, writes their seed corpora and runs each for a while (see fuzz/README.md).
#
#   fuzz/run.sh [SECONDS] [TARGET]
#
#   SECONDS  how long each target runs (default 300)
#   TARGET   json, segment, parse, tape or all (default all: one after the other)
#
# Environment:
#   FIXTURES     the example deliveries the seeds come from (default the repository's Tests/Fixtures)
#   FUZZ_ARGS    more libFuzzer flags, e.g. "-fork=1 -ignore_crashes=1" to keep going after a crash
#   FUZZ_TMPDIR  fuzz-segment's scratch data directory (default /dev/shm, else /tmp)
#
# Everything it writes is gitignored: .build-fuzz/ (release, -sanitize=fuzzer,address), .build-seed/
# (fuzz-seed, without sanitizers: libFuzzer's runtime would take its main over), seeds/ (written again
# on every run), corpus/ (what libFuzzer learns, kept between runs), artifacts/ (crashes, timeouts,
# out-of-memory), logs/.
set -euo pipefail
cd "$(dirname "$0")"

seconds=${1:-300}
target=${2:-all}
fixtures=${FIXTURES:-../Tests/Fixtures}
case "$target" in
    all) targets=(json segment parse tape) ;;
    json | segment | parse | tape) targets=("$target") ;;
    *) echo "usage: $0 [SECONDS] [json|segment|parse|tape|all]" >&2; exit 2 ;;
esac

# SwiftPM does not always notice that the root package's manifest changed (a new target there):
# touching ours makes it plan the build again.
touch Package.swift
swift build -c release --scratch-path .build-seed --product fuzz-seed
.build-seed/release/fuzz-seed seeds "$fixtures"
for t in "${targets[@]}"; do
    if [ "$t" = tape ]; then
        # The C pass of the JSON tape alone, built by clang with ASan and libFuzzer: a small, fast
        # target for the C the whole request path stands on.
        mkdir -p .build-fuzz/release
        clang -fsanitize=fuzzer,address -O1 -g -I ../Sources/CJSONTape/include ../Sources/CJSONTape/json_tape.c \
            tape/fuzz_tape.c -o .build-fuzz/release/fuzz-tape
        mkdir -p seeds/tape && cp seeds/json/* seeds/tape/
        continue
    fi
    # -Xcc: the package's own C (the JSON minifier and tape, CRC32C) under ASan and coverage too;
    # -Xswiftc -sanitize reaches only Swift.
    swift build -c release --scratch-path .build-fuzz \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library \
        -Xcc -fsanitize=fuzzer-no-link,address --product "fuzz-$t"
done

# A trap is SIGILL: let libFuzzer report it (and write the artifact), not Swift's backtracer. Shorter
# allocation stacks make ASan's bookkeeping cheaper (~20 % more executions on fuzz-segment).
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-malloc_context_size=5}

for t in "${targets[@]}"; do
    case "$t" in
        json | tape) max_len=65536 leaks=1 rss=2048 ;;
        # Headers, arguments and query strings are short; a generic-source input carries a small body.
        parse) max_len=4096 leaks=1 rss=2048 ;;
        # Leak checks after every input cost fuzz-segment 3/4 of its speed: it runs without them, and
        # its whole corpus is run once with them at the end. Its process grows with the corpus (ASan's
        # quarantine, libFuzzer's tables: ~1.9 GB after 6,800 inputs, with no leak: the corpus ran clean
        # with leak detection, and no single input took more than ~360 MB): 4 GB, not libFuzzer's 2.
        segment) max_len=262144 leaks=0 rss=4096 ;;
    esac
    mkdir -p "corpus/$t" "artifacts/$t" logs
    log="logs/$t-$(date +%Y%m%d-%H%M%S).log"
    echo "fuzz-$t: ${seconds}s, log in fuzz/$log, crashes in fuzz/artifacts/$t/"
    # New inputs go to corpus/$t (the first directory); seeds/$t is only read.
    # shellcheck disable=SC2086
    ".build-fuzz/release/fuzz-$t" "corpus/$t" "seeds/$t" \
        -max_len=$max_len -timeout=10 -max_total_time="$seconds" -detect_leaks=$leaks -rss_limit_mb=$rss -print_final_stats=1 \
        -artifact_prefix="artifacts/$t/" ${FUZZ_ARGS:-} >"$log" 2>&1 &
    pid=$!
    trap 'kill $pid 2>/dev/null' INT TERM
    status=0
    wait $pid || status=$?
    grep -E '^#[0-9]+ +DONE|^#[0-9]+: cov|ERROR|SUMMARY|stat::number_of_executed_units|INFO: (exiting|fuzzed for)' "$log" | tail -6 || true
    if [ "$t" = segment ] && [ "$status" -eq 0 ]; then
        echo "fuzz-segment: the corpus once more, with leak detection"
        find corpus/segment -type f -print0 | xargs -0 -n 500 ".build-fuzz/release/fuzz-segment" -detect_leaks=1 \
            >>"$log" 2>&1 || status=$?
    fi
    if [ "$status" -ne 0 ]; then
        echo "fuzz-$t stopped with status $status: see fuzz/$log and fuzz/artifacts/$t/" >&2
        exit "$status"
    fi
done
