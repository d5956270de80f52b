#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The VM lane's host side, without a VM: scripts/vm/run.sh against a stand-in
# QEMU that plays back a guest's console (the real boot is `make vmtest`;
# what a stand-in gives here is the paths a real guest rarely takes: a failed
# check, a panic, a hang), vmtest.sh where the lane cannot run, and the
# initramfs's contents.
. "$(dirname "$0")/lib.sh"
BUILD=${MIGSCOPE_BUILD:-build}

# the stand-in: records its arguments, prints $STUB_CONSOLE with CRLF line ends
# as a serial console does, exits $STUB_RC; STUB_HANG=1 hangs instead
mkdir -p "$T/bin"
cat >"$T/bin/qemu" <<'STUB'
#!/bin/sh
printf '%s\n' "$@" >"$STUB_ARGS"
[ "${STUB_HANG:-0}" = 1 ] && exec sleep 60
console=$STUB_CONSOLE
# STUB_SECOND: the console of every boot after the first
[ -n "${STUB_SECOND:-}" ] && [ -e "$STUB_ARGS.booted" ] && console=$STUB_SECOND
touch "$STUB_ARGS.booted"
sed 's/$/\r/' "$console"
exit "${STUB_RC:-0}"
STUB
chmod +x "$T/bin/qemu"
: >"$T/bzImage"
: >"$T/initrd"
export QEMU=$T/bin/qemu STUB_ARGS=$T/args STUB_CONSOLE=$T/console
run() { rm -f "$STUB_ARGS.booted"; BUILD=$T scripts/vm/run.sh --kernel "$T/bzImage" --initrd "$T/initrd" --log "$T/log" "$@"; }

cat >"$T/console" <<'EOF2'
[    0.000000] Linux version 6.12.118
vmtest: Linux 6.12.118, up 2.41 s at /init
  | a detail line, not shown
PASS 01_features: 11 collectors attached [3.1s]
SKIP 04_viommu: no edu PCI device [0.1s]
vmtest: 1 passed, 0 failed, 1 skipped
MIGSCOPE-VM-RESULT pass=1 fail=0 skip=1
EOF2
expect_exit 0 "every check passed or skipped: exit 0" -- run
expect_grep '^PASS 01_features: 11 collectors attached \[3.1s\]$' "$T/out" "result lines shown, without CR"
expect_grep '^vmtest: 1 passed, 0 failed, 1 skipped$' "$T/out" "the totals shown"
expect_grep '^vm: guest done in [0-9]+ s; console log: ' "$T/out" "the runner's own line"
if grep -q 'detail line' "$T/out"; then fail "detail lines stay in the log"; else ok "detail lines stay in the log"; fi
expect_grep 'a detail line' "$T/log" "the whole console is in the log"
for a in tcg intel-iommu,intremap=on edu 'intel_iommu=on' '-no-reboot'; do
	expect_grep "(^| )$a( |$)" <(tr '\n' ' ' <"$T/args") "QEMU runs with $a"
done

expect_exit 0 "--no-iommu --checks 2,5" -- run --no-iommu --checks 2,5
if grep -q 'intel' "$T/args"; then fail "--no-iommu: no VT-d"; else ok "--no-iommu: no VT-d"; fi
expect_grep 'ms_checks=2,5' "$T/args" "--checks goes to the guest's command line"

sed -i 's/^SKIP.*/FAIL 04_viommu: records do not tile [9.0s]/; s/fail=0 skip=1/fail=1 skip=0/' "$T/console"
expect_exit 1 "a failed check: exit 1" -- run
expect_grep '^FAIL 04_viommu: records do not tile' "$T/out" "the failure shown"

printf '%s\n' 'vmtest: Linux 6.12.118, up 2.41 s at /init' \
	'[    3.1] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100' >"$T/console"
expect_exit 2 "a guest panic: exit 2" -- run
expect_grep '^vm: no result from the guest \(the guest kernel panicked: .*Attempted to kill init' \
	"$T/out" "the panic named"

# a guest that dies before /init gets one more boot, and the second boot's result stands
printf '%s\n' "[    0.008] Kernel panic - not syncing: timer doesn't work through Interrupt-remapped IO-APIC" \
	>"$T/console"
printf '%s\n' 'vmtest: Linux 6.12.118, up 2.41 s at /init' 'PASS 01_features: ok [1.0s]' \
	'MIGSCOPE-VM-RESULT pass=1 fail=0 skip=0' >"$T/second"
