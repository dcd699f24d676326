#!/usr/bin/env bash
# Issue 5's CLI benchmarks: the `hooklog` executable end to end (process start included) on the big
# benchmark archive, each figure printed beside its reference measured in the same run, with the ratio
# and the target. Ends with one summary line per comparison.
#
#   benchmarks/cli/run.sh                                  # 1 M-event archive, a few minutes on 2 cores
#   HOOKLOG_BENCH_EVENTS=10000000 benchmarks/cli/run.sh    # another archive size (built once if missing)
#
# What it measures:
#   1. query-entity: `hooklog query --entity E > /dev/null` for N entities of sample-entities.txt (a cold
#      process each time, page cache warm) vs the sqlite3 CLI running the same query on the SQLite twin
#      (`SELECT <all columns> … WHERE entity='E' ORDER BY seq`, index on entity). Mean and p95 of the wall
#      time per command over all entities and runs. Target: hooklog faster.
#   2. full-scan throughput, MB of payload (payloadBytes in the manifest) per second: `query --contains TEXT`
#      (TEXT matches a few events only, so every block is read) and `export --output /dev/null` (as the
#      issue words it), vs `lz4 -d` of the same payload bytes (dumped with `query --format payload`,
#      compressed with `lz4 -1 -B4 -BI --no-frame-crc`: independent 64 KB blocks as the store writes, no
#      checksum), MB/s of decompressed output. Median of 3 runs each, files warm in the page cache. Target
#      ≥ 40 %. export formats on one thread per CPU by default (`--threads`); the same run also prints
#      export with `--threads 1`, and export to a plain NDJSON file in $TMPDIR (its time includes the
#      fsync of the whole file before the rename, as a user would see it), as information.
#   3. export size: `export --output x.ndjson.gz` (zlib level 6) vs `gzip -6 -c` of the plain export.
#      Target: within 10 %.
#   Then a few diagnostics (not targets) saying where the time of a cold query goes: `hooklog --help`
#   (process start only), `stats` (start + opening a snapshot), `query --entity E --limit 1`, a query for
#   an entity that does not exist, and `sqlite3 events.db 'SELECT 1'`.
#
# Needs: swift, sqlite3, gzip, lz4 (`apt-get install -y lz4`). Knobs (environment):
#   HOOKLOG_BENCH_EVENTS / HOOKLOG_BENCH_SEED   which archive (as benchmarks/run.sh; default 1000000 / 42)
#   HOOKLOG_CLI_BENCH_ENTITIES (30)  entities queried;  HOOKLOG_CLI_BENCH_RUNS (10) timed runs per entity
#   HOOKLOG_CLI_BENCH_WARMUP (3)     untimed runs per entity and command first
#   HOOKLOG_CLI_BENCH_CONTAINS       the --contains text (default: the first sample entity)
#   HOOKLOG_CLI_BENCH_NO_BUILD=1     use the existing .build/release/hooklog
# Wall times come from bash's $EPOCHREALTIME around a direct fork+exec of each command (no shell between),
# so both sides carry the same small spawn overhead. Temporary files go to a fresh directory in $TMPDIR
# (~2.5 GB at 1 M events) and are removed on exit.
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=../lib.sh
source "$HERE/../lib.sh"
N_ENTITIES=${HOOKLOG_CLI_BENCH_ENTITIES:-30}
RUNS=${HOOKLOG_CLI_BENCH_RUNS:-10}
WARMUP=${HOOKLOG_CLI_BENCH_WARMUP:-3}
REPS=3

for tool in sqlite3 gzip lz4 awk; do
    command -v "$tool" >/dev/null || { echo "error: $tool not found (apt-get install -y $tool)" >&2; exit 1; }
done

# --- build, archive -----------------------------------------------------------------------------------
HOOKLOG=$ROOT/.build/release/hooklog
if [[ ${HOOKLOG_CLI_BENCH_NO_BUILD:-0} != 1 ]]; then
    "$ROOT/tools/build-release" hooklog >&2
