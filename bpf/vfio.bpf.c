// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO and iommufd hooks: what only the VFIO core sees.
 *
 * - migration arcs: the drivers walk a state change one arc at a time,
 *   asking vfio_mig_get_next_state() for each; an arc ends when the driver
 *   asks for the next one or when the VFIO_DEVICE_FEATURE ioctl returns.
 * - hardware dirty reports: every IOMMU dirty-bit harvest (iommufd,
 *   iommu_dirty_bitmap_record()) and every device dirty tracker report
 *   (VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT: mlx5, pds) ends in
 *   iova_bitmap_set().  Reports made inside a device's ioctl belong to that
 *   device, and so do reports made while the agent reads a HWPT's dirty
 *   bitmap for a device (it claims its thread, ms_collect__claim_thread());
 *   the others (QEMU's iommufd reads, type1 containers) to the whole IOMMU
 *   domain, hdr.dev = MS_DEV_NONE.
 * - mdev drivers: pages pinned writable and vfio_dma_rw() writes.
 *
 * These need fentry/fexit (no tracepoint carries them), which some kernels
 * refuse and kernels without VFIO do not have: the agent probes and skips.
 * The VFIO types are declared here with a ___ms flavour; CO-RE matches them
 * to the kernel's struct vfio_device and struct vfio_device_file.
 */
#include "devs.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define IOMMU_WRITE		(1 << 1)
#define VFIO_DEVICE_STATE_ERROR 0

/* The kernel's PAGE_SIZE, for pinned page counts. */
const volatile __u64 page_size = 4096;
/*
 * What an arc is: the device's own state record (watch: the kernel is the
 * only one who sees the arcs), or MS_EV_KERNEL_ARC (profile drives the device
 * and publishes the arcs itself; the kernel's are the witness).
 */
const volatile __u32 arc_type = MS_EV_DEV_STATE;

struct vfio_device___ms {
	struct device *dev;
} __attribute__((preserve_access_index));

/* Since 6.2 a device fd's private_data is a vfio_device_file. */
struct vfio_device_file___ms {
	struct vfio_device___ms *device;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); /* thread id */
	__type(value, struct ms_bpf_call); /* collect_abi.h */
} ms_vfio_calls SEC(".maps");

static __always_inline const struct ms_bpf_dev *vdev_lookup(struct vfio_device___ms *vdev)
{
	return ms_dev_lookup(BPF_CORE_READ(vdev, dev));
}

/* hardware dirty reports and mdev writes: the device wrote memory */
static __always_inline void emit_write(__u32 id, __u32 slot, __u64 iova, __u64 len)
{
	ms_emit_write(id, slot, iova, len, MS_SRC_HW_DIRTY, MS_DMA_FROM_DEVICE);
}

static __always_inline void emit_arc(struct ms_bpf_call *c, __s32 err, __u64 now)
{
	struct ms_ev_dev_state *e = MS_RESERVE(struct ms_ev_dev_state, arc_type, c->id, c->slot);

	if (!e)
		return;
	e->domain = MS_DOMAIN_VFIO;
	e->from = (__u8)c->from;
	e->to = err ? VFIO_DEVICE_STATE_ERROR : (__u8)c->to;
	e->err = err;
	e->dur_ns = now - c->start_ns;
	MS_SUBMIT(e);
	c->start_ns = 0;
}

SEC("fentry/vfio_device_fops_unl_ioctl")
int BPF_PROG(vfio_ioctl_enter, struct file *f, unsigned int cmd, unsigned long arg)
{
	struct vfio_device___ms *vdev = BPF_CORE_READ(f, private_data);
	const struct ms_bpf_dev *d;
	struct ms_bpf_call c = {};
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (!nr_watched)
		return 0;
	if (bpf_core_type_exists(struct vfio_device_file___ms))
		vdev = BPF_CORE_READ((struct vfio_device_file___ms *)vdev, device);
	d = vdev_lookup(vdev);
	c.id = d ? d->id : MS_DEV_NONE;
	c.slot = d ? d->slot : MS_BPF_SLOT_NONE;
	bpf_map_update_elem(&ms_vfio_calls, &tid, &c, BPF_ANY);
	return 0;
}

