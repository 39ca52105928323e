#!/usr/bin/env bash
# The main job on the embedded default: build Tally, ingest real Slurm accounting (4,285 jobs of
# CCR Buffalo's phillips cluster, bundled in examples/) into a fresh SQLite file, print a
# monthly report per account. TALLY_BIN=/usr/bin/tally runs it with an installed tally instead
# (CI does, with the Debian package) and builds nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${TALLY_BIN:-}" ]; then
    tally=$TALLY_BIN
else
    scripts/ensure-deps.sh
    swift build --product tally >&2
    tally=.build/debug/tally
fi
db=${TALLY_DB:-demo.db}
rm -f "$db" "$db-wal" "$db-shm"
fields=jobid,jobidraw,cluster,partition,qos,account,group,gid,user,uid,submit,eligible,start,end,elapsed,exitcode,state,nnodes,ncpus,reqcpus,reqmem,reqtres,alloctres,timelimit,nodelist,jobname
"$tally" ingest slurm --db "$db" --site ccr --timezone America/New_York --fields "$fields" \
    examples/slurm/ccr-phillips.sacct.log
"$tally" report --db "$db" --period month --by account --timezone America/New_York
