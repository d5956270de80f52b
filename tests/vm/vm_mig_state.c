// SPDX-License-Identifier: GPL-2.0-only
/*
 * vm_mig_state: the migration state of VFIO devices, as the kernel reports
 * it (VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE), for the VM lane's checks.  It
 * does not go through migscope's device backend on purpose: a check that a
 * failed profile rolled its devices back must not take migscope's word for it.
 *
 *   vm_mig_state /dev/vfio/devices/vfio0 /dev/vfio/devices/vfio1
 *   /dev/vfio/devices/vfio0 RUNNING
 *   /dev/vfio/devices/vfio1 RUNNING
 *
 * The state survives closing the device (mtty keeps it; a driver that resets
 * on close would read RUNNING here whatever happened, and the check says so).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <migscope/vfio_compat.h>
#include <migscope/vfio_fsm.h>

static int read_state(const char *path, unsigned int *state)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct {
		struct vfio_device_feature f;
		struct vfio_device_feature_mig_state st;
	} q = { 0 };
	int fd, iommufd = -1, ret = -1;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "vm_mig_state: failed to open %s: %s\n", path, strerror(errno));
		return -1;
	}
	iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (iommufd < 0) {
		fprintf(stderr, "vm_mig_state: failed to open /dev/iommu: %s\n", strerror(errno));
		goto cleanup;
	}
	bind.iommufd = iommufd;
	if (ioctl(fd, VFIO_DEVICE_BIND_IOMMUFD, &bind) < 0) {
		fprintf(stderr, "vm_mig_state: %s: failed to bind to iommufd: %s\n", path,
			strerror(errno));
		goto cleanup;
	}
	q.f.argsz = sizeof(q);
	q.f.flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE;
	if (ioctl(fd, VFIO_DEVICE_FEATURE, &q) < 0) {
		fprintf(stderr, "vm_mig_state: %s: failed to get the migration state: %s\n", path,
			strerror(errno));
		goto cleanup;
	}
	*state = q.st.device_state;
	ret = 0;
cleanup:
	if (iommufd >= 0)
		close(iommufd);
	close(fd);
	return ret;
}

int main(int argc, char **argv)
{
	int ret = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: vm_mig_state /dev/vfio/devices/vfioN...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		unsigned int st;
		char buf[32];

		if (read_state(argv[i], &st)) {
			ret = 1;
			continue;
		}
		printf("%s %s\n", argv[i], ms_vfio_state_name(st, buf, sizeof(buf)));
	}
	return ret;
}
