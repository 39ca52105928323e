#!/usr/bin/env bash
# Builds a Debian package of Tally with dpkg-deb: a tally binary linked with the Swift runtime
# statically (it runs on a machine without Swift), a man page per command generated from the
# argument parser, bash/zsh/fish completion, systemd units (tally serve; timers for tally ingest
# and tally ship), a commented /etc/tally/tally.toml and a tally system user (postinst).
#
#   scripts/package-deb.sh [--configuration release|debug] [--output DIR]
#
# Prints the path of the .deb. Release by default; CI packages its debug build to save a second
# full compile (the package is the same apart from speed).
set -euo pipefail
cd "$(dirname "$0")/.."
configuration=release
output=.build/deb
while [ $# -gt 0 ]; do
    case "$1" in
        --configuration) configuration=$2; shift 2 ;;
        --output) output=$2; shift 2 ;;
        *) echo "usage: $0 [--configuration release|debug] [--output DIR]" >&2; exit 2 ;;
    esac
done
case "$configuration" in release|debug) ;; *) echo "--configuration: release or debug" >&2; exit 2 ;; esac

scripts/ensure-deps.sh >&2
for tool in dpkg-deb gzip strip objdump; do
    command -v "$tool" >/dev/null || { echo "$tool is needed to build the package" >&2; exit 1; }
done

version=$(sed -n 's/.*static let number = "\(.*\)"/\1/p' Sources/tally/Version.swift)
[ -n "$version" ] || { echo "cannot read the version from Sources/tally/Version.swift" >&2; exit 1; }
arch=$(dpkg --print-architecture)

# Man pages first: the plugin builds the package its own way (Swift runtime linked dynamically);
# the static link of tally comes after it.
manuals=.build/plugins/GenerateManual/outputs/tally
rm -rf "$manuals"
swift package --disable-sandbox plugin generate-manual --multi-page --configuration "$configuration" >&2
ls "$manuals"/tally.1 >/dev/null

# The static runtime's autolink list on this toolchain misses CoreFoundation (Foundation's Process
# and Bundle need it), Foundation's ICU, C and collection shims. A static archive resolves only
# what comes before it, and which members get pulled in varies with the build, so the Foundation
# and runtime archives go in one group that the linker rescans until nothing is missing.
static_libraries=(-Xlinker --start-group)
for library in Foundation FoundationInternationalization FoundationEssentials CoreFoundation _FoundationICU \
    _FoundationCollections _FoundationCShims swiftDispatch dispatch BlocksRuntime swiftCore; do
    static_libraries+=(-Xlinker "-l$library")
done
static_libraries+=(-Xlinker --end-group)
swift build -c "$configuration" --product tally --static-swift-stdlib "${static_libraries[@]}" >&2
binary=$(swift build -c "$configuration" --show-bin-path)/tally
if objdump -p "$binary" | grep -q 'NEEDED.*libswift\|NEEDED.*libFoundation\|NEEDED.*libdispatch'; then
    echo "$binary still needs the Swift runtime as a shared library" >&2
    exit 1
fi

stage=$(mktemp -d "${TMPDIR:-/tmp}/tally-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root=$stage/tally_${version}_${arch}

install -D -m 0755 "$binary" "$root/usr/bin/tally"
strip --strip-unneeded "$root/usr/bin/tally"

mkdir -p "$root/usr/share/man/man1"
for page in "$manuals"/*.1; do
    gzip -9n < "$page" > "$root/usr/share/man/man1/$(basename "$page").gz"
done

install -d "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" \
    "$root/usr/share/fish/vendor_completions.d"
"$root/usr/bin/tally" completion bash > "$root/usr/share/bash-completion/completions/tally"
"$root/usr/bin/tally" completion zsh > "$root/usr/share/zsh/vendor-completions/_tally"
"$root/usr/bin/tally" completion fish > "$root/usr/share/fish/vendor_completions.d/tally.fish"

install -D -m 0644 packaging/etc/tally.toml "$root/etc/tally/tally.toml"
install -D -m 0644 packaging/etc/default-tally "$root/etc/default/tally"
install -d "$root/lib/systemd/system"
install -m 0644 packaging/systemd/*.service packaging/systemd/*.timer "$root/lib/systemd/system/"

doc=$root/usr/share/doc/tally
install -d "$doc/examples"
install -m 0644 README.md docs/configuration.md docs/api.md docs/policy.md "$doc/"
install -m 0644 examples/tally.toml examples/policy.toml "$doc/examples/"
install -m 0644 packaging/debian/copyright "$doc/copyright"

# Shared libraries the binary still links, each mapped to the Debian package that has it.
depends=$(objdump -p "$root/usr/bin/tally" | awk '/NEEDED/ {print $2}' | while read -r lib; do
    path=$(ldconfig -p | awk -v l="$lib" '$1 == l {print $NF; exit}')
    [ -n "$path" ] || { echo "no $lib on this machine" >&2; exit 1; }
    dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -n1 | cut -d: -f1 \
        || dpkg -S "$path" | head -n1 | cut -d: -f1
done | sort -u | paste -sd, | sed 's/,/, /g')
depends="$depends, passwd"
size=$(du -sk "$root" | cut -f1)

install -d "$root/DEBIAN"
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@DEPENDS@/$depends/" -e "s/@SIZE@/$size/" \
    packaging/debian/control.in > "$root/DEBIAN/control"
install -m 0644 packaging/debian/conffiles "$root/DEBIAN/conffiles"
install -m 0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$root/DEBIAN/"

mkdir -p "$output"
deb=$output/tally_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >&2
echo "$deb"