fi
bench_archive
if [[ $(od -An -tu4 -j8 -N4 "$DATA/log/keys.dir" 2>/dev/null | tr -d ' ') != 2 ]]; then
    # An archive built before the key summary existed (or with its first version): opening its writer
    # once adds it (as a server would on its next start), so the figures are those of a current archive.
    echo "adding the key summary to $DATA (hooklog check --repair) ..." >&2
    "$HOOKLOG" check --repair --data "$DATA" > /dev/null
fi
DB=$ARCHIVE/sqlite/events.db
manifest() { sed -n "s/^$1=//p" "$ARCHIVE/manifest"; }
PAYLOAD_BYTES=$(manifest payloadBytes)
ARCHIVE_EVENTS=$(manifest events)

bench_tmp hooklog-cli-bench 0

# --- helpers ------------------------------------------------------------------------------------------
# time_us VAR cmd...: runs cmd (stdout to /dev/null unless redirected by the caller), stores µs in VAR.
time_us() {
    local -n _out=$1; shift
    local t0=$EPOCHREALTIME
    "$@"
    local t1=$EPOCHREALTIME
    _out=$(( 10#${t1/./} - 10#${t0/./} ))
}
# mean and p95 (nearest rank) in ms of a file of µs values, one a line
mean_p95() {
    sort -n "$1" | awk '{ a[NR] = $1; s += $1 }
        END { r = 0.95 * NR; i = int(r); if (i < r) i++; if (i < 1) i = 1; printf "%.1f %.1f\n", s / NR / 1000, a[i] / 1000 }'
}
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
mbps() { awk -v b="$1" -v us="$2" 'BEGIN { printf "%.0f", b / (us / 1e6) / 1e6 }'; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }

echo "archive: $ARCHIVE ($ARCHIVE_EVENTS events, payloadBytes $PAYLOAD_BYTES)"
echo "hooklog: $HOOKLOG; $(sqlite3 --version | cut -d' ' -f1-2 | sed 's/^/sqlite3 /'); $(lz4 --version 2>&1 | grep -o 'v[0-9.]*' | head -1 | sed 's/^/lz4 /'); $(gzip --version | head -1)"
echo

# Warm the page cache for both stores (the comparison is of warm files, cold processes).
cat "$DATA"/log/* > /dev/null
cat "$DB" > /dev/null

# --- 1. query --entity, cold process ------------------------------------------------------------------
mapfile -t ENTS < <(awk -v n="$N_ENTITIES" 'NR == FNR { c++; next } (FNR - 1) % int(c / n > 1 ? c / n : 1) == 0 && k < n { print; k++ }' \
    "$ARCHIVE/sample-entities.txt" "$ARCHIVE/sample-entities.txt")
sql_for() { local e=${1//\'/\'\'}; echo "SELECT seq, received_at, account, source, type, entity, refs, id, payload FROM events WHERE entity='$e' ORDER BY seq"; }

# Sanity: both sides return the same number of events for the first entity.
hl_count=$("$HOOKLOG" query --data "$DATA" --entity "${ENTS[0]}" | wc -l)
sq_count=$(sqlite3 "$DB" "SELECT count(*) FROM events WHERE entity='${ENTS[0]//\'/\'\'}'")
[[ $hl_count == "$sq_count" ]] || echo "warning: ${ENTS[0]}: hooklog $hl_count events, SQLite $sq_count" >&2

echo "query-entity: ${#ENTS[@]} entities × ($WARMUP warmup + $RUNS timed) runs per command, alternating ..."
: > "$TMP/hl.us"; : > "$TMP/sq.us"; events_total=0
for e in "${ENTS[@]}"; do
    sql=$(sql_for "$e")
    for ((i = 0; i < WARMUP; i++)); do
        "$HOOKLOG" query --data "$DATA" --entity "$e" > /dev/null
        sqlite3 "$DB" "$sql" > /dev/null
    done
    for ((i = 0; i < RUNS; i++)); do
        time_us us "$HOOKLOG" query --data "$DATA" --entity "$e" > /dev/null; echo "$us" >> "$TMP/hl.us"
        time_us us sqlite3 "$DB" "$sql" > /dev/null; echo "$us" >> "$TMP/sq.us"
    done
    events_total=$(( events_total + $("$HOOKLOG" query --data "$DATA" --entity "$e" | wc -l) ))
done
read -r hl_mean hl_p95 < <(mean_p95 "$TMP/hl.us")
read -r sq_mean sq_p95 < <(mean_p95 "$TMP/sq.us")
verdict=$(awk -v h="$hl_mean" -v s="$sq_mean" 'BEGIN {
    if (h < s) printf "hooklog %.2f× faster (target: faster, met)", s / h
    else printf "hooklog %.1f× slower (target: faster, NOT met)", h / s }')
say "query-entity (cold process, ${#ENTS[@]} entities, $((events_total / ${#ENTS[@]})) events each on average): hooklog mean $hl_mean ms p95 $hl_p95 ms vs sqlite3 CLI mean $sq_mean ms p95 $sq_p95 ms = $verdict"
echo

# --- 2. full-scan throughput vs lz4 -d -----------------------------------------------------------------
echo "dumping payloads and compressing them with lz4 ..."
time_us dump_us "$HOOKLOG" query --data "$DATA" --format payload > "$TMP/p.txt"
dump_bytes=$(stat -c %s "$TMP/p.txt")
(( dump_bytes == PAYLOAD_BYTES + ARCHIVE_EVENTS )) \
    || echo "warning: payload dump is $dump_bytes bytes, expected payloadBytes + one newline per event" >&2
lz4 -q -1 -B4 -BI --no-frame-crc -f "$TMP/p.txt" "$TMP/p.lz4"
lz4_bytes=$(stat -c %s "$TMP/p.lz4")
rm -f "$TMP/p.txt"
cat "$TMP/p.lz4" > /dev/null
lz4 -d -c "$TMP/p.lz4" > /dev/null    # warm-up
CONTAINS=${HOOKLOG_CLI_BENCH_CONTAINS:-${ENTS[0]}}
contains_matches=$("$HOOKLOG" query --data "$DATA" --contains "$CONTAINS" | wc -l)

lz4_t=(); contains_t=(); export_t=(); export1_t=(); file_t=()
for ((r = 0; r < REPS; r++)); do    # interleaved, so drift hits all alike
    time_us us lz4 -d -c "$TMP/p.lz4" > /dev/null; lz4_t+=("$us")
    time_us us "$HOOKLOG" query --data "$DATA" --contains "$CONTAINS" > /dev/null; contains_t+=("$us")
    time_us us "$HOOKLOG" export --data "$DATA" --output /dev/null 2> /dev/null; export_t+=("$us")
    time_us us "$HOOKLOG" export --data "$DATA" --output /dev/null --threads 1 2> /dev/null; export1_t+=("$us")
    rm -f "$TMP/x.ndjson"
    time_us us "$HOOKLOG" export --data "$DATA" --output "$TMP/x.ndjson" 2> /dev/null; file_t+=("$us")
done
lz4_us=$(median "${lz4_t[@]}"); contains_us=$(median "${contains_t[@]}"); export_us=$(median "${export_t[@]}")
export1_us=$(median "${export1_t[@]}"); file_us=$(median "${file_t[@]}")
export_bytes=$(stat -c %s "$TMP/x.ndjson")
# (The manifest's ndjsonBytes is the corpus as generated, not the export's line shape: sizes differ.)
lz4_mbps=$(mbps "$dump_bytes" "$lz4_us")
for what in contains export; do
    us_var=${what}_us; us=${!us_var}
    rate=$(mbps "$PAYLOAD_BYTES" "$us")
    pct=$(awk -v a="$rate" -v b="$lz4_mbps" 'BEGIN { printf "%.0f", 100 * a / b }')
    met=$( (( pct >= 40 )) && echo met || echo "NOT met")
    case $what in
        contains) label="query-contains (full scan, \"$CONTAINS\" matches $contains_matches events)";;
        export) label="export (to /dev/null, $(mb "$export_bytes") MB of NDJSON, a formatting thread per CPU)";;
    esac
    say "$label: hooklog $rate MB/s of payload ($(awk -v u="$us" 'BEGIN { printf "%.2f", u / 1e6 }') s) vs lz4 -d (64 KB blocks, $(mb "$lz4_bytes") MB compressed) $lz4_mbps MB/s = $pct % (target ≥ 40 %, $met)"
done
echo "  (info: export --threads 1 to /dev/null: $(mbps "$PAYLOAD_BYTES" "$export1_us") MB/s of payload = $(awk -v a="$(mbps "$PAYLOAD_BYTES" "$export1_us")" -v b="$lz4_mbps" 'BEGIN { printf "%.0f", 100 * a / b }') % of lz4 -d)"
echo "  (info: export to a plain file, fsync and rename included: $(mbps "$PAYLOAD_BYTES" "$file_us") MB/s of payload, $(awk -v u="$file_us" 'BEGIN { printf "%.2f", u / 1e6 }') s)"
echo "  (info: query --format payload, the dump above, first run: $(mbps "$PAYLOAD_BYTES" "$dump_us") MB/s)"
rm -f "$TMP/p.lz4"
echo

# --- 3. export size vs gzip -6 --------------------------------------------------------------------------
echo "export .gz and gzip -6 ..."
time_us gz_us "$HOOKLOG" export --data "$DATA" --output "$TMP/x.ndjson.gz" 2> /dev/null
time_us gzip_us gzip -6 -c "$TMP/x.ndjson" > "$TMP/ref.gz"
gz_bytes=$(stat -c %s "$TMP/x.ndjson.gz"); ref_bytes=$(stat -c %s "$TMP/ref.gz")
gunzip -c "$TMP/x.ndjson.gz" | cmp -s - "$TMP/x.ndjson" || echo "warning: the .gz export does not decompress to the plain export" >&2
read -r pct met < <(awk -v a="$gz_bytes" -v b="$ref_bytes" 'BEGIN { d = 100 * (a - b) / b; m = (d <= 10) ? "met" : "NOT met"; printf "%+.1f %s\n", d, m }')
say "export-gz size: hooklog $(mb "$gz_bytes") MB vs gzip -6 of the plain export $(mb "$ref_bytes") MB = ${pct} % (target: within 10 %, $met)"
echo "  (info: export .gz took $(awk -v u="$gz_us" 'BEGIN { printf "%.1f", u / 1e6 }') s, $(mbps "$export_bytes" "$gz_us") MB/s of NDJSON; gzip -6 -c took $(awk -v u="$gzip_us" 'BEGIN { printf "%.1f", u / 1e6 }') s, $(mbps "$export_bytes" "$gzip_us") MB/s)"
rm -f "$TMP"/x.ndjson* "$TMP/ref.gz"
echo

# --- diagnostics: where a cold query's time goes ---------------------------------------------------------
echo "diagnostics (cold process, mean / p95 over 20 runs after 3 warm-ups; not targets):"
diag() {
    local label=$1; shift
    local f=$TMP/diag.us; : > "$f"
    for ((i = 0; i < 3; i++)); do "$@" > /dev/null; done
    for ((i = 0; i < 20; i++)); do time_us us "$@" > /dev/null; echo "$us" >> "$f"; done
    read -r m p < <(mean_p95 "$f")
    printf '  %-58s mean %7.1f ms  p95 %7.1f ms\n' "$label" "$m" "$p"
}
diag "hooklog --help (process start, no archive)" "$HOOKLOG" --help
diag "hooklog stats (start + snapshot + index counts)" "$HOOKLOG" stats --data "$DATA"
diag "hooklog query --entity ${ENTS[0]} --limit 1" "$HOOKLOG" query --data "$DATA" --entity "${ENTS[0]}" --limit 1
diag "hooklog query --entity ${ENTS[0]}" "$HOOKLOG" query --data "$DATA" --entity "${ENTS[0]}"
diag "hooklog query --entity no-such-entity (no match)" "$HOOKLOG" query --data "$DATA" --entity no-such-entity
diag "sqlite3 events.db 'SELECT 1' (process start + open)" sqlite3 "$DB" "SELECT 1"
diag "sqlite3 … WHERE entity='${ENTS[0]}'" sqlite3 "$DB" "$(sql_for "${ENTS[0]}")"
echo

echo "summary:"
printf '%s\n' "${SUMMARY[@]}"
