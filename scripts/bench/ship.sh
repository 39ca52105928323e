#!/usr/bin/env bash
# Shipping throughput over loopback: a site database of generated jobs, a central tally serve
# (SQLite, or $TALLY_BENCH_DB=postgres://…), signed batches of 1,000. Release build; prints the
# agent's summary and records/s.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/ensure-deps.sh
jobs=${TALLY_BENCH_JOBS:-1000000}
out=bench/out
mkdir -p "$out"
swift build -c release --product tally >&2
swift build -c release --product tally-bench >&2
tally=$PWD/.build/release/tally
.build/release/tally-bench --jobs "$jobs" --reuse --parse-only --workdir "$out" >&2
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
site="$work/site.db"
central=${TALLY_BENCH_DB:-$work/central.db}
"$tally" ingest slurm --quiet --timezone UTC --site s1 --db "$site" "$out/sacct-$jobs.txt"
"$tally" token create --db "$central" --name "s1-$$" --scope write --site s1 > "$work/token" 2>/dev/null
"$tally" keys generate --out "$work/key" > "$work/pub" 2>/dev/null
"$tally" site register --db "$central" --site s1 --public-key "$(cat "$work/pub")" 2>/dev/null
"$tally" serve --db "$central" --port 0 > "$work/serve.log" 2>/dev/null &
server=$!
for _ in $(seq 50); do grep -q listening "$work/serve.log" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$work/serve.log")
start=$(date +%s.%N)
"$tally" ship --db "$site" --to "$url" --token-file "$work/token" --key "$work/key" --site s1 2>&1 | tail -n 1
end=$(date +%s.%N)
echo "$jobs records shipped in $(echo "$end - $start" | bc) s: $(echo "$jobs / ($end - $start)" | bc) records/s (signed, batches of 1,000, central: ${TALLY_BENCH_DB:+PostgreSQL}${TALLY_BENCH_DB:-SQLite})"
