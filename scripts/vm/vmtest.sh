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
phase "initramfs built"

# The boots: every check runs in the VT-d boot unless its header says
# "# vmtest-boot: no-iommu" (a check that cannot run beside VT-d); those get
# a boot of their own without it.  VMTEST_CHECKS picks checks by number
# (2 or 02), name (mtty_profile) or both (02_mtty_profile).
picked() { # picked NAME: VMTEST_CHECKS is empty or names it
	local num=${1%%_*}
	[ -z "${VMTEST_CHECKS:-}" ] && return 0
	case ",$VMTEST_CHECKS," in
	*",${num#0},"* | *",$num,"* | *",${1#*_},"* | *",$1,"*) return 0 ;;
	esac
	return 1
}
viommu=() plain=()
for c in tests/vm/check_*.sh; do
	name=$(basename "$c" .sh)
	name=${name#check_}
	picked "$name" || continue
	if grep -q '^# vmtest-boot: no-iommu$' "$c"; then plain+=("$name"); else viommu+=("$name"); fi
done
if [ $((${#viommu[@]} + ${#plain[@]})) -eq 0 ]; then
	echo "vmtest: FAIL: VMTEST_CHECKS=$VMTEST_CHECKS names no check in tests/vm/"
	exit 1
fi

rc=0 pass=0 fail=0 skip=0 boots=0
# boot LOG CHECKS [run.sh options]: one boot, its totals added to the run's
boot() {
	local log=$BUILD/vm/$1 list=$2 r result
	shift 2
	args=(--kernel "$kernel" --initrd "$BUILD/vm/initramfs.cpio.gz" --log "$log" --checks "$list" "$@")
	[ -n "${VMTEST_TIMEOUT:-}" ] && args+=(--timeout "$VMTEST_TIMEOUT")
	BUILD=$BUILD scripts/vm/run.sh "${args[@]}"
	r=$?
	[ $r -gt $rc ] && rc=$r
	boots=$((boots + 1))
	result=$(grep -E '^MIGSCOPE-VM-RESULT ' "$log" 2>/dev/null | tail -1)
	pass=$((pass + $(echo "$result" | sed -n 's/.* pass=\([0-9]*\).*/\1/p')))
	fail=$((fail + $(echo "$result" | sed -n 's/.* fail=\([0-9]*\).*/\1/p')))
	skip=$((skip + $(echo "$result" | sed -n 's/.* skip=\([0-9]*\).*/\1/p')))
	[ -n "$result" ] || fail=$((fail + $(echo "$list" | tr ',' '\n' | wc -l)))
}
rm -f "$BUILD"/vm/console*.log*
if [ ${#viommu[@]} -gt 0 ]; then
	phase "booting with VT-d and edu: ${viommu[*]}"
	boot console.log "$(IFS=,; echo "${viommu[*]}")"
fi
if [ ${#plain[@]} -gt 0 ]; then
	# 6.12 probes IOMMUFD_TEST's mock device with the first IOMMU registered
	# without a firmware node, which is VT-d's when it is there
	phase "booting without VT-d: ${plain[*]}"
	boot console-no-iommu.log "$(IFS=,; echo "${plain[*]}")" --no-iommu
fi
# a boot without a result counts its checks as failed above
phase "done"
echo "vmtest: $pass passed, $fail failed, $skip skipped ($boots boot$([ $boots -eq 1 ] || echo s))"
[ $fail -eq 0 ] || [ $rc -ne 0 ] || rc=1
exit $rc
