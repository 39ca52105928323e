#!/usr/bin/env bash
# A Python with DuckDB and pandas (from PyPI) for tally-bench --peers; prints its path.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=.build/peers-venv
if ! "$venv/bin/python" -c "import duckdb, pandas" >/dev/null 2>&1; then
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install -q duckdb pandas >&2
fi
echo "$PWD/$venv/bin/python"
