#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# VM check 2, mtty profile (kernel 6.12's mtty sample: a real VFIO migration
# v2 driver with PRE_COPY): two mtty-2 devices, one migrated into the other
# with `migscope profile --device vfio:SRC,dest=DST --record --json`.
#   - the real driver's arcs, in order, each without error:
#     source RUNNING -> PRE_COPY -> PRE_COPY_P2P -> STOP_COPY -> STOP,
#     destination RUNNING -> RUNNING_P2P -> STOP -> RESUMING -> STOP ->
#     RUNNING_P2P -> RUNNING;
#   - PRECOPY_INFO samples, and the data verified (every byte the source
#     gave reached the destination);
#   - a sane verdict: mtty's whole state fits any threshold, so neither the
#     device nor the VM (the sum of its devices) is stalled or diverging, and
#     nothing is over the limit;
#   - the kernel's own account of the arcs (the vfio collectors run during
#     profile by default) matches the arcs driven;
#   - the capture replays to the same report;
#   - the kernel itself says where the devices are afterwards: the source
#     stopped (its state moved away, as QEMU leaves a migrated source), the
#     destination RUNNING.
. /checks/lib.sh

SRC_UUID=8c5c9f3e-5a4e-4c2b-9a53-000000000201
DST_UUID=8c5c9f3e-5a4e-4c2b-9a53-000000000202
trap 'mtty_remove $SRC_UUID; mtty_remove $DST_UUID' EXIT
src=$(mtty_create mtty-2 $SRC_UUID) || skip "no mtty-2 mdev type (CONFIG_SAMPLE_VFIO_MDEV_MTTY)"
dst=$(mtty_create mtty-2 $DST_UUID) || fail "failed to create a second mtty-2 device"
say "source $src ($SRC_UUID), destination $dst ($DST_UUID)"

"$MIGSCOPE" profile --device "vfio:$src,dest=$dst" --record "$T/run.mscap" --json \
	>"$T/r.json" 2>"$T/err"
rc=$?
show "$T/err"
[ $rc -eq 0 ] || fail "profile exited $rc: $(tail -1 "$T/err")"
"$MIGSCOPE" profile --device "vfio:$src,dest=$dst" >"$T/table" 2>&1 &&
	show "$T/table" 60

arcs() { # arcs ROLE: the timeline of the vfio device of that role, one "FROM->TO err" a line
	jq -r ".devices[] | select(.kind == \"vfio\" and .role == \"$1\") | .timeline[] |
		\"\(.from)->\(.to) \(.err)\"" "$T/r.json"
}
want_src="RUNNING->PRE_COPY 0
PRE_COPY->PRE_COPY_P2P 0
PRE_COPY_P2P->STOP_COPY 0
STOP_COPY->STOP 0"
want_dst="RUNNING->RUNNING_P2P 0
RUNNING_P2P->STOP 0
STOP->RESUMING 0
RESUMING->STOP 0
STOP->RUNNING_P2P 0
RUNNING_P2P->RUNNING 0"
got_src=$(arcs source)
got_dst=$(arcs destination)
[ "$got_src" = "$want_src" ] || { say "source arcs: $got_src"; fail "source arcs are not the save path"; }
[ "$got_dst" = "$want_dst" ] || { say "destination arcs: $got_dst"; fail "destination arcs are not the resume path"; }
say "arcs: the save path on the source, the resume path on the destination, no errors"

# profile runs the vfio collectors by default where they load (--collectors auto): the
# kernel's fexit on vfio_mig_get_next_state saw the same arcs (check 6 has the details)
jqt "$T/r.json" '[.devices[] | select(.kind == "vfio")] as $v | [$v[] |
	select(.kernel_arcs.watched and .kernel_arcs.verdict == "match")] | length == ($v | length)' ||
	fail "the kernel's arcs do not match the driven ones: $(jq -c '[.devices[].kernel_arcs]' "$T/r.json")"
grep -q 'data verified intact' "$T/err" || fail "profile did not say the data arrived intact"
precopy=$(jq '.events.by_type.precopy // 0' "$T/r.json")
[ "$precopy" -gt 0 ] || fail "no PRECOPY_INFO samples"
jqt "$T/r.json" '([.devices[] | select(.role == "source")][0].bytes | .precopy + .stopcopy) ==
	[.devices[] | select(.role == "destination")][0].bytes.resume' ||
	fail "bytes saved and bytes resumed differ"
moved=$(jq '[.devices[] | select(.role == "destination")][0].bytes.resume' "$T/r.json")
[ "$moved" -gt 0 ] || fail "no data moved"

verdict=$(jq -r '.devices[] | select(.role == "source") | .convergence.verdict' "$T/r.json")
reason=$(jq -r '.devices[] | select(.role == "source") | .convergence.reason' "$T/r.json")
say "verdict: $verdict ($reason); $precopy pre-copy samples, $moved bytes moved"
case "$verdict" in
stalled | diverging | unknown) fail "verdict '$verdict' for a device whose whole state fits: $reason" ;;
esac
vm_verdict=$(jq -r '.migration.convergence.verdict' "$T/r.json")
case "$vm_verdict" in
stalled | diverging | unknown)
	fail "the VM's verdict '$vm_verdict' beside a device that fits: $(jq -r .migration.convergence.reason "$T/r.json")" ;;
esac
jqt "$T/r.json" '[.devices[] | select(.role == "source") | .convergence.over_limit] | all(. == false)' ||
	fail "predicted downtime over the limit for a $moved-byte state"
jqt "$T/r.json" '.migration.switchover.converged == true' ||
	fail "switchover not converged: $(jq -r .migration.switchover.reason "$T/r.json")"

"$MIGSCOPE" replay "$T/run.mscap" --check "$T/r.json" >"$T/replay" 2>&1 ||
	{ show "$T/replay"; fail "the capture does not replay to the same report"; }

/usr/bin/vm_mig_state "$src" "$dst" >"$T/state" 2>&1 || { show "$T/state"; fail "vm_mig_state failed"; }
show "$T/state"
grep -qx "$src STOP" "$T/state" && grep -qx "$dst RUNNING" "$T/state" ||
	fail "after the profile the kernel says: $(tr '\n' ' ' <"$T/state")(want the source STOP, the destination RUNNING)"
pass "mtty arcs, $precopy PRECOPY_INFO samples and $moved bytes verified; verdict $verdict; replay identical"
