#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# migscope profile from the command line: the default run, JSON, recording and
# replay, determinism, and one clear line with the right exit for bad input.
. "$(dirname "$0")/lib.sh"

expect_exit 0 "profile with no arguments" -- "$MIGSCOPE" profile
expect_grep 'ref0\.dst' "$T/out" "the report lists the destination devices"
expect_grep 'data verified intact' "$T/err" "the run says the data arrived intact"
expect_lines 1 "$T/err" "one line on stderr"
expect_grep 'switchover converged after [0-9]* rounds: stop-copy .* under the threshold' "$T/err" \
	"the default run converges, and says why"

expect_exit 0 "a device whose state mostly moves in stop-copy" -- "$MIGSCOPE" profile \
	--device ref:state=64M,init=4M --duration 1s
expect_grep 'switchover forced at --duration 1.0 s without converging: stop-copy .* over the threshold' \
	"$T/err" "it is forced at --duration, and says it did not converge"
expect_grep 'switchover did not converge' "$T/out" "the report says so too"

expect_exit 0 "--quiet" -- "$MIGSCOPE" profile --quiet --device ref:state=1M
expect_lines 0 "$T/err" "--quiet prints nothing on stderr"

expect_exit 0 "--json --record" -- "$MIGSCOPE" profile --json --quiet --seed 3 \
	--device ref:state=2M --device ref:iface=virtio --record "$T/run.mscap"
cp "$T/out" "$T/live.json"
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["session"]["source"]=="profile"' \
	"$T/live.json"; then ok "--json is the profile report"; else fail "--json is not the profile report"; fi
[ "$(stat -c %a "$T/run.mscap")" = 600 ] && ok "capture is mode 0600" || fail "capture is not mode 0600"
expect_exit 0 "replay of the capture" -- "$MIGSCOPE" replay "$T/run.mscap" --json
if cmp -s "$T/live.json" "$T/out"; then ok "replay gives the live report"; else
	fail "replay differs from the live report"; diff "$T/live.json" "$T/out" | head -5; fi

"$MIGSCOPE" profile --json --quiet --seed 3 --device ref:state=2M --device ref:iface=virtio >"$T/a.json"
"$MIGSCOPE" profile --json --quiet --seed 3 --device ref:state=2M --device ref:iface=virtio >"$T/b.json"
if cmp -s <(grep -v '"started"' "$T/a.json") <(grep -v '"started"' "$T/b.json"); then
	ok "the same seed gives the same report"; else fail "same seed, different reports"; fi

usage() {
	local want=$1; shift
	expect_exit 2 "profile $*" -- "$MIGSCOPE" profile "$@"
	expect_lines 1 "$T/err" "profile $*: one line"
	expect_grep "$want" "$T/err" "profile $*: names the problem"
}
usage "ref: dirty='fast' is not a rate" --device ref:dirty=fast
usage "unknown option 'colour'" --device ref:colour=blue
usage "--bandwidth: 'lots' is not a rate" --bandwidth lots
usage "--downtime-limit" --downtime-limit 0
usage "is not a device" --device qemu:x
usage "unexpected argument" extra
usage "--collectors: 'maybe' is not auto, on or off" --collectors maybe

expect_exit 1 "an injected device failure" -- "$MIGSCOPE" profile --device ref:state=1M,fail=stop_copy
expect_lines 1 "$T/err" "the failure is one line"
expect_grep "ref0: MIG_DEVICE_STATE: the device failed the arc to STOP_COPY .*rolled back to RUNNING" \
	"$T/err" "it names the device, the command and the rollback"

# a failure that is not an arc's (the destination refused the data) says the rollback too
expect_exit 1 "a destination refusing the data" -- "$MIGSCOPE" profile --device ref:state=1M,fault=corrupt
expect_lines 1 "$T/err" "the failure is one line"
expect_grep "ref0.dst: data write: .*checksum.*; every device rolled back to RUNNING$" "$T/err" \
	"it names the destination, the refusal and the rollback"

# the failed run's capture says why, in the report's session.error and the table
expect_exit 1 "a failed run, recorded" -- "$MIGSCOPE" profile --device ref:state=1M,fail=stop_copy \
	--record "$T/fail.mscap"
sed 's/^migscope: profile: //' "$T/err" >"$T/why"
expect_exit 0 "its capture replays" -- "$MIGSCOPE" replay "$T/fail.mscap" --json
if jq -e --rawfile why "$T/why" '.session.status < 0 and .session.error + "\n" == $why' "$T/out" \
	>/dev/null; then
	ok "session.error is the error the command printed"
else
	fail "session.error: $(jq -c .session "$T/out")"
fi
expect_exit 0 "its table" -- "$MIGSCOPE" replay "$T/fail.mscap"
expect_grep "^FAILED \(.*\): ref0: MIG_DEVICE_STATE: the device failed the arc to STOP_COPY" "$T/out" \
	"the table says the run failed and why"
expect_exit 0 "a run that did not fail" -- "$MIGSCOPE" profile --device ref:state=1M --record "$T/ok.mscap"
expect_exit 0 "its capture replays" -- "$MIGSCOPE" replay "$T/ok.mscap" --json
if jq -e '.session.status == 0 and .session.error == null' "$T/out" >/dev/null; then
	ok "no error when nothing failed"
else
	fail "a run that did not fail has $(jq -c .session "$T/out")"
fi

if [ ! -e /dev/vfio ]; then
	expect_exit 1 "a VFIO device on a kernel without VFIO" -- \
		"$MIGSCOPE" profile --device vfio:/dev/vfio/devices/vfio0
	expect_grep "no VFIO on this kernel" "$T/err" "it says the kernel has no VFIO"
	expect_exit 1 "an mdev in its group on a kernel without VFIO" -- \
		"$MIGSCOPE" profile --device vfio:/dev/vfio/3@83b8f4f2-509f-382f-3c1e-e6bfe0fa1001
	expect_grep "failed to open /dev/vfio/vfio: no VFIO on this kernel" "$T/err" \
		"the group form gets as far as the container"
fi

expect_exit 1 "a malformed group name" -- "$MIGSCOPE" profile --device vfio:/dev/vfio/x3@0000:3b:00.1
expect_lines 1 "$T/err" "a malformed group name: one line"
expect_grep "'/dev/vfio/x3@0000:3b:00.1': '/dev/vfio/x3' is not a VFIO group \(/dev/vfio/N\)" \
	"$T/err" "it names the part that is wrong"

# reference devices only: the kernel never sees their arcs, and nothing is watched or said
expect_exit 0 "--collectors on with reference devices" -- \
	"$MIGSCOPE" profile --json --quiet --collectors on --device ref:state=1M
if grep -q '"kernel_arcs"' "$T/out"; then fail "kernel_arcs without a vfio device"; else
	ok "no kernel_arcs without a vfio device"; fi

expect_exit 0 "--help" -- "$MIGSCOPE" profile --help
expect_grep "reinit=N" "$T/out" "--help lists the reference device options"
finish
