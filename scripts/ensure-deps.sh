#!/usr/bin/env bash
# Installs what Tally needs to build and test that a fresh machine of this kind may lack.
set -euo pipefail
missing=()
dpkg-query -W -f='${Status}' libsqlite3-dev 2>/dev/null | grep -q "install ok installed" || missing+=(libsqlite3-dev)
dpkg-query -W -f='${Status}' zlib1g-dev 2>/dev/null | grep -q "install ok installed" || missing+=(zlib1g-dev)
command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
# The HTTPS test makes a self-signed certificate.
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null 2>&1 || { echo "swift is not on PATH (expected /opt/swift)" >&2; exit 1; }
