#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# VM check 7, unprivileged (kernel 6.12 with VFIO, mtty, fentry/fexit): as
# uid 65534 holding only CAP_BPF and CAP_PERFMON (ambient, vm_asuser), every
# collector is what it is for root, the fentry/fexit vfio ones included;
# without them `features` names both missing, with the kernel's answer, and
# exits 1; and `profile` migrates two real mtty devices with the kernel's arcs
# watched, given the device files (VFIO needs file permissions, not
# capabilities).
. /checks/lib.sh

NOBODY=65534
asuser() { vm_asuser $NOBODY $NOBODY "$@"; }

"$MIGSCOPE" features --json >"$T/root.json" 2>"$T/err" || { show "$T/err"; fail "features as root exited $?"; }
asuser bpf,perfmon "$MIGSCOPE" features --json >"$T/caps.json" 2>"$T/err" ||
	{ show "$T/err"; fail "features as uid $NOBODY with CAP_BPF+CAP_PERFMON exited $?"; }
jqt "$T/caps.json" '.bpf_usable' || fail "uid $NOBODY with CAP_BPF+CAP_PERFMON: BPF not usable"
jq -c '[.collectors[] | {name, state}]' "$T/root.json" >"$T/root.states"
jq -c '[.collectors[] | {name, state}]' "$T/caps.json" >"$T/caps.states"
if ! cmp -s "$T/root.states" "$T/caps.states"; then
	jq -r '.collectors[] | "\(.name) \(.state) \(.reason)"' "$T/caps.json" >"$T/c"
	show "$T/c"
	fail "uid $NOBODY with CAP_BPF+CAP_PERFMON: collectors differ from root's"
fi
attached=$(jq '[.collectors[] | select(.state == "attached")] | length' "$T/caps.json")
vfio=$(jq '[.collectors[] | select(.group == "vfio" and .state == "attached")] | length' "$T/caps.json")
say "uid $NOBODY, CAP_BPF+CAP_PERFMON: $attached collectors attached ($vfio vfio fentry/fexit), as for root"

asuser - "$MIGSCOPE" features >"$T/none.txt" 2>"$T/err"
rc=$?
show "$T/none.txt" 8
[ $rc -eq 1 ] || fail "features without capabilities exited $rc, not 1"
grep -q '^missing CAP_BPF: bpf(BPF_MAP_CREATE): Operation not permitted$' "$T/none.txt" ||
	fail "features without capabilities does not name CAP_BPF with the kernel's answer"
grep -q '^missing CAP_PERFMON: ' "$T/none.txt" || fail "features without capabilities does not name CAP_PERFMON"

SRC_UUID=8c5c9f3e-5a4e-4c2b-9a53-000000000701
DST_UUID=8c5c9f3e-5a4e-4c2b-9a53-000000000702
trap 'mtty_remove $SRC_UUID; mtty_remove $DST_UUID' EXIT
src=$(mtty_create mtty-2 $SRC_UUID) || skip "no mtty-2 mdev type (CONFIG_SAMPLE_VFIO_MDEV_MTTY)"
dst=$(mtty_create mtty-2 $DST_UUID) || fail "failed to create a second mtty-2 device"
# without the device files, the user is refused by the file permissions, not a capability
asuser bpf,perfmon "$MIGSCOPE" profile --device "vfio:$src,dest=$dst" --quiet >/dev/null 2>"$T/err" &&
	fail "profile opened $src without permission on it"
show "$T/err" 3
grep -q 'Permission denied' "$T/err" || fail "profile without the device files: not 'Permission denied'"
chown $NOBODY "$src" "$dst" /dev/iommu
asuser bpf,perfmon "$MIGSCOPE" profile --device "vfio:$src,dest=$dst" --collectors on --json --quiet \
	>"$T/r.json" 2>"$T/err"
rc=$?
chown 0 "$src" "$dst" /dev/iommu
show "$T/err"
[ $rc -eq 0 ] || fail "profile as uid $NOBODY with CAP_BPF+CAP_PERFMON exited $rc: $(tail -1 "$T/err")"
jqt "$T/r.json" '[.devices[] | select(.kind == "vfio") | .kernel_arcs |
	select(.watched and .verdict == "match" and .driven > 0)] | length > 0' ||
	fail "profile as uid $NOBODY: the kernel's arcs were not watched and matched"
pass "uid $NOBODY with CAP_BPF+CAP_PERFMON: $attached collectors attached as for root ($vfio vfio), mtty profile with kernel arcs matched; without: both capabilities named"
