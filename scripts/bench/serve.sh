#!/usr/bin/env bash
# Measures tally serve over loopback with wrk (Debian's package): POST /api/v1/records in batches
# of 1,000 new records, and GET /api/v1/summaries under 64 connections on a database of
# $TALLY_BENCH_JOBS generated jobs (default 1,000,000). Release build; prints wrk's summaries.
# TALLY_BENCH_DB=postgres://… measures the PostgreSQL store instead of a SQLite file.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/ensure-deps.sh
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
jobs=${TALLY_BENCH_JOBS:-1000000}
out=bench/out
mkdir -p "$out"
swift build -c release --product tally >&2
swift build -c release --product tally-bench >&2
tally=.build/release/tally
# The generator's file, then a database of it.
.build/release/tally-bench --jobs "$jobs" --reuse --parse-only --workdir "$out" >&2
db=${TALLY_BENCH_DB:-$out/serve-$jobs.db}
# (A database not made yet has no status: 0 records.)
stored=$({ "$tally" status --db "$db" 2>/dev/null || true; } | sed -n 's/^records: \([0-9]*\).*/\1/p')
if [ "${stored:-0}" -lt "$jobs" ]; then
    "$tally" ingest slurm --quiet --timezone UTC --db "$db" "$out/sacct-$jobs.txt"
fi
writer=$("$tally" token create --db "$db" --name "bench-writer-$$" --scope write --site bench 2>/dev/null)
reader=$("$tally" token create --db "$db" --name "bench-reader-$$" --scope read 2>/dev/null)
log=$(mktemp)
"$tally" serve --db "$db" --port 0 > "$log" 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 50); do grep -q listening "$log" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$log")
echo "server: $url, database: $db ($jobs generated jobs)"
echo "== GET /api/v1/summaries?period=month&by=account, 64 connections, 20 s"
wrk -t2 -c64 -d20s --latency -H "Authorization: Bearer $reader" "$url/api/v1/summaries?period=month&by=account"
# Each POST run adds about a million records: on SQLite it writes into a fresh copy of the
# database, so that every run starts from the same size.
if [ -z "${TALLY_BENCH_DB:-}" ]; then
    kill $server; wait $server 2>/dev/null || true
    cp "$db" "$out/post-$jobs.db"; rm -f "$out/post-$jobs.db-wal" "$out/post-$jobs.db-shm"
    db="$out/post-$jobs.db"
    writer=$("$tally" token create --db "$db" --name "bench-writer-$$-post" --scope write --site bench 2>/dev/null)
    : > "$log"
    "$tally" serve --db "$db" --port 0 > "$log" 2>/dev/null &
    server=$!
    for _ in $(seq 50); do grep -q listening "$log" && break; sleep 0.1; done
    url=$(sed -n 's/^listening on //p' "$log")
fi
echo "== POST /api/v1/records, batches of 1,000 new records, 4 connections, 20 s ($db)"
wrk -t2 -c4 -d20s --latency -s scripts/bench/post-records.lua -H "Authorization: Bearer $writer" "$url"