STUB_SECOND=$T/second expect_exit 0 "a boot hiccup before /init: booted again, exit 0" -- run
expect_grep "^vm: the guest died before /init \(.*timer doesn't work.*\); booting once more" "$T/out" \
	"the first boot's death named"
expect_grep '^PASS 01_features' "$T/out" "the second boot's result shown"
[ -s "$T/log.first" ] && ok "the first boot's console kept" || fail "the first boot's console kept"
STUB_SECOND=$T/console expect_exit 2 "dying before /init twice: exit 2" -- run
if [ "$(grep -c 'booting once more' "$T/out")" -eq 1 ]; then ok "only one more boot"; else fail "only one more boot"; fi
# a guest that reached /init is not booted again: its checks ran
printf '%s\n' 'vmtest: Linux 6.12.118, up 2.41 s at /init' 'Kernel panic - not syncing: Attempted to kill init!' \
	>"$T/console"
STUB_SECOND=$T/second expect_exit 2 "a panic after /init: not booted again" -- run
if grep -q 'booting once more' "$T/out"; then fail "a panic after /init is final"; else ok "a panic after /init is final"; fi

: >"$T/console"
STUB_RC=1 expect_exit 2 "QEMU failing: exit 2" -- run
expect_grep '^vm: no result from the guest \(QEMU exited 1' "$T/out" "QEMU's status named"

STUB_HANG=1 expect_exit 2 "a hung guest: exit 2 at the timeout" -- run --timeout 1
expect_grep '^vm: no result from the guest \(timed out after 1 s' "$T/out" "the timeout named"

expect_exit 2 "a bad --timeout" -- run --timeout 5m
expect_grep "run.sh: --timeout '5m' is not a number of seconds" "$T/err" "the bad --timeout named"
expect_exit 2 "no --kernel" -- scripts/vm/run.sh --initrd "$T/initrd"
expect_exit 0 "--help" -- scripts/vm/run.sh --help
expect_grep '^Exit status:' "$T/out" "--help says what the exit status means"

# where the lane cannot run: one line, exit 0; CI's VMTEST_REQUIRE=1 makes it a failure
QEMU=$T/none expect_exit 0 "vmtest without QEMU: not run" -- scripts/vm/vmtest.sh
expect_lines 1 "$T/out" "vmtest without QEMU: one line"
expect_grep 'cannot run here.*no .*none' "$T/out" "vmtest says why"
QEMU=$T/none VMTEST_REQUIRE=1 expect_exit 1 "vmtest without QEMU, required: exit 1" -- scripts/vm/vmtest.sh

# the initramfs carries what the guest runs, with every library it loads
if [ ! -x /bin/busybox ] || readelf -l /bin/busybox | grep -q 'program interpreter'; then
	echo "SKIP test_vm_lane initramfs: busybox-static is not installed"
elif ! command -v cpio >/dev/null; then
	echo "SKIP test_vm_lane initramfs: cpio is not installed"
elif [ ! -x "$BUILD/migscope" ] || [ ! -x "$BUILD/vm/vm_iommu_map" ]; then
	echo "SKIP test_vm_lane initramfs: $BUILD/migscope or $BUILD/vm/ not built"
else
	expect_exit 0 "initramfs.sh" -- env BUILD="$BUILD" scripts/vm/initramfs.sh "$T/i.cpio.gz"
	mkdir "$T/root"
	(cd "$T/root" && zcat "$T/i.cpio.gz" | cpio -id --quiet)
	for f in init bin/busybox checks/lib.sh usr/bin/migscope usr/bin/jq; do
		[ -s "$T/root/$f" ] && ok "initramfs has /$f" || fail "initramfs has no /$f"
	done
	for c in tests/vm/check_*.sh tests/vm/*.c; do
		case $c in
		*.sh) f=checks/$(basename "$c") ;;
		*) f=usr/bin/$(basename "$c" .c) ;;
		esac
		[ -x "$T/root/$f" ] && ok "initramfs has /$f" || fail "initramfs has no /$f"
	done
	before=$failures
	for b in "$T"/root/usr/bin/*; do
		interp=$(readelf -l "$b" | sed -n 's/.*interpreter: \(.*\)]/\1/p')
		[ -s "$T/root$interp" ] || fail "$(basename "$b"): no loader $interp"
		for so in $(readelf -d "$b" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
			[ -s "$T/root/lib/x86_64-linux-gnu/$so" ] || fail "$(basename "$b"): no $so"
		done
	done
	[ "$failures" -eq "$before" ] && ok "every binary's loader and libraries are there"
fi
finish
