#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# A second real QEMU beside the system's 7.2: Debian's bookworm-backports
# build of QEMU 10.0, unpacked into a private folder, nothing installed.
#
#   scripts/qemu10.sh            # fetch once (cached), print the binary's path
#   scripts/qemu10.sh --args     # print the -L options its firmware needs, one per line
#   scripts/qemu10.sh --check    # print the path if it is there, fetch nothing (exit 1 if not)
#
# The backports suite is derived from the Debian source this system already
# has configured (the mirror of its "<codename>" suite), so no host name is
# written here.  apt runs with a private source list, lists and cache under
# the cache folder: the system's apt configuration is not touched, so nothing
# else on the machine can be upgraded from backports (a stronger pin than a
# low priority), and the system's dpkg lock is not needed.
#
# QEMU_10_CACHE (default /var/cache/migscope/qemu-10.0) holds the unpacked
# tree: its binary is $QEMU_10_CACHE/root/usr/bin/qemu-system-x86_64.  It
# links against the same bookworm libraries as the system's 7.2, which
# scripts/setup.sh installs; its firmware comes from the unpacked -data
# package and the system's seabios/ipxe (-L, --args).
set -euo pipefail

CACHE=${QEMU_10_CACHE:-/var/cache/migscope/qemu-10.0}
ROOT=$CACHE/root
BIN=$ROOT/usr/bin/qemu-system-x86_64
PKGS=(qemu-system-x86 qemu-system-common qemu-system-data)

die() {
	echo "qemu10: $*" >&2
	exit 1
}

firmware_args() {
	# its own ROMs first, then the system's seabios and ipxe, which the
	# unpacked -data package refers to by symlink
	local d
	for d in "$ROOT/usr/share/qemu" /usr/share/qemu /usr/share/seabios /usr/lib/ipxe/qemu; do
		[ -d "$d" ] && echo "-L" && echo "$d"
	done
	return 0
}

works() {
	[ -x "$BIN" ] && "$BIN" --version 2>/dev/null | grep -q 'version 10\.0'
}

# written once the unpacked binary has run: --check (every make) need not run it
STAMP=$ROOT/.migscope-works
unpacked() {
	[ -x "$BIN" ] && [ -f "$STAMP" ]
}

case "${1:-}" in
--args)
	unpacked || die "QEMU 10.0 is not unpacked in $CACHE (run scripts/qemu10.sh)"
	firmware_args
	exit 0
	;;
--check)
	unpacked || exit 1
	echo "$BIN"
	exit 0
	;;
-h | --help)
	sed -n '3,9p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
"") ;;
*) die "unknown option '$1' (see --help)" ;;
esac

if unpacked; then
	echo "$BIN"
	exit 0
fi

# The configured Debian mirror: the URI of the source whose suites include the
# release's codename (deb822 .sources files or one-line sources.list).
. /etc/os-release
CODENAME=${VERSION_CODENAME:-}
[ -n "$CODENAME" ] || die "no VERSION_CODENAME in /etc/os-release: not Debian?"
deb822_mirrors() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk -v cn="$CODENAME" '
			/^[ \t]*$/ { if (uri != "" && ok) print uri; uri = ""; ok = 0; next }
			/^URIs:/ { uri = $2 }
			/^Suites:/ { for (i = 2; i <= NF; i++) if ($i == cn) ok = 1 }
			END { if (uri != "" && ok) print uri }' "$f"
	done
}
oneline_mirrors() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		awk -v cn="$CODENAME" '$1 == "deb" { u = ""; for (i = 2; i <= NF; i++) {
			if ($i ~ /^\[/) { while ($i !~ /\]$/ && i < NF) i++; continue }
			if (u == "") { u = $i; continue }
			if ($i == cn) print u; break } }' "$f"
	done
}
MIRROR=$({ deb822_mirrors; oneline_mirrors; } | head -n1)
[ -n "$MIRROR" ] || die "no configured Debian source has the suite '$CODENAME' (/etc/apt/sources.list*)"
SUITE=$CODENAME-backports
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$KEYRING" ] || die "$KEYRING is missing (package debian-archive-keyring)"

APT=$CACHE/apt
mkdir -p "$APT/lists/partial" "$APT/archives/partial" "$APT/debs" "$APT/preferences.d"
cat >"$APT/sources.list" <<EOF
deb [signed-by=$KEYRING] $MIRROR $SUITE main
EOF
APT_OPTS=(
	-o "Dir::Etc::SourceList=$APT/sources.list"
	-o "Dir::Etc::SourceParts=-"
	-o "Dir::Etc::PreferencesParts=$APT/preferences.d"
	-o "Dir::State::Lists=$APT/lists"
	-o "Dir::Cache=$APT"
	-o "Dir::Cache::Archives=$APT/archives"
	-o "APT::Get::List-Cleanup=0"
	-o "APT::Sandbox::User=root" # a private cache the _apt user cannot enter
)
echo "qemu10: fetching QEMU from $SUITE of the configured Debian source" >&2
apt-get "${APT_OPTS[@]}" -qq update >&2 || die "apt-get update of $SUITE failed"
(
	cd "$APT/debs"
	rm -f ./*.deb
	apt-get "${APT_OPTS[@]}" -qq download "${PKGS[@]/%//$SUITE}" >&2
) || die "apt-get download of ${PKGS[*]} from $SUITE failed"
rm -rf "$ROOT.new"
mkdir -p "$ROOT.new"
for d in "$APT"/debs/*.deb; do
	dpkg-deb -x "$d" "$ROOT.new"
done
rm -rf "$ROOT"
mv "$ROOT.new" "$ROOT"
works || die "$BIN does not run: $("$BIN" --version 2>&1 | head -n1)"
touch "$STAMP"
echo "$BIN"
