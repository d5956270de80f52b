/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The VFIO backend: a real device through the VFIO migration v2 uAPI.
 *
 * Every system call goes through struct ms_vfio_sys so tests can stand a
 * fake kernel behind it (this project's machines have no VFIO).  Opening:
 *
 *   /dev/vfio/devices/vfioN      cdev: bind to a new iommufd, attach an IOAS
 *   0000:3b:00.1                 PCI address: its cdev if the kernel has one,
 *                                else its group (through sysfs)
 *   /dev/vfio/12@0000:3b:00.1    group: container, type1v2 IOMMU, device fd
 *   /dev/vfio/3@83b8f4f2-509f-382f-3c1e-e6bfe0fa1001
 *                                an mdev in its group, named by its UUID (an mdev has
 *                                no PCI address; the same container steps)
 *
 * then VFIO_DEVICE_FEATURE_MIGRATION (STOP_COPY required), the device's
 * state, PRECOPY_INFOv2 opt-in where the kernel has it, DMA logging probe.
 */
#ifndef MIGSCOPE_VFIO_DEV_H
#define MIGSCOPE_VFIO_DEV_H

#include <stddef.h>
#include <sys/types.h>

#include <migscope/clock.h>
#include <migscope/device.h>

struct ms_vfio_sys {
	int (*open)(const char *path, int flags);
	int (*close)(int fd);
	int (*ioctl)(int fd, unsigned long req, void *arg);
	ssize_t (*read)(int fd, void *buf, size_t len);
	ssize_t (*write)(int fd, const void *buf, size_t len);
	/* readlink, for finding a PCI device's group and cdev in sysfs */
	ssize_t (*readlink)(const char *path, char *buf, size_t len);
	/* the one cdev name under /sys/bus/pci/devices/ADDR/vfio-dev/, into name */
	int (*cdev_of)(const char *pci_addr, char *name, size_t len);
};

/* The real system calls. */
extern const struct ms_vfio_sys ms_vfio_sys_real;

/* Open a VFIO device for migration.  NULL with err on failure. */
struct ms_device *ms_vfio__open(const char *path, const char *name, const struct ms_vfio_sys *sys,
				struct ms_clock *c, char *err, size_t errlen);

#endif
