#!/usr/bin/env bash
# Redraws docs/screenshots: every dashboard page at 1440×900 and 390×844, from the browser test's
# fixture database (CCR's phillips cluster, the Slurm sandbox's GPU jobs, one allocation), with
# headless Chromium. The same test checks the pages' figures against `tally report`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh chromium
export TALLY_SCREENSHOTS="$PWD/docs/screenshots"
mkdir -p "$TALLY_SCREENSHOTS"
swift build --build-tests >&2
swift test --skip-build --filter DashboardBrowserTests
ls -1 "$TALLY_SCREENSHOTS"
