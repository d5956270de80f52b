#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Build the VM lane's initramfs: busybox-static, build/migscope and the guest
# test programs (build/vm/*) with the shared libraries they load (as ldd
# resolves them on this host, which built them), jq for the checks, and
# tests/vm/ (/init and every check_*.sh).  Writes a gzip'd newc cpio.
#
#   scripts/vm/initramfs.sh [OUT]      # OUT defaults to $BUILD/vm/initramfs.cpio.gz
#
# Needs busybox-static, cpio and jq (installed here when missing and root).
# No device nodes are made (that would need root): /init mounts devtmpfs and
# takes the console from there.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
OUT=${1:-$BUILD/vm/initramfs.cpio.gz}

log() { echo "initramfs: $*" >&2; }

need=(busybox-static cpio jq)
missing=()
for p in "${need[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		log "missing packages (${missing[*]}); run as root: apt-get install ${missing[*]}"
		exit 1
	fi
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# the guest programs: build/vm/vm_NAME, without the compiler's vm_NAME.d beside them
bins=("$BUILD/migscope")
for b in tests/vm/*.c; do
	b=$(basename "$b" .c)
	bins+=("$BUILD/vm/$b")
done
for b in "${bins[@]}"; do
	[ -x "$b" ] || { log "$b is missing: build it first (make build-all $BUILD/vm/...)"; exit 1; }
done
# busybox-static's binary; the busybox package's is dynamic and would need its libc here too
busybox=/bin/busybox
[ -x "$busybox" ] && ! readelf -l "$busybox" | grep -q 'Requesting program interpreter' ||
	{ log "$busybox is not the static one (install busybox-static)"; exit 1; }

root=$(mktemp -d "${TMPDIR:-/tmp}/migscope-initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,usr/bin,checks,proc,sys,dev,tmp,run,etc,lib64,lib/x86_64-linux-gnu}
cp "$busybox" "$root/bin/busybox"
install -m 0755 tests/vm/init.sh "$root/init"
install -m 0644 tests/vm/lib.sh "$root/checks/lib.sh"
install -m 0755 tests/vm/check_*.sh "$root/checks/"
# stripped: the guest needs no debug info, and the archive is read at every boot
for b in "${bins[@]}" "$(command -v jq)"; do
	strip -o "$root/usr/bin/$(basename "$b")" "$b"
done

# every shared object the binaries load (and the loader), at the path the
# binaries ask for, as regular files
for b in "${bins[@]}" "$(command -v jq)"; do
	ldd "$b" | awk '/=> \//{ print $3 } /^\t\/lib/{ print $1 }'
done | sort -u | while read -r so; do
	mkdir -p "$root$(dirname "$so")"
	cp -L "$so" "$root$so"
done
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"

mkdir -p "$(dirname "$OUT")"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
	gzip -6 >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
log "$(du -h "$OUT" | cut -f1) $OUT"
