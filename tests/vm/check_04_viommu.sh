#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# VM check 4, vIOMMU (kernel 6.12 behind QEMU's emulated VT-d, intel_iommu=on):
# QEMU's `edu` PCI device, which has no guest driver, bound to vfio-pci and
# opened through its IOMMU group and a type1 container by tests/vm/vm_iommu_map.c,
# which maps and unmaps three buffers for DMA while migscope's iommu
# collectors watch.  The iommu:map/unmap tracepoints fire with those real
# mappings; the records (runs of contiguous maps and unmaps, coalesced in the
# kernel) tile exactly the IOVAs and sizes mapped and unmapped, the dirty
# tracker counts the events they stand for, and its mapped set follows them
# back to empty.
. /checks/lib.sh

ls /sys/class/iommu/ 2>/dev/null | grep -q . ||
	skip "no IOMMU in the guest (run.sh boots with -device intel-iommu unless --no-iommu)"
edu=
for d in /sys/bus/pci/devices/*; do
	if [ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11e8 ]; then
		edu=$(basename "$d")
		break
	fi
done
[ -n "$edu" ] || skip "no edu PCI device (run.sh adds -device edu)"
say "IOMMU $(ls /sys/class/iommu | tr '\n' ' ')edu at $edu, group $(basename "$(readlink /sys/bus/pci/devices/$edu/iommu_group)")"

if [ "$(basename "$(readlink /sys/bus/pci/devices/$edu/driver 2>/dev/null)")" != vfio-pci ]; then
	echo vfio-pci >/sys/bus/pci/devices/$edu/driver_override || fail "failed to set driver_override"
	echo "$edu" >/sys/bus/pci/drivers_probe
fi
drv=$(basename "$(readlink /sys/bus/pci/devices/$edu/driver 2>/dev/null)")
[ "$drv" = vfio-pci ] || fail "edu is bound to '${drv:-nothing}', not vfio-pci"

/usr/bin/vm_iommu_map "$edu" >"$T/out" 2>&1
rc=$?
show "$T/out" 60
[ $rc -eq 0 ] || fail "$(tail -1 "$T/out")"
pass "$(tail -1 "$T/out" | sed 's/^vm_iommu_map: //')"