SEC("fexit/vfio_device_fops_unl_ioctl")
int BPF_PROG(vfio_ioctl_exit, struct file *f, unsigned int cmd, unsigned long arg, long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct ms_bpf_call *c = bpf_map_lookup_elem(&ms_vfio_calls, &tid);

	if (!c)
		return 0;
	if (c->id != MS_DEV_NONE && c->start_ns)
		emit_arc(c, ret < 0 ? (__s32)ret : 0, bpf_ktime_get_ns());
	bpf_map_delete_elem(&ms_vfio_calls, &tid);
	return 0;
}

/*
 * int vfio_mig_get_next_state(struct vfio_device *, enum vfio_device_mig_state cur,
 *                             enum vfio_device_mig_state new, enum vfio_device_mig_state *next)
 *
 * The verifier lets a tracing program dereference a context argument only when it points to a
 * struct (or an int on some kernels): 6.12 rejects a direct load of the enum pointer 'next'
 * ("arg3 type ENUM is not a struct").  bpf_get_func_arg()/bpf_get_func_ret() read any argument
 * as a plain u64 on every kernel with fexit (5.17+), and the pointer is then read as memory.
 */
SEC("fexit/vfio_mig_get_next_state")
int vfio_mig_get_next_state(unsigned long long *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct ms_bpf_call *c = bpf_map_lookup_elem(&ms_vfio_calls, &tid);
	__u64 now = bpf_ktime_get_ns(), cur = 0, next = 0, ret = 0;
	__u32 nxt = 0;

	if (!c || c->id == MS_DEV_NONE)
		return 0;
	/* the driver asks for the next arc once the previous one is done */
	if (c->start_ns)
		emit_arc(c, 0, now);
	if (bpf_get_func_ret(ctx, &ret) || (int)ret)
		return 0; /* an invalid request: the ioctl fails, no arc runs */
	if (bpf_get_func_arg(ctx, 1, &cur) || bpf_get_func_arg(ctx, 3, &next) ||
	    bpf_probe_read_kernel(&nxt, sizeof(nxt), (const void *)next))
		return 0;
	c->from = (__u32)cur;
	c->to = nxt;
	c->start_ns = now;
	return 0;
}

SEC("fentry/iova_bitmap_set")
int BPF_PROG(iova_bitmap_set, void *bitmap, unsigned long iova, size_t length)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct ms_bpf_call *c = bpf_map_lookup_elem(&ms_vfio_calls, &tid);

	if (c) {
		if (c->id != MS_DEV_NONE)
			emit_write(c->id, c->slot, iova, length);
	} else if (nr_watched) {
		emit_write(MS_DEV_NONE, MS_BPF_SLOT_NONE, iova, length);
	}
	return 0;
}

SEC("fentry/vfio_pin_pages")
int BPF_PROG(vfio_pin_pages, struct vfio_device___ms *vdev, dma_addr_t iova, int npage, int prot,
	     void *pages)
{
	const struct ms_bpf_dev *d;

	if (!(prot & IOMMU_WRITE) || npage <= 0)
		return 0;
	d = vdev_lookup(vdev);
	if (d)
		emit_write(d->id, d->slot, iova, (__u64)npage * page_size);
	return 0;
}

SEC("fentry/vfio_dma_rw")
int BPF_PROG(vfio_dma_rw, struct vfio_device___ms *vdev, dma_addr_t iova, void *data, size_t len,
	     bool write)
{
	const struct ms_bpf_dev *d;

	if (!write)
		return 0;
	d = vdev_lookup(vdev);
	if (d)
		emit_write(d->id, d->slot, iova, len);
	return 0;
}
