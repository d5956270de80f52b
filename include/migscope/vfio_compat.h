/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * <linux/vfio.h> plus what newer kernels added to the migration uAPI.
 *
 * Build hosts ship older uAPI headers (Debian 12's stop at Linux 6.1, before
 * PRE_COPY); migscope must still speak the uAPI of the kernel it runs on, so
 * the missing definitions are provided here, each guarded so a newer header
 * wins.  Values are the kernel's ABI and never change.
 */
#ifndef MIGSCOPE_VFIO_COMPAT_H
#define MIGSCOPE_VFIO_COMPAT_H

#include <linux/types.h>
#include <linux/vfio.h>

/* what binding a cdev to an iommufd needs (IOMMU_IOAS_ALLOC) */
#include <migscope/iommufd_compat.h>

#ifndef VFIO_MIGRATION_PRE_COPY
#define VFIO_MIGRATION_PRE_COPY (1 << 2)
#define VFIO_DEVICE_STATE_PRE_COPY 6
#define VFIO_DEVICE_STATE_PRE_COPY_P2P 7
#endif

#ifndef VFIO_DEVICE_FEATURE_MIG_DATA_SIZE
#define VFIO_DEVICE_FEATURE_MIG_DATA_SIZE 9
struct vfio_device_feature_mig_data_size {
	__aligned_u64 stop_copy_length;
};
#endif

#ifndef VFIO_MIG_GET_PRECOPY_INFO
struct vfio_precopy_info {
	__u32 argsz;
	__u32 flags;
	__aligned_u64 initial_bytes;
	__aligned_u64 dirty_bytes;
};
#define VFIO_MIG_GET_PRECOPY_INFO _IO(VFIO_TYPE, VFIO_BASE + 21)
#endif

#ifndef VFIO_PRECOPY_INFO_REINIT
#define VFIO_PRECOPY_INFO_REINIT (1 << 0)
#endif

#ifndef VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2
#define VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2 12
#endif

/* Device cdev + iommufd (Linux 6.6). */
#ifndef VFIO_DEVICE_BIND_IOMMUFD
struct vfio_device_bind_iommufd {
	__u32 argsz;
	__u32 flags;
	__s32 iommufd;
	__u32 out_devid;
};
#define VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)

struct vfio_device_attach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
	__u32 pt_id;
};
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)
#endif

/* Number of states, for tables indexed by state. */
#define MS_VFIO_NR_STATES 8

#endif
