#!/usr/bin/env bash
# Installs what Tally needs to build and test that a fresh machine of this kind may lack, in one
# apt transaction. Extra package names (e.g. postgresql, chromium) are installed too when their
# command is missing. Run it before anything else that uses apt (the Slurm sandbox does): two
# apt-gets at once fail on dpkg's lock.
set -euo pipefail
missing=()
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
installed libsqlite3-dev || missing+=(libsqlite3-dev)
installed zlib1g-dev || missing+=(zlib1g-dev)
command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
# The HTTPS test makes a self-signed certificate.
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
for extra in "$@"; do
    case "$extra" in
    # The server's initdb: the client package alone also makes /usr/lib/postgresql/N/bin.
    postgresql) ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql) ;;
    chromium) command -v chromium >/dev/null 2>&1 || missing+=(chromium) ;;
    *) installed "$extra" || missing+=("$extra") ;;
    esac
done
if ((${#missing[@]})); then
    echo "installing from Debian's packages: ${missing[*]}" >&2
    sudo=()
    [ "$(id -u)" = 0 ] || sudo=(sudo)
    # Wait for another apt (unattended upgrades, a sandbox's install) instead of failing.
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
    # Packages with daemons (slapd) must not start the system's own instance: tests run
    # private ones (scripts/slapd.sh). policy-rc.d says so to invoke-rc.d during the install.
    guard=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        guard=/usr/sbin/policy-rc.d
        printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$guard" >/dev/null
        "${sudo[@]}" chmod 755 "$guard"
    fi
    status=0
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
        "${missing[@]}" >/dev/null || status=$?
    [ -z "$guard" ] || "${sudo[@]}" rm -f "$guard"
    [ "$status" = 0 ] || exit "$status"
fi
command -v swift >/dev/null 2>&1 || { echo "swift is not on PATH (expected /opt/swift)" >&2; exit 1; }
