#!/usr/bin/env bash
# Installs a Tally .deb on this machine with dpkg -i (root needed; CI runs it) and checks what a
# site admin gets: the static binary and its version, every man page rendering cleanly, the
# completion scripts, the systemd units (systemd-analyze verify), the tally user and its state
# directory, the commented configuration, the README's demo run with the installed binary (its
# output must be the README's), and tally serve answering as the tally user. Purges the package
# afterwards (the tally user and /var/lib/tally are removed too when this script created them).
#
#   scripts/test-package.sh .build/deb/tally_<version>_<arch>.deb
set -euo pipefail
cd "$(dirname "$0")/.."
deb=${1:?usage: $0 PATH.deb}
[ "$(id -u)" = 0 ] || { echo "$0 installs a package: run it as root" >&2; exit 1; }
if dpkg -s tally >/dev/null 2>&1; then
    echo "a tally package is installed already; remove it first (dpkg --purge tally)" >&2
    exit 1
fi
user_existed=""; getent passwd tally >/dev/null && user_existed=1
state_existed=""; [ -e /var/lib/tally ] && state_existed=1
work=$(mktemp -d "${TMPDIR:-/tmp}/tally-package-test.XXXXXX")
serve_pid=""
cleanup() {
    [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null || true
    dpkg --purge tally >/dev/null 2>&1 || true
    if [ -z "$user_existed" ]; then userdel tally 2>/dev/null || true; groupdel tally 2>/dev/null || true; fi
    [ -n "$state_existed" ] || rm -rf /var/lib/tally
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "package test: $*" >&2; exit 1; }

dpkg -i "$deb" >&2
version=$(dpkg-deb -f "$deb" Version)

# The binary: the release and commit, and no Swift runtime needed from the machine.
/usr/bin/tally --version | grep -Eq "^tally $version \(commit ([0-9a-f]{12}(-modified)?|unknown)\)$" \
    || fail "tally --version says '$(/usr/bin/tally --version)'"
if objdump -p /usr/bin/tally | grep -q 'NEEDED.*\(libswift\|libFoundation\|libdispatch\)'; then
    fail "/usr/bin/tally links the Swift runtime dynamically"
fi
env -i PATH=/usr/bin:/bin /usr/bin/tally --help >/dev/null || fail "tally --help fails in a bare environment"

# A man page per command, each rendering without a warning.
pages=$(ls /usr/share/man/man1/tally*.1.gz | wc -l)
[ "$pages" -ge 40 ] || fail "only $pages man pages installed"
for page in /usr/share/man/man1/tally*.1.gz; do
    warnings=$(zcat "$page" | groff -mandoc -Tutf8 -ww -z 2>&1) || fail "$page: groff failed"
    [ -z "$warnings" ] || fail "$page: $warnings"
done
man -w tally.report >/dev/null || fail "man cannot find tally.report"
zcat /usr/share/man/man1/tally.report.1.gz | groff -mandoc -Tascii 2>/dev/null | col -b | grep -q -- "--period" \
    || fail "tally.report(1) does not describe --period"

# Completion for the three shells.
bash -c 'source /usr/share/bash-completion/completions/tally && complete -p tally' >/dev/null \
    || fail "the bash completion does not register for tally"
head -n1 /usr/share/zsh/vendor-completions/_tally | grep -q '^#compdef tally' || fail "zsh completion"
grep -q "^complete -c 'tally'" /usr/share/fish/vendor_completions.d/tally.fish || fail "fish completion"

# systemd units: syntax, binaries and Documentation= man pages all resolve.
units=(/lib/systemd/system/tally-*.service /lib/systemd/system/tally-*.timer)
[ "${#units[@]}" -ge 9 ] || fail "only ${#units[@]} systemd units installed"
systemd-analyze verify "${units[@]}" || fail "systemd-analyze verify"

# The tally user, its state directory, the configuration.
getent passwd tally | grep -q ':/var/lib/tally:/usr/sbin/nologin$' || fail "no tally system user"
[ "$(stat -c %U /var/lib/tally/incoming)" = tally ] || fail "/var/lib/tally/incoming is not tally's"
/usr/bin/tally config check /etc/tally/tally.toml >&2 || fail "/etc/tally/tally.toml does not check"
dpkg-query -W -f='${Conffiles}\n' tally | grep -q /etc/tally/tally.toml || fail "tally.toml is no conffile"

# The README's demo with the installed binary prints what the README says it prints.
TALLY_BIN=/usr/bin/tally TALLY_DB="$work/demo.db" scripts/demo.sh > "$work/demo.out" 2>&1 \
    || { cat "$work/demo.out" >&2; fail "the demo failed with the installed tally"; }
awk '/`demo.sh` prints:/ {found=1; next} found && /^```$/ {if (open) exit; open=1; next} open' README.md \
    > "$work/demo.expected"
[ -s "$work/demo.expected" ] || fail "cannot find the demo's output in README.md"
diff -u "$work/demo.expected" "$work/demo.out" >&2 || fail "the installed tally's demo differs from README.md"

# The service's own path: ingest and serve as the tally user, with the units' environment.
cp examples/slurm/sandbox-sacct.txt /var/lib/tally/incoming/
chown tally:tally /var/lib/tally/incoming/sandbox-sacct.txt
runuser -u tally -- env TALLY_DB=/var/lib/tally/tally.db TALLY_CONFIG=/etc/tally/tally.toml \
    /usr/bin/tally ingest auto --quiet /var/lib/tally/incoming || fail "ingest as the tally user"
port=$((40000 + RANDOM % 10000))
runuser -u tally -- env TALLY_DB=/var/lib/tally/tally.db TALLY_CONFIG=/etc/tally/tally.toml \
    /usr/bin/tally serve --port "$port" > "$work/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 1 50); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$work/serve.log" >&2; fail "serve does not answer"; }
kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true; serve_pid=""

echo "package test: $(basename "$deb") installs and works ($pages man pages)" >&2
