// SPDX-License-Identifier: GPL-2.0-only
/*
 * IOMMU collector.
 *
 * iommu:map and iommu:unmap give the IOVA ranges a device may write (the
 * upper bound of its dirty set); they carry no device, so the records have
 * hdr.dev = MS_DEV_NONE.  VFIO maps guest memory from the ioctl of the VMM,
 * so the agent can restrict them to the QEMU processes it watches (the
 * kernel's own DMA mappings through dma-iommu come from every context and
 * would otherwise flood the ring).  iommu:io_page_fault names the device and
 * the page it was about to touch; attach_device_to_domain and
 * add_device_to_group tie a watched device to its IOMMU group.
 */
#include "devs.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define IOMMU_FAULT_WRITE 0x1
#define FAULT_PAGE	  4096ull

/*
 * Record map/unmap only from these processes (none: from every process).
 * Constants of the program: the verifier sees the count, the loop is a few
 * compares, no map lookup.
 */
const volatile __u32 nr_tgids = 0;
const volatile __u32 tgids[MS_BPF_MAX_TGIDS];

static __always_inline bool tgid_wanted(void)
{
	__u32 tgid;

	if (!nr_tgids)
		return true;
	tgid = (__u32)(bpf_get_current_pid_tgid() >> 32);
	for (__u32 i = 0; i < nr_tgids && i < MS_BPF_MAX_TGIDS; i++)
		if (tgids[i] == tgid)
			return true;
	return false;
}

SEC("raw_tp/map")
int BPF_PROG(iommu_map, unsigned long iova, phys_addr_t paddr, size_t size)
{
	if (tgid_wanted())
		ms_run_add(MS_BPF_RUN_IOMMU, MS_EV_IOMMU_MAP, MS_DEV_NONE, MS_BPF_SLOT_NONE, iova,
			   size, paddr);
	return 0;
}

SEC("raw_tp/unmap")
int BPF_PROG(iommu_unmap, unsigned long iova, size_t size, size_t unmapped_size)
{
	if (tgid_wanted())
		ms_run_add(MS_BPF_RUN_IOMMU, MS_EV_IOMMU_UNMAP, MS_DEV_NONE, MS_BPF_SLOT_NONE, iova,
			   size, unmapped_size);
	return 0;
}

/*
 * Every fault is a write record for its page, read faults included: several
 * IOMMU drivers report no direction, and a device that faults on a read of a
 * descriptor page commonly writes the same page next.  Over-reporting a page
 * costs bandwidth; missing one corrupts the guest.  dir says what was known.
 */
SEC("raw_tp/io_page_fault")
int BPF_PROG(iommu_io_page_fault, struct device *dev, unsigned long iova, int flags)
{
	const struct ms_bpf_dev *d = ms_dev_lookup(dev);

	if (d)
		ms_emit_write(
		    d->id, d->slot, iova & ~(FAULT_PAGE - 1), FAULT_PAGE, MS_SRC_IOMMU_FAULT,
		    (flags & IOMMU_FAULT_WRITE) ? MS_DMA_FROM_DEVICE : MS_DMA_BIDIRECTIONAL);
	return 0;
}

static __always_inline int emit_attach(const struct ms_bpf_dev *d, __u32 group)
{
	struct ms_ev_dev_attach *e;

	e = MS_RESERVE(struct ms_ev_dev_attach, MS_EV_DEV_ATTACH, d->id, d->slot);
	if (!e)
		return 0;
	e->group = group;
	e->reserved = 0;
	MS_SUBMIT(e);
	return 0;
}

SEC("raw_tp/add_device_to_group")
int BPF_PROG(iommu_add_device_to_group, int group_id, struct device *dev)
{
	const struct ms_bpf_dev *d = ms_dev_lookup(dev);

	return d ? emit_attach(d, (__u32)group_id) : 0;
}

/* The tracepoint names no domain: the record carries the device's group, or ~0. */
SEC("raw_tp/attach_device_to_domain")
int BPF_PROG(iommu_attach_device_to_domain, struct device *dev)
{
	const struct ms_bpf_dev *d = ms_dev_lookup(dev);
	struct iommu_group *grp;
	int id = -1;

	if (!d)
		return 0;
	grp = BPF_CORE_READ(dev, iommu_group);
	if (!grp || bpf_core_read(&id, sizeof(id), &grp->id))
		id = -1;
	return emit_attach(d, (__u32)id);
}
