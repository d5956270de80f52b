#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0-only
# /init of the VM lane's initramfs (scripts/vm/initramfs.sh): mount what
# migscope needs, run every /checks/check_*.sh (or those named by ms_checks=
# on the kernel command line) with a timeout, print one PASS/FAIL/SKIP line
# each and the totals, then the end marker scripts/vm/run.sh looks for, and
# power off.  Nothing here may leave the guest running: the runner's timeout
# is the last resort, not the normal end.
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug
mount -t bpf bpf /sys/fs/bpf
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts
ulimit -l unlimited

# the kernel passes unknown key=value parameters to init as its environment
check_timeout=${ms_check_timeout:-300}
echo "vmtest: Linux $(uname -r), up $(cut -d' ' -f1 /proc/uptime) s at /init"

pass=0 fail=0 skip=0
for c in /checks/check_*.sh; do
	name=$(basename "$c" .sh)
	name=${name#check_}
	if [ -n "${ms_checks:-}" ]; then
		# a check is named by its number (2 or 02), its name (mtty_profile) or both
		num=${name%%_*}
		case ",$ms_checks," in
		*",${num#0},"* | *",$num,"* | *",${name#*_},"* | *",$name,"*) ;;
		*) continue ;;
		esac
	fi
	start=$(cut -d' ' -f1 /proc/uptime)
	CHECK=$name timeout "$check_timeout" sh "$c" >/tmp/out.$name 2>&1
	rc=$?
	end=$(cut -d' ' -f1 /proc/uptime)
	secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
	# the check's last PASS/FAIL/SKIP line is its result; it must agree with its status
	result=$(grep -E '^(PASS|FAIL|SKIP) ' /tmp/out.$name | tail -1)
	grep -vE '^(PASS|FAIL|SKIP) ' /tmp/out.$name
	case "$rc:${result%% *}" in
	0:PASS) pass=$((pass + 1)) ;;
	77:SKIP) skip=$((skip + 1)) ;;
	1:FAIL) fail=$((fail + 1)) ;;
	143:* | 124:*) fail=$((fail + 1)); result="FAIL $name: timed out after $check_timeout s" ;;
	*) fail=$((fail + 1)); result="FAIL $name: exit status $rc without a matching result line (${result:-none})" ;;
	esac
	echo "$result [${secs}s]"
done
echo "vmtest: $pass passed, $fail failed, $skip skipped"
echo "MIGSCOPE-VM-RESULT pass=$pass fail=$fail skip=$skip"
sync
poweroff -f
