#!/usr/bin/env bash
# A private OpenLDAP server for the directory-sync test, from Debian's slapd (installed if
# missing, without starting the system's own instance): its own configuration, database and
# port, loaded with tests' people and groups (Tests/fixtures/ldap/directory.ldif).
#   scripts/slapd.sh start   # prints the ldap:// URL to use
#   scripts/slapd.sh stop
# TALLY_LDAP_DIR (default /tmp/tally-slapd) and TALLY_LDAP_PORT (default 53389) move it.
# Suffix dc=example,dc=org; the test binds as cn=reader,dc=example,dc=org with password
# "reader-secret" (a read-only account, as a site would give Tally).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${TALLY_LDAP_DIR:-/tmp/tally-slapd}
port=${TALLY_LDAP_PORT:-53389}

case "${1:-}" in
start)
    if ! command -v slapd >/dev/null 2>&1 && [ ! -x /usr/sbin/slapd ] || ! command -v ldapsearch >/dev/null 2>&1; then
        scripts/ensure-deps.sh slapd ldap-utils >&2
    fi
    if [ -f "$dir/slapd.pid" ] && kill -0 "$(cat "$dir/slapd.pid")" 2>/dev/null; then
        echo "ldap://127.0.0.1:$port"
        exit 0
    fi
    rm -rf "$dir"
    mkdir -p "$dir/data"
    cat > "$dir/slapd.conf" <<EOF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile $dir/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
suffix "dc=example,dc=org"
rootdn "cn=admin,dc=example,dc=org"
rootpw admin-secret
directory $dir/data
maxsize 16777216
access to attrs=userPassword by self write by anonymous auth by * none
access to * by dn.exact="cn=reader,dc=example,dc=org" read by anonymous auth by * none
EOF
    /usr/sbin/slapadd -f "$dir/slapd.conf" -l Tests/fixtures/ldap/directory.ldif >"$dir/slapadd.log" 2>&1 \
        || { cat "$dir/slapadd.log" >&2; exit 1; }
    /usr/sbin/slapd -f "$dir/slapd.conf" -h "ldap://127.0.0.1:$port/" >"$dir/slapd.log" 2>&1 \
        || { cat "$dir/slapd.log" >&2; exit 1; }
    for _ in $(seq 1 50); do
        ldapsearch -LLL -x -H "ldap://127.0.0.1:$port" -D cn=reader,dc=example,dc=org -w reader-secret \
            -b dc=example,dc=org -s base dn >/dev/null 2>&1 && { echo "ldap://127.0.0.1:$port"; exit 0; }
        sleep 0.2
    done
    echo "slapd did not answer on port $port" >&2
    exit 1
    ;;
stop)
    if [ -f "$dir/slapd.pid" ]; then
        kill "$(cat "$dir/slapd.pid")" 2>/dev/null || true
        for _ in $(seq 1 50); do [ -f "$dir/slapd.pid" ] || break; sleep 0.1; done
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
