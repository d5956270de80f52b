#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Build the VM-lane kernel (bzImage) from Debian's linux-source-6.12 with
# scripts/vm/kernel.config merged over x86_64_defconfig, and cache it.
#
# The cache key is the source package's version, the fragment's contents and
# the compiler's version (KEY_VERSION below is bumped by hand when a change to
# this script changes what it builds): a Debian update of linux-source-6.12,
# or any change to the fragment, builds a new kernel; an unchanged one is
# reused.  Prints the bzImage's path on stdout; progress on stderr.
#
#   scripts/vm/build-kernel.sh            # build or reuse, print the path
#   MIGSCOPE_VM_CACHE=/tmp/vm scripts/vm/build-kernel.sh
#
# A cold build takes ~20-25 minutes at -j2 on the project's 2-core machines.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
CACHE="${MIGSCOPE_VM_CACHE:-/var/cache/migscope/vm}"
TARBALL=/usr/src/linux-source-6.12.tar.xz
JOBS="${JOBS:-$(nproc)}"
KEY_VERSION=1

log() { echo "build-kernel: $*" >&2; }

# One build at a time per cache: a second run (another worktree's make vmtest)
# must not install packages beside the first, nor reconfigure the build
# directory under a running build; it waits, then finds the image cached.
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
if ! flock -n 9; then
	log "another build holds $CACHE/.lock; waiting for it"
	flock 9
fi

# What the build needs (the kernel source is a Debian package).
need=(linux-source-6.12 bison flex libssl-dev libelf-dev dwarves bc cpio xz-utils make gcc)
missing=()
for p in "${need[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

version="$(dpkg-query -W -f='${Version}' linux-source-6.12)"
key="$( (echo "$KEY_VERSION $version"; cat "$HERE/kernel.config"; gcc --version | head -1) |
	sha256sum | cut -c1-16)"
image="$CACHE/bzImage-$key"
if [ -s "$image" ]; then
	log "cached: linux-source-6.12 $version ($image)"
	echo "$image"
	exit 0
fi

src="$CACHE/src-$version"
if [ ! -f "$src/Makefile" ]; then
	log "unpacking linux-source-6.12 $version"
	rm -rf "$src.tmp" && mkdir -p "$src.tmp"
	tar -xJf "$TARBALL" -C "$src.tmp" --strip-components=1
	mv "$src.tmp" "$src"
fi

obj="$CACHE/build-$key"
mkdir -p "$obj"
log "configuring in $obj"
make -s -C "$src" O="$obj" x86_64_defconfig >/dev/null
"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$HERE/kernel.config" >/dev/null
make -s -C "$src" O="$obj" olddefconfig >/dev/null

# The options that matter must have survived olddefconfig's dependency pass.
for opt in VFIO VFIO_GROUP VFIO_CONTAINER VFIO_DEVICE_CDEV VFIO_PCI VFIO_MDEV SAMPLE_VFIO_MDEV_MTTY \
	INTEL_IOMMU IOMMUFD IOMMUFD_TEST BPF_SYSCALL BPF_JIT DEBUG_INFO_BTF FUNCTION_TRACER \
	DYNAMIC_FTRACE_WITH_DIRECT_CALLS KPROBES BPF_EVENTS DEBUG_FS; do
	if ! grep -q "^CONFIG_$opt=y" "$obj/.config"; then
		log "CONFIG_$opt did not survive olddefconfig (see $obj/.config)"
		exit 1
	fi
done

log "building bzImage with -j$JOBS (cold: ~20-25 min on 2 cores; log in $obj/build.log)"
start=$(date +%s)
if ! make -C "$src" O="$obj" -j"$JOBS" bzImage >"$obj/build.log" 2>&1; then
	tail -30 "$obj/build.log" >&2
	log "kernel build failed (full log: $obj/build.log)"
	exit 1
fi
cp "$obj/arch/x86/boot/bzImage" "$image.tmp"
mv "$image.tmp" "$image"
log "built in $(($(date +%s) - start)) s: $image"
echo "$image"
