#!/usr/bin/env bash
# Times the dashboard's pages over loopback on a database of generated jobs (release build):
# each view three times, with a different unused parameter each time so the page cache never
# answers. Usage: scripts/bench/pages.sh [DATABASE] (default bench/out/serve-1000000.db, made
# by scripts/bench/serve.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
db=${1:-bench/out/serve-1000000.db}
[ -f "$db" ] || { echo "no database $db: run scripts/bench/serve.sh first" >&2; exit 1; }
swift build -c release --product tally >&2
log=$(mktemp)
.build/release/tally serve --db "$db" --port 0 --public-dashboard > "$log" 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 300); do grep -q listening "$log" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$log")
echo "server: $url, database: $db"
views=(
    "/"
    "/explore?by=user&period=month"
    "/explore?by=account&period=day&from=2024-06-01&to=2024-06-30"
    "/explore?by=account&period=month&timezone=Europe/Berlin"
    "/explore?by=partition&period=quarter&metric=su"
    "/explore?by=account&period=week"
    "/explore?by=user&period=day"
    "/gpu"
    "/quality"
    "/allocations"
)
for view in "${views[@]}"; do
    separator='?'; [[ $view == *\?* ]] && separator='&'
    times=""
    for run in 1 2 3; do
        seconds=$(curl -s -o /dev/null -w '%{time_total}' "$url$view${separator}nocache=$RANDOM$run")
        times="$times $seconds"
    done
    printf '%-62s %s s\n' "$view" "$times"
done
