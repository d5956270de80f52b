#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# migscope profile from the command line: the default run, JSON, recording and
# replay, and one clear line with exit 2 for bad input.
set -euo pipefail
M=${MIGSCOPE:-build/san/migscope}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# the default: two reference devices, verified, report on stdout
"$M" profile >"$tmp/out" 2>"$tmp/err" || fail "default profile failed: $(cat "$tmp/err")"
grep -q 'ref0.dst' "$tmp/out" || fail "report does not list ref0.dst"
grep -q 'data verified intact' "$tmp/err" || fail "no verification line: $(cat "$tmp/err")"
[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "more than one line on stderr"

# --quiet: nothing on stderr
"$M" profile --quiet --device ref:state=1M >/dev/null 2>"$tmp/err"
[ ! -s "$tmp/err" ] || fail "--quiet printed: $(cat "$tmp/err")"

# --json is JSON; a recorded run replays to the same report
"$M" profile --json --quiet --seed 3 --device ref:state=2M,iface=vfio --device ref:iface=virtio \
	--record "$tmp/run.mscap" >"$tmp/live.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["session"]["source"]=="profile", d' \
	"$tmp/live.json" || fail "--json is not the profile report"
[ "$(stat -c %a "$tmp/run.mscap")" = 600 ] || fail "capture is not mode 0600"
"$M" replay "$tmp/run.mscap" --json >"$tmp/replay.json"
cmp -s <(grep -v '"started"' "$tmp/live.json") <(grep -v '"started"' "$tmp/replay.json") ||
	fail "replay differs from the live report"

# the same seed gives the same report, wall clock aside
"$M" profile --json --quiet --seed 3 --device ref:state=2M --device ref:iface=virtio >"$tmp/a.json"
"$M" profile --json --quiet --seed 3 --device ref:state=2M --device ref:iface=virtio >"$tmp/b.json"
cmp -s <(grep -v -e '"started"' -e '"host"' "$tmp/a.json") <(grep -v -e '"started"' -e '"host"' "$tmp/b.json") ||
	fail "same seed, different reports"

# bad input: exit 2, one line naming the option
expect_usage() {
	local want=$1; shift
	set +e
	"$M" profile "$@" >/dev/null 2>"$tmp/err"
	local rc=$?
	set -e
	[ $rc -eq 2 ] || fail "profile $*: exit $rc, want 2"
	[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "profile $*: not one line: $(cat "$tmp/err")"
	grep -q -- "$want" "$tmp/err" || fail "profile $*: '$(cat "$tmp/err")' lacks '$want'"
}
expect_usage "ref: dirty='fast' is not a rate" --device ref:dirty=fast
expect_usage "unknown option 'colour'" --device ref:colour=blue
expect_usage "--bandwidth: 'lots' is not a rate" --bandwidth lots
expect_usage "--downtime-limit" --downtime-limit 0
expect_usage "is not a device" --device qemu:x
expect_usage "unexpected argument" extra

# a failure at run time: exit 1, one line naming the device, devices rolled back
set +e
"$M" profile --device ref:state=1M,fail=stop_copy >/dev/null 2>"$tmp/err"
rc=$?
set -e
[ $rc -eq 1 ] || fail "injected failure: exit $rc, want 1"
grep -q "ref0: MIG_DEVICE_STATE: the device failed the arc to STOP_COPY .*rolled back to RUNNING" "$tmp/err" ||
	fail "injected failure: $(cat "$tmp/err")"

# no VFIO on this machine: one clear line, exit 1
if [ ! -e /dev/vfio ]; then
	set +e
	"$M" profile --device vfio:/dev/vfio/devices/vfio0 >/dev/null 2>"$tmp/err"
	rc=$?
	set -e
	[ $rc -eq 1 ] || fail "vfio without VFIO: exit $rc"
	grep -q "no VFIO on this kernel" "$tmp/err" || fail "vfio without VFIO: $(cat "$tmp/err")"
fi

"$M" profile --help | grep -q "reinit=N" || fail "--help lacks the reference options"
echo "ok"
