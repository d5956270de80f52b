# SPDX-License-Identifier: GPL-2.0-only
# Helpers for the VM lane's checks (tests/vm/check_*.sh), sourced inside the
# guest.  A check prints what it saw as indented detail lines and ends with
# exactly one result line through pass, fail or skip, which also sets the exit
# status /init reads (0 pass, 1 fail, 77 skip).  $T is a scratch directory of
# the check's own; $MIGSCOPE the CLI.
set -u
MIGSCOPE=${MIGSCOPE:-/usr/bin/migscope}
T=$(mktemp -d /tmp/check.XXXXXX)
CHECK=${CHECK:-$(basename "$0" .sh)}

say() { echo "  $*"; }
pass() { echo "PASS $CHECK: $*"; exit 0; }
fail() { echo "FAIL $CHECK: $*"; exit 1; }
skip() { echo "SKIP $CHECK: $*"; exit 77; }

# show FILE [N]: a file's first N lines (40) as detail lines, for the console log
show() { sed -n "1,${2:-40}p" "$1" | sed 's/^/  | /'; }

# mtty_create TYPE UUID: an mtty mdev (TYPE mtty-1 or mtty-2); prints the path
# of its VFIO cdev (/dev/vfio/devices/vfioN).  The cdev number is the kernel's
# (creation order), so it is read back from sysfs, not assumed.
mtty_create() {
	local types=/sys/class/mdev_bus/mtty/mdev_supported_types dev
	[ -d "$types/$1" ] || return 1
	echo "$2" >"$types/$1/create" || return 1
	dev=$(ls "/sys/bus/mdev/devices/$2/vfio-dev" 2>/dev/null | head -1)
	[ -n "$dev" ] && [ -c "/dev/vfio/devices/$dev" ] || return 1
	echo "/dev/vfio/devices/$dev"
}

mtty_remove() {
	[ -e "/sys/bus/mdev/devices/$1/remove" ] && echo 1 >"/sys/bus/mdev/devices/$1/remove"
	return 0
}

# jqt FILE FILTER: FILTER is true of FILE
jqt() { jq -e "$2" "$1" >/dev/null 2>&1; }
