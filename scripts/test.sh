#!/usr/bin/env bash
# Runs every test, against both store backends: SQLite, and a private PostgreSQL server from
# Debian's packages (scripts/postgres.sh; installed if missing) started here and thrown away
# afterwards. TALLY_TEST_POSTGRES=URL uses a server of your own instead. AUDITOR's Python client
# (python-auditor) is installed into .build/auditor-venv for the AUDITOR conformance test; a
# private ActiveMQ broker (scripts/activemq.sh) and stomp.py (.build/stomp-venv) serve the
# `tally ship apel` test.
# With TALLY_SLURM_SANDBOX=1 (CI sets it) it also starts a real Slurm 22.05
# (../shared/tools/slurm-sandbox.sh), captures its sacct/sreport output, stops the daemons, and
# the tests compare Tally's figures with that live sreport.
set -euo pipefail
cd "$(dirname "$0")/.."
# Every package first, before the Slurm sandbox installs its own in the background: two apt-gets
# at once fail on dpkg's lock. PostgreSQL for the store suite, Chromium for the dashboard's
# browser test, slapd and ldap-utils for the LDAP directory sync (a private slapd, below),
# ActiveMQ for APEL over STOMP.
extras=(chromium slapd ldap-utils activemq)
[ -n "${TALLY_TEST_POSTGRES:-}" ] || extras+=(postgresql)
scripts/ensure-deps.sh "${extras[@]}"

sandbox_pid=""
sandbox=../shared/tools/slurm-sandbox.sh
postgres_started=""
ldap_started=""
activemq_started=""

# Never leave daemons behind, whatever happens below.
cleanup() {
    if [ -n "$activemq_started" ]; then
        scripts/activemq.sh stop || true
    fi
    if [ -n "$ldap_started" ]; then
        scripts/slapd.sh stop || true
    fi
    if [ -n "$postgres_started" ]; then
        scripts/postgres.sh stop || true
        rm -rf "$TALLY_PG_DIR"
    fi
    if [ "${TALLY_SLURM_SANDBOX:-0}" = 1 ]; then
        # A sandbox still starting would go on to start its daemons after `stop` had looked.
        if [ -n "$sandbox_pid" ] && kill -0 "$sandbox_pid" 2>/dev/null; then
            kill "$sandbox_pid" 2>/dev/null || true
            wait "$sandbox_pid" 2>/dev/null || true
        fi
        bash "$sandbox" stop >/dev/null 2>&1 || true
        rm -rf "${SLURM_SANDBOX_STATE:-}"
    fi
}
trap cleanup EXIT

if [ "${TALLY_SLURM_SANDBOX:-0}" = 1 ]; then
    [ -f "$sandbox" ] || { echo "TALLY_SLURM_SANDBOX=1 but $sandbox is missing" >&2; exit 1; }
    live=$(mktemp -d "${TMPDIR:-/tmp}/tally-live-slurm.XXXXXX")
    # A fresh cluster every run (the sandbox runs its workload once per state directory).
    export SLURM_SANDBOX_STATE=$live.state
    echo "starting a real Slurm in the background (log: $live.log)" >&2
    bash "$sandbox" run "$live" >"$live.log" 2>&1 &
    sandbox_pid=$!
fi

if [ -z "${TALLY_TEST_POSTGRES:-}" ]; then
    export TALLY_PG_DIR
    TALLY_PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tally-pg.XXXXXX")
    export TALLY_PG_PORT=${TALLY_PG_PORT:-$((50000 + RANDOM % 10000))}
    postgres_started=1
    TALLY_TEST_POSTGRES=$(scripts/postgres.sh start)
    export TALLY_TEST_POSTGRES
    echo "PostgreSQL for the store suite: $TALLY_TEST_POSTGRES" >&2
fi

# A private OpenLDAP (slapd from Debian) with the directory-sync test's people and groups.
if [ -z "${TALLY_TEST_LDAP:-}" ]; then
    export TALLY_LDAP_DIR
    TALLY_LDAP_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tally-slapd.XXXXXX")
    export TALLY_LDAP_PORT=${TALLY_LDAP_PORT:-$((40000 + RANDOM % 10000))}
    ldap_started=1
    TALLY_TEST_LDAP=$(scripts/slapd.sh start)
    export TALLY_TEST_LDAP
    echo "OpenLDAP for the directory-sync test: $TALLY_TEST_LDAP" >&2
fi

# A private ActiveMQ (Debian's) for `tally ship apel`; the test kills and restarts it itself.
if [ -z "${TALLY_TEST_ACTIVEMQ:-}" ]; then
    export TALLY_AMQ_DIR
    TALLY_AMQ_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tally-activemq.XXXXXX")
    export TALLY_AMQ_PORT=${TALLY_AMQ_PORT:-$((30000 + RANDOM % 10000))}
    activemq_started=1
    TALLY_TEST_ACTIVEMQ=$(scripts/activemq.sh start)
    export TALLY_TEST_ACTIVEMQ
    # Its stomp+ssl connector, one port up, with the CA and client certificate it made.
    export TALLY_TEST_ACTIVEMQ_TLS=127.0.0.1:$((TALLY_AMQ_PORT + 1))
    export TALLY_TEST_ACTIVEMQ_TLS_DIR=$TALLY_AMQ_DIR/tls
    echo "ActiveMQ for the APEL sender test: $TALLY_TEST_ACTIVEMQ" >&2
fi

# stomp.py (from PyPI), the consumer that reads APEL messages back and checks their signatures.
if [ -z "${TALLY_STOMP_PYTHON:-}" ]; then
    venv=.build/stomp-venv
    if ! "$venv/bin/python" -c "import stomp" >/dev/null 2>&1; then
        echo "installing stomp.py into $venv" >&2
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q "stomp.py==8.2.0"
    fi
    export TALLY_STOMP_PYTHON=$PWD/$venv/bin/python
fi

# AUDITOR's own Python client (python-auditor, from PyPI) for the AUDITOR conformance test.
if [ -z "${TALLY_AUDITOR_PYTHON:-}" ]; then
    venv=.build/auditor-venv
    if ! "$venv/bin/python" -c "import pyauditor" >/dev/null 2>&1; then
        echo "installing python-auditor into $venv" >&2
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q "python-auditor==0.11.2"
    fi
    export TALLY_AUDITOR_PYTHON=$PWD/$venv/bin/python
fi

# Headless Chromium (installed above) runs the dashboard's browser test; screenshots land in
# .build/screenshots.

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
