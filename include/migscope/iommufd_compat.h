/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * <linux/iommufd.h> as far as migscope's iommufd source needs it: HWPT dirty
 * tracking (Linux 6.7) and what a test needs to set one up.
 *
 * Debian 12's uAPI headers have no <linux/iommufd.h> at all; migscope must
 * still speak the uAPI of the kernel it runs on (6.12 in the VM lane), so
 * the definitions are written here from the kernel's uAPI, each group
 * guarded so a system header that has it wins.  Values and layouts are the
 * kernel's ABI and never change.
 */
#ifndef MIGSCOPE_IOMMUFD_COMPAT_H
#define MIGSCOPE_IOMMUFD_COMPAT_H

#include <linux/ioctl.h>
#include <linux/types.h>

#if defined(__has_include)
#if __has_include(<linux/iommufd.h>)
#include <linux/iommufd.h>
#endif
#endif

#ifndef IOMMUFD_TYPE
#define IOMMUFD_TYPE (';')
#endif

/* Linux 6.2: objects and IO address spaces. */
#ifndef IOMMU_DESTROY
struct iommu_destroy {
	__u32 size;
	__u32 id;
};
#define IOMMU_DESTROY _IO(IOMMUFD_TYPE, 0x80)
#endif

#ifndef IOMMU_IOAS_ALLOC
struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};
#define IOMMU_IOAS_ALLOC _IO(IOMMUFD_TYPE, 0x81)
#endif

#ifndef IOMMU_IOAS_MAP
#define IOMMU_IOAS_MAP_FIXED_IOVA (1 << 0)
#define IOMMU_IOAS_MAP_WRITEABLE  (1 << 1)
#define IOMMU_IOAS_MAP_READABLE	  (1 << 2)
struct iommu_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova;
};
#define IOMMU_IOAS_MAP _IO(IOMMUFD_TYPE, 0x85)
#endif

/*
 * Linux 6.7: HWPT allocation with the dirty-tracking flag and the dirty
 * ioctls came together.  The 6.11 layout of iommu_hwpt_alloc (fault_id);
 * older kernels take the shorter struct by its size field.
 */
#ifndef IOMMU_HWPT_GET_DIRTY_BITMAP
#define MS_IOMMU_HWPT_ALLOC_DIRTY_TRACKING (1 << 1)
struct ms_iommu_hwpt_alloc {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 pt_id;
	__u32 out_hwpt_id;
	__u32 __reserved;
	__u32 data_type;
	__u32 data_len;
	__aligned_u64 data_uptr;
	__u32 fault_id;
	__u32 __reserved2;
};
#define MS_IOMMU_HWPT_ALLOC _IO(IOMMUFD_TYPE, 0x89)

#define IOMMU_HWPT_DIRTY_TRACKING_ENABLE 1
struct iommu_hwpt_set_dirty_tracking {
	__u32 size;
	__u32 flags;
	__u32 hwpt_id;
	__u32 __reserved;
};
#define IOMMU_HWPT_SET_DIRTY_TRACKING _IO(IOMMUFD_TYPE, 0x8b)

#define IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR 1
/* Bit n of data covers [iova + n * page_size, + page_size); the kernel only sets bits. */
struct iommu_hwpt_get_dirty_bitmap {
	__u32 size;
	__u32 hwpt_id;
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 iova;
	__aligned_u64 length;
	__aligned_u64 page_size;
	__aligned_u64 data;
};
#define IOMMU_HWPT_GET_DIRTY_BITMAP _IO(IOMMUFD_TYPE, 0x8c)
#else
#define MS_IOMMU_HWPT_ALLOC_DIRTY_TRACKING IOMMU_HWPT_ALLOC_DIRTY_TRACKING
#define ms_iommu_hwpt_alloc		   iommu_hwpt_alloc
#define MS_IOMMU_HWPT_ALLOC		   IOMMU_HWPT_ALLOC
#endif

#endif
