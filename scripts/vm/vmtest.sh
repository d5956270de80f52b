#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# `make vmtest`: migscope against a real kernel.  Builds migscope and the
# guest programs (plain, not sanitized), builds or reuses the VM-lane kernel
# (scripts/vm/build-kernel.sh), builds the initramfs, boots it with the
# emulated VT-d and QEMU's edu device (scripts/vm/run.sh), and shows each
# check's PASS/FAIL/SKIP line and the totals.  docs/vm-lane.md has the rest.
#
# Environment (make variables of the same names work too):
#   VMTEST_REQUIRE=1     a lane that cannot run (no QEMU, no way to get the
#                        kernel) is a failure, not a note (CI sets it)
#   VMTEST_CHECKS=2,5    only these checks
#   VMTEST_TIMEOUT=SECS  the whole boot's timeout (run.sh's default otherwise)
#   QEMU=PATH            another qemu-system-x86_64
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
MAKE=${MAKE:-make}
REQUIRE=${VMTEST_REQUIRE:-0}

t0=$(date +%s)
phase() { echo "vmtest: $1 ($(($(date +%s) - t0)) s)"; }

# The lane cannot run without QEMU, nor without a kernel: a cached one needs
# the source package's version for its key, a cold one root to install it.
why=
if ! command -v "${QEMU:-qemu-system-x86_64}" >/dev/null; then
	why="no ${QEMU:-qemu-system-x86_64} (apt-get install qemu-system-x86)"
elif [ "$(id -u)" -ne 0 ] && ! dpkg-query -W linux-source-6.12 >/dev/null 2>&1; then
	why="linux-source-6.12 is not installed and installing it needs root"
fi
if [ -n "$why" ]; then
	if [ "$REQUIRE" = 1 ]; then
		echo "vmtest: FAIL: the VM lane cannot run here: $why"
		exit 1
	fi
	echo "vmtest: the VM lane cannot run here, not run: $why (VMTEST_REQUIRE=1 makes this a failure)"
	exit 0
fi

"$MAKE" --no-print-directory build-vm || { echo "vmtest: FAIL: building migscope failed"; exit 1; }
phase "migscope built"
kernel=$(scripts/vm/build-kernel.sh) || { echo "vmtest: FAIL: the kernel build failed"; exit 1; }
phase "kernel $kernel"
BUILD=$BUILD scripts/vm/initramfs.sh "$BUILD/vm/initramfs.cpio.gz" ||
	{ echo "vmtest: FAIL: the initramfs build failed"; exit 1; }
phase "initramfs built; booting"
args=(--kernel "$kernel" --initrd "$BUILD/vm/initramfs.cpio.gz" --log "$BUILD/vm/console.log")
[ -n "${VMTEST_CHECKS:-}" ] && args+=(--checks "$VMTEST_CHECKS")
[ -n "${VMTEST_TIMEOUT:-}" ] && args+=(--timeout "$VMTEST_TIMEOUT")
BUILD=$BUILD scripts/vm/run.sh "${args[@]}"
rc=$?
# Check 3 (iommufd) needs a boot without VT-d: 6.12 probes IOMMUFD_TEST's mock
# device with the first IOMMU registered without a firmware node, which is
# VT-d's when it is there.  It skips in the boot above and runs here.
case ",${VMTEST_CHECKS:-3}," in
*,3,* | *,03,* | *,03_iommufd,*)
	phase "booting again without VT-d for check 3"
	args=(--kernel "$kernel" --initrd "$BUILD/vm/initramfs.cpio.gz" --no-iommu --checks 03
		--log "$BUILD/vm/console-no-iommu.log")
	[ -n "${VMTEST_TIMEOUT:-}" ] && args+=(--timeout "$VMTEST_TIMEOUT")
	BUILD=$BUILD scripts/vm/run.sh "${args[@]}"
	rc2=$?
	[ $rc2 -gt $rc ] && rc=$rc2
	;;
esac
phase "done"
exit $rc
