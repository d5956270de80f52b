#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# migscope watch's command line: what it refuses before touching QEMU, each in
# one line naming the option, and a QMP socket nobody serves.  (The watch at
# work: tests/unit/test_watch_bpf.c with a fake QEMU, test_qemu_migration.c
# with a real one; there also a --dst-qmp nobody serves, beside a real QEMU 7.2.)
. "$(dirname "$0")/lib.sh"

usage() { # usage DESCRIPTION PATTERN -- args...
	local what=$1 pat=$2; shift 3
	expect_exit 2 "$what" -- "$MIGSCOPE" watch "$@"
	expect_lines 1 "$T/err" "$what: one line"
	expect_grep "$pat" "$T/err" "$what: says why"
}

usage "no --qmp" '--qmp SOCK or --domain NAME is required' -- --json
usage "--qmp and --domain" '--qmp and --domain are two ways to one monitor' -- \
	--qmp x.qmp --domain vm1
usage "--connect alone" '--connect URI goes with --domain NAME' -- \
	--qmp x.qmp --connect qemu:///system
usage "unknown event source" "--qemu-events: 'dtrace' is not auto, usdt or log" -- \
	--qmp x.qmp --qemu-events dtrace
usage "log events without a log" '--qemu-events log needs --qemu-log FILE' -- \
	--qmp x.qmp --qemu-events log
usage "usdt events and a log" '--qemu-events usdt contradicts --qemu-log' -- \
	--qmp x.qmp --qemu-events usdt --qemu-log q.log
usage "a device twice" '--device 0000:65:00.1 given twice' -- \
	--qmp x.qmp --device 0000:65:00.1 --device 0000:65:00.1
usage "a device path" "--device: '/sys/bus/pci/devices/0000:65:00.1' is not a kernel device name" \
	-- --qmp x.qmp --device /sys/bus/pci/devices/0000:65:00.1
usage "a name too long for the filter" 'at most 47 characters' -- \
	--qmp x.qmp --device "$(printf 'd%.0s' $(seq 48))"
usage "a destination log without its QMP" '--dst-qemu-log needs --dst-qmp SOCK' -- \
	--qmp x.qmp --dst-qemu-log dst.log
usage "the source's socket as the destination's" '--dst-qmp x.qmp is the source' -- \
	--qmp x.qmp --dst-qmp x.qmp

expect_exit 1 "nobody serves the socket" -- "$MIGSCOPE" watch --qmp "$T/none.qmp" --device 0000:65:00.1
expect_lines 1 "$T/err" "nobody serves the socket: one line"
expect_grep "none.qmp: failed to connect" "$T/err" "names the socket"

expect_exit 0 "--help" -- "$MIGSCOPE" watch --help
expect_grep '--qemu-events SOURCE' "$T/out" "--help: --qemu-events"
expect_grep '--device NAME' "$T/out" "--help: --device"
expect_grep '--dst-qmp SOCK' "$T/out" "--help: --dst-qmp"
expect_grep '--domain NAME' "$T/out" "--help: --domain"

finish
