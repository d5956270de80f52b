#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Boot the VM lane's kernel and initramfs under QEMU (TCG: no KVM here) and
# pass the guest's result out: the guest's /init prints one PASS/FAIL/SKIP
# line per check and a final "MIGSCOPE-VM-RESULT pass=N fail=N skip=N" line
# on the serial console, then powers off.  The console is kept in a log file;
# its result lines are shown as they come.
#
#   scripts/vm/run.sh --kernel BZIMAGE --initrd INITRAMFS [options]
#
# Options:
#   --log FILE        the serial console log (default $BUILD/vm/console.log)
#   --timeout SECS    kill QEMU after this long (default 1800: the checks run
#                     under TCG on a shared machine; a warm run takes minutes)
#   --checks LIST     run only these checks (numbers or names, comma-separated)
#   --no-iommu        boot without the emulated VT-d (check 4 then skips)
#   --append ARGS     more kernel command-line arguments
#
# Example (what make vmtest runs, then only checks 2 and 5, without VT-d):
#   scripts/vm/run.sh --kernel "$(scripts/vm/build-kernel.sh)" --initrd build/vm/initramfs.cpio.gz
#   scripts/vm/run.sh --kernel ... --initrd ... --checks 2,5 --no-iommu
#
# QEMU=PATH runs another qemu-system-x86_64 (default: the one in PATH).
#
# Exit status: 0 every check passed or skipped, 1 a check failed, 2 no result
# (QEMU failed, the guest crashed or the timeout hit: the log says which).
set -uo pipefail
BUILD=${BUILD:-build}
kernel= initrd= log=$BUILD/vm/console.log timeout=1800 checks= iommu=1 append=
# usage STATUS: the header's usage part, on stdout for --help, else on stderr
usage() {
	sed -n '/^#   scripts/,/^# (QEMU failed/p' "$0" | sed 's/^# \{0,1\}//' >&"$(($1 ? 2 : 1))"
	exit "$1"
}
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=$2; shift 2 ;;
	--initrd) initrd=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--checks) checks=$2; shift 2 ;;
	--no-iommu) iommu=0; shift ;;
	--append) append=$2; shift 2 ;;
	-h | --help) usage 0 ;;
	*) echo "run.sh: unknown option '$1'" >&2; usage 2 ;;
	esac
done
[ -n "$kernel" ] && [ -n "$initrd" ] || { echo "run.sh: --kernel and --initrd are required" >&2; usage 2; }
for f in "$kernel" "$initrd"; do
	[ -r "$f" ] || { echo "run.sh: cannot read $f" >&2; exit 2; }
done
case "$timeout" in '' | *[!0-9]*) echo "run.sh: --timeout '$timeout' is not a number of seconds" >&2; exit 2 ;; esac
QEMU=${QEMU:-qemu-system-x86_64}
command -v "$QEMU" >/dev/null || { echo "run.sh: no $QEMU" >&2; exit 2; }

# no_timer_check: under TCG on a loaded host the IO-APIC timer test at boot can
# miss its ticks and panic ("timer doesn't work through Interrupt-remapped
# IO-APIC"); KVM guests skip it the same way
cmdline="console=ttyS0 panic=-1 quiet loglevel=4 no_timer_check"
machine=q35
dev=(-device edu)
if [ $iommu -eq 1 ]; then
	# VT-d with interrupt remapping needs the split irqchip (ignored by TCG, kept
	# so the same line works with KVM)
	machine=q35,kernel-irqchip=split
	dev=(-device intel-iommu,intremap=on "${dev[@]}")
	cmdline="$cmdline intel_iommu=on"
fi
[ -n "$checks" ] && cmdline="$cmdline ms_checks=$checks"
[ -n "$append" ] && cmdline="$cmdline $append"

mkdir -p "$(dirname "$log")"
# boot: one run of QEMU, its console in $log, the result lines shown as they
# come; -no-reboot: a guest panic (panic=-1 reboots at once) ends QEMU
boot() {
	timeout -k 10 "$timeout" "$QEMU" -machine "$machine" -accel tcg -cpu max -smp 1 -m 1G \
		-nodefaults -display none -serial stdio -no-reboot "${dev[@]}" \
		-kernel "$kernel" -initrd "$initrd" -append "$cmdline" </dev/null 2>&1 |
		tr -d '\r' | tee "$log" | grep --line-buffered -E '^(PASS|FAIL|SKIP|vmtest:) '
	qemu=${PIPESTATUS[0]}
}
start=$(date +%s.%N)
boot
# A guest that died before /init ran (a boot hiccup of the emulation) gets one
# more boot; one that reached /init does not: its checks ran, their result stands.
if [ "$qemu" -ne 124 ] && [ "$qemu" -ne 137 ] && ! grep -q '^MIGSCOPE-VM-RESULT ' "$log" &&
	! grep -q '^vmtest: Linux .* at /init$' "$log"; then
	mv "$log" "$log.first"
	echo "vm: the guest died before /init ($(grep -m1 -E 'Kernel panic|qemu-system' "$log.first" ||
		echo "QEMU exited $qemu")); booting once more (first console: $log.first)"
	boot
fi
secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')

result=$(grep -E '^MIGSCOPE-VM-RESULT ' "$log" | tail -1)
if [ -z "$result" ]; then
	if [ "$qemu" -eq 124 ] || [ "$qemu" -eq 137 ]; then
		why="timed out after $timeout s"
	elif grep -q 'Kernel panic' "$log"; then
		why="the guest kernel panicked: $(grep -m1 'Kernel panic' "$log")"
	else
		why="QEMU exited $qemu: $(grep -m1 -i 'qemu-system-x86_64:' "$log" || tail -1 "$log")"
	fi
	echo "vm: no result from the guest ($why, ${secs} s); console log: $log"
	exit 2
fi
fail=$(echo "$result" | sed -n 's/.* fail=\([0-9]*\).*/\1/p')
echo "vm: guest done in ${secs} s; console log: $log"
[ "${fail:-1}" -eq 0 ]
