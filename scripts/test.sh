#!/usr/bin/env bash
# Runs every test. With TALLY_SLURM_SANDBOX=1 (CI sets it) it first starts a real Slurm 22.05
# (../shared/tools/slurm-sandbox.sh), captures its sacct/sreport output, stops the daemons, and
# the tests compare Tally's figures with that live sreport.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh

sandbox_pid=""
sandbox=../shared/tools/slurm-sandbox.sh
if [ "${TALLY_SLURM_SANDBOX:-0}" = 1 ]; then
    [ -f "$sandbox" ] || { echo "TALLY_SLURM_SANDBOX=1 but $sandbox is missing" >&2; exit 1; }
    live=$(mktemp -d "${TMPDIR:-/tmp}/tally-live-slurm.XXXXXX")
    # A fresh cluster every run (the sandbox runs its workload once per state directory).
    export SLURM_SANDBOX_STATE=$live.state
    # Never leave daemons behind, whatever happens below.
    trap 'bash "$sandbox" stop >/dev/null 2>&1 || true; rm -rf "$SLURM_SANDBOX_STATE"' EXIT
    echo "starting a real Slurm in the background (log: $live.log)" >&2
    bash "$sandbox" run "$live" >"$live.log" 2>&1 &
    sandbox_pid=$!
fi

swift build --build-tests

if [ -n "$sandbox_pid" ]; then
    if ! wait "$sandbox_pid"; then
        tail -n 40 "$live.log" >&2
        echo "the Slurm sandbox failed; see above" >&2
        exit 1
    fi
    tail -n 3 "$live.log" >&2
    export TALLY_LIVE_SLURM_DIR=$live
fi

swift test
