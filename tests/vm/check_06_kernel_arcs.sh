#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# VM check 6, kernel arcs (kernel 6.12, mtty): the vfio collectors load and
# attach one by one (the fexit on vfio_mig_get_next_state reads its enum
# pointer with bpf_get_func_arg, which 6.12's verifier accepts), and during
# `profile` the arcs that fexit sees match, arc for arc, the arcs migscope
# drove on two real mtty devices; the mdev group form /dev/vfio/N@UUID
# reaches an mdev through its group, with the same check.
. /checks/lib.sh

"$MIGSCOPE" features --json >"$T/f.json" 2>"$T/err" || { show "$T/err"; fail "migscope features exited $?"; }
jq -r '.collectors[] | select(.group == "vfio") | "\(.name) \(.state) \(.reason)"' "$T/f.json" >"$T/vfio"
show "$T/vfio"
jqt "$T/f.json" '[.collectors[] | select(.group == "vfio")] | length == 6' || fail "not six vfio collectors"
jqt "$T/f.json" '[.collectors[] | select(.group == "vfio" and .state != "attached")] | length == 0' ||
	fail "vfio collector not attached: $(grep -v ' attached' "$T/vfio" | head -1)"

SRC_UUID=8c5c9f3e-5a4e-4c2b-9a53-000000000601
DST_UUID=8c5c9f3e-5a4e-4c2b-9a53-000000000602
trap 'mtty_remove $SRC_UUID; mtty_remove $DST_UUID' EXIT
src=$(mtty_create mtty-2 $SRC_UUID) || skip "no mtty-2 mdev type (CONFIG_SAMPLE_VFIO_MDEV_MTTY)"
dst=$(mtty_create mtty-2 $DST_UUID) || fail "failed to create a second mtty-2 device"
say "source $src ($SRC_UUID), destination $dst ($DST_UUID)"

# check_arcs FILE: every vfio device of the report was watched and matched
check_arcs() {
	jq -r '.devices[] | select(.kind == "vfio") | "\(.name): \(.kernel_arcs)"' "$1" >"$T/ka"
	show "$T/ka"
	jqt "$1" '[.devices[] | select(.kind == "vfio")] | length > 0' || fail "no vfio device in $1"
	jqt "$1" '[.devices[] | select(.kind == "vfio")] as $v | [$v[] | .kernel_arcs |
		select(.watched and .verdict == "match" and .missing == 0 and .extra == 0 and
		       .matched == .driven and .seen == .driven and .driven > 0)] | length ==
		($v | length)' ||
		fail "kernel arcs do not match the driven ones: $(head -1 "$T/ka")"
}

"$MIGSCOPE" profile --device "vfio:$src,dest=$dst" --collectors on --record "$T/run.mscap" \
	--json --quiet >"$T/r.json" 2>"$T/err"
rc=$?
show "$T/err"
[ $rc -eq 0 ] || fail "profile --collectors on exited $rc: $(tail -1 "$T/err")"
check_arcs "$T/r.json"
driven=$(jq '[.devices[] | select(.kind == "vfio") | .kernel_arcs.driven] | add' "$T/r.json")
"$MIGSCOPE" replay "$T/run.mscap" --check "$T/r.json" >"$T/replay" 2>&1 ||
	{ show "$T/replay"; fail "the capture does not replay to the same report"; }
"$MIGSCOPE" replay "$T/run.mscap" >"$T/table" 2>&1
show "$T/table" 60
grep -q '^kernel arcs (vfio_mig_get_next_state against the arcs driven):' "$T/table" ||
	fail "the table has no kernel arcs section"
[ "$(grep -cE ' match$' "$T/table")" -eq 2 ] || fail "the table does not show two matches"

# the group form: the source resumes its own state, reached through its group
grp=$(basename "$(readlink "/sys/bus/mdev/devices/$SRC_UUID/iommu_group")")
[ -c "/dev/vfio/$grp" ] || fail "no /dev/vfio/$grp for $SRC_UUID"
"$MIGSCOPE" profile --device "vfio:/dev/vfio/$grp@$SRC_UUID" --collectors on --json \
	>"$T/g.json" 2>"$T/gerr"
rc=$?
show "$T/gerr"
[ $rc -eq 0 ] || fail "profile of /dev/vfio/$grp@$SRC_UUID exited $rc: $(tail -1 "$T/gerr")"
grep -q 'data verified intact' "$T/gerr" || fail "the group form's data was not verified"
check_arcs "$T/g.json"
"$MIGSCOPE" profile --device "vfio:/dev/vfio/$grp@8c5c9f3e-5a4e-4c2b-9a53-0000000006ff" \
	>"$T/bad" 2>&1 && fail "a UUID the group does not have was accepted"
show "$T/bad"
pass "6 vfio collectors attached; $driven arcs on two mtty devices and the group form's, each seen by the kernel as driven"
