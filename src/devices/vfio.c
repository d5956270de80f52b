// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VFIO backend (vfio_dev.h): VFIO_DEVICE_FEATURE for the migration
 * state, data size, PRECOPY_INFOv2 and DMA logging; the data fd for
 * VFIO_MIG_GET_PRECOPY_INFO, read and write.  Every call goes through the
 * struct ms_vfio_sys seam.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <migscope/bitmap_runs.h>
#include <migscope/vfio_compat.h>
#include <migscope/vfio_dev.h>
#include <migscope/vfio_fsm.h>

/* Report DMA logging over at most this many pages per ioctl: bounded bitmap memory. */
#define REPORT_PAGES (1ull << 20)

struct vfio_dev {
	struct ms_device dev;
	const struct ms_vfio_sys *sys;
	int fd, data_fd, iommufd, container, group;
	uint32_t ioas;
};

static struct vfio_dev *to_vd(struct ms_device *d)
{
	return d->priv;
}

/* --- the real system calls --- */

static int real_open(const char *path, int flags)
{
	return open(path, flags);
}

static int real_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg);
}

static int real_cdev_of(const char *pci, char *name, size_t len)
{
	char dir[128];
	DIR *dp;
	struct dirent *e;
	int ret = -ENOENT;

	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s/vfio-dev", pci);
	dp = opendir(dir);
	if (!dp)
		return -errno;
	while ((e = readdir(dp)))
		if (!strncmp(e->d_name, "vfio", 4)) {
			snprintf(name, len, "%s", e->d_name);
			ret = 0;
			break;
		}
	closedir(dp);
	return ret;
}

const struct ms_vfio_sys ms_vfio_sys_real = {
	.open = real_open,
	.close = close,
	.ioctl = real_ioctl,
	.read = read,
	.write = write,
	.readlink = readlink,
	.cdev_of = real_cdev_of,
};

/* --- helpers --- */

static int feature(struct vfio_dev *v, uint32_t flags, void *data, size_t len)
{
	uint64_t buf[(sizeof(struct vfio_device_feature) + 64) / 8];
	struct vfio_device_feature *f = (void *)buf;

	if (len > 64)
		return -E2BIG;
	memset(buf, 0, sizeof(buf));
	f->argsz = (uint32_t)(sizeof(*f) + len);
	f->flags = flags;
	if (len)
		memcpy(f->data, data, len);
	if (v->sys->ioctl(v->fd, VFIO_DEVICE_FEATURE, f) < 0)
		return -errno;
	if (len)
		memcpy(data, f->data, len);
	return 0;
}

static void close_fd(struct vfio_dev *v, int *fd)
{
	if (*fd >= 0)
		v->sys->close(*fd);
	*fd = -1;
}

static int check_state(struct vfio_dev *v, uint32_t st, const char *what)
{
	char b[16];

	if (st >= MS_VFIO_NR_STATES)
		return ms_dev__fail(&v->dev, -EPROTO,
				    "%s: device_state %u is not a VFIO migration state", what, st);
	if (st != VFIO_DEVICE_STATE_ERROR && !ms_vfio_fsm__supported(v->dev.caps, st))
		return ms_dev__fail(
		    &v->dev, -EPROTO,
		    "%s: device_state %s is not one this device supports (flags 0x%x)", what,
		    ms_vfio_state_name(st, b, sizeof(b)), v->dev.caps);
	return 0;
}

/* --- state machine --- */

static int vfio_get_state(struct ms_device *d, uint8_t *state)
{
	struct vfio_dev *v = to_vd(d);
	struct vfio_device_feature_mig_state mig = { .data_fd = -1 };
	int err = feature(v, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &mig,
			  sizeof(mig));

	if (err)
		return ms_dev__fail(d, err, "MIG_DEVICE_STATE: get: %s", strerror(-err));
	err = check_state(v, mig.device_state, "MIG_DEVICE_STATE");
	if (err)
		return err;
	*state = (uint8_t)mig.device_state;
	return 0;
}

/* Does the arc start a data transfer session (and so return a data fd)? */
static int starts_session(uint8_t from, uint8_t to)
{
	return (to == VFIO_DEVICE_STATE_RESUMING) ||
	       (ms_vfio_fsm__saving(to) && !ms_vfio_fsm__saving(from));
}

static int vfio_arc(struct ms_device *d, uint8_t next)
{
	struct vfio_dev *v = to_vd(d);
	struct vfio_device_feature_mig_state mig = { .device_state = next, .data_fd = -1 };
	uint8_t from = d->state;
	char b1[16], b2[16];
	int err = feature(v, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &mig,
			  sizeof(mig));

	if (err)
		return ms_dev__fail(d, err, "MIG_DEVICE_STATE: %s -> %s: %s",
				    ms_vfio_state_name(from, b1, sizeof(b1)),
				    ms_vfio_state_name(next, b2, sizeof(b2)), strerror(-err));
	/* leaving the saving group or RESUMING ends the session; a new one has a new fd */
	if (starts_session(from, next) ||
	    (!ms_vfio_fsm__saving(next) && next != VFIO_DEVICE_STATE_RESUMING))
		close_fd(v, &v->data_fd);
	if (starts_session(from, next)) {
		if (mig.data_fd < 0)
			return ms_dev__fail(d, -EPROTO,
					    "MIG_DEVICE_STATE: %s -> %s: no data_fd returned",
					    ms_vfio_state_name(from, b1, sizeof(b1)),
					    ms_vfio_state_name(next, b2, sizeof(b2)));
		v->data_fd = mig.data_fd;
	} else if (mig.data_fd >= 0) {
		v->sys->close(mig.data_fd); /* not expected here: do not leak it */
	}
	return 0;
}

static int vfio_reset(struct ms_device *d)
{
	struct vfio_dev *v = to_vd(d);

	close_fd(v, &v->data_fd);
	if (v->sys->ioctl(v->fd, VFIO_DEVICE_RESET, NULL) < 0)
		return ms_dev__fail(d, -errno, "DEVICE_RESET: %s", strerror(errno));
	return 0;
}

/* --- data --- */

static int need_fd(struct vfio_dev *v, const char *what)
{
	char b[16];

	if (v->data_fd < 0)
		return ms_dev__fail(&v->dev, -EBADF, "%s: no data transfer session in %s", what,
				    ms_vfio_state_name(v->dev.state, b, sizeof(b)));
	return 0;
}

static int vfio_precopy_info(struct ms_device *d, struct ms_precopy_info *pi)
{
	struct vfio_dev *v = to_vd(d);
	/* flags zeroed: without the v2 opt-in kernels echo back what they are given */
	struct vfio_precopy_info info = { .argsz = sizeof(info), .flags = 0 };
	int err = need_fd(v, "MIG_GET_PRECOPY_INFO");

	if (err)
		return err;
	if (v->sys->ioctl(v->data_fd, VFIO_MIG_GET_PRECOPY_INFO, &info) < 0)
		return ms_dev__fail(d, -errno, "MIG_GET_PRECOPY_INFO: %s", strerror(errno));
	pi->initial_bytes = info.initial_bytes;
	pi->dirty_bytes = info.dirty_bytes;
	pi->flags = (d->flags & MS_DEVF_PRECOPY_V2) && (info.flags & VFIO_PRECOPY_INFO_REINIT)
			? MS_PRECOPY_REINIT
			: 0;
	return 0;
}

static int vfio_stopcopy_size(struct ms_device *d, uint64_t *bytes)
{
	struct vfio_device_feature_mig_data_size ds = { 0 };
	int err = feature(to_vd(d), VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DATA_SIZE,
			  &ds, sizeof(ds));

	if (err)
		return ms_dev__fail(d, err, "MIG_DATA_SIZE: %s", strerror(-err));
	*bytes = ds.stop_copy_length;
	return 0;
}

static ssize_t vfio_read(struct ms_device *d, void *buf, size_t len)
{
	struct vfio_dev *v = to_vd(d);
	ssize_t n;
	int err = need_fd(v, "data read");

	if (err)
		return err;
	do
		n = v->sys->read(v->data_fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		/* ENOMSG: pre-copy has nothing right now (a temporary end of stream) */
		if (errno == ENOMSG)
			return -ENOMSG;
		return ms_dev__fail(d, -errno, "data read: %s", strerror(errno));
	}
	if ((size_t)n > len)
		return ms_dev__fail(d, -EPROTO,
				    "data read: kernel returned %zd bytes for a %zu-byte buffer", n,
				    len);
	return n;
}

static ssize_t vfio_write(struct ms_device *d, const void *buf, size_t len)
{
	struct vfio_dev *v = to_vd(d);
	ssize_t n;
	int err = need_fd(v, "data write");

	if (err)
		return err;
	do
		n = v->sys->write(v->data_fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return ms_dev__fail(d, -errno, "data write: %s", strerror(errno));
	return n;
}

/* --- DMA logging --- */

static int vfio_track_start(struct ms_device *d, const struct ms_range *r, uint32_t n,
			    uint64_t *page_size)
{
	struct vfio_dev *v = to_vd(d);
	struct vfio_device_feature_dma_logging_range *ranges = calloc(n, sizeof(*ranges));
	struct vfio_device_feature_dma_logging_control ctl = { 0 };
	int err;

	if (!ranges)
		return ms_dev__fail(d, -ENOMEM, "DMA_LOGGING_START: %s", strerror(ENOMEM));
	for (uint32_t i = 0; i < n; i++) {
		ranges[i].iova = r[i].iova;
		ranges[i].length = r[i].len;
	}
	ctl.page_size = *page_size;
	ctl.num_ranges = n;
	ctl.ranges = (uintptr_t)ranges;
	err = feature(v, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START, &ctl,
		      sizeof(ctl));
	free(ranges);
	if (err)
		return ms_dev__fail(d, err, "DMA_LOGGING_START: %s", strerror(-err));
	/* the kernel writes back the page size the device chose */
	*page_size = ctl.page_size;
	return 0;
}

static int vfio_track_stop(struct ms_device *d)
{
	int err = feature(to_vd(d), VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP,
			  NULL, 0);

	if (err)
		return ms_dev__fail(d, err, "DMA_LOGGING_STOP: %s", strerror(-err));
	return 0;
}

static int vfio_harvest(struct ms_device *d, const struct ms_range *r, uint64_t page,
			ms_dirty_fn fn, void *ctx)
{
	struct vfio_dev *v = to_vd(d);
	uint64_t pages = r->len / page, *bm = calloc(REPORT_PAGES / 64, sizeof(uint64_t));
	int err = 0;

	if (!bm)
		return ms_dev__fail(d, -ENOMEM, "DMA_LOGGING_REPORT: %s", strerror(ENOMEM));
	for (uint64_t done = 0; done < pages && !err; done += REPORT_PAGES) {
		uint64_t n = pages - done < REPORT_PAGES ? pages - done : REPORT_PAGES;
		struct vfio_device_feature_dma_logging_report rep = {
			.iova = r->iova + done * page,
			.length = n * page,
			.page_size = page,
			.bitmap = (uintptr_t)bm,
		};

		/* REPORT only sets bits: the bitmap starts clear */
		memset(bm, 0, (n + 63) / 64 * sizeof(uint64_t));
		err = feature(v, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT,
			      &rep, sizeof(rep));
		if (err)
			err = ms_dev__fail(d, err, "DMA_LOGGING_REPORT: 0x%llx+0x%llx: %s",
					   (unsigned long long)rep.iova,
					   (unsigned long long)rep.length, strerror(-err));
		else
			ms_bitmap_runs(bm, n, rep.iova, page, fn, ctx);
	}
	free(bm);
	return err;
}

static void vfio_close(struct ms_device *d)
{
	struct vfio_dev *v = to_vd(d);

	close_fd(v, &v->data_fd);
	close_fd(v, &v->fd);
	close_fd(v, &v->group);
	close_fd(v, &v->container);
	close_fd(v, &v->iommufd);
	free(v);
}

static const struct ms_device_ops vfio_ops = {
	.backend = "vfio",
	.dirty_source = MS_SRC_HW_DIRTY,
	.harvest_loss = MS_LOSS_REPORT_ERROR,
	.arc = vfio_arc,
	.get_state = vfio_get_state,
	.reset = vfio_reset,
	.precopy_info = vfio_precopy_info,
	.stopcopy_size = vfio_stopcopy_size,
	.read = vfio_read,
	.write = vfio_write,
	.track_start = vfio_track_start,
	.track_stop = vfio_track_stop,
	.harvest = vfio_harvest,
	.close = vfio_close,
};

/* --- opening --- */

/* A path that is not there: say so, and whether this kernel has VFIO at all. */
static int open_failed(struct vfio_dev *v, const char *path)
{
	int e = errno, fd;

	if (e == ENOENT) {
		fd = v->sys->open("/dev/vfio", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return ms_dev__fail(
			    &v->dev, -ENODEV,
			    "failed to open %s: no VFIO on this kernel (/dev/vfio is missing)",
			    path);
		v->sys->close(fd);
	}
	return ms_dev__fail(&v->dev, -e, "failed to open %s: %s", path, strerror(e));
}

/*
 * The kernel's name of the device behind cdev path (its vfio-dev's parent:
 * the PCI device or the mdev), for the kernel collectors' filter.  Unknown is
 * not an error: the device is then driven but not watched.
 */
static void cdev_kname(struct vfio_dev *v, const char *path)
{
	char sys[128], link[256];
	const char *base = strrchr(path, '/'), *slash;
	ssize_t n;

	snprintf(sys, sizeof(sys), "/sys/class/vfio-dev/%.64s/device", base ? base + 1 : path);
	n = v->sys->readlink(sys, link, sizeof(link) - 1);
	if (n <= 0)
		return;
	link[n] = 0;
	slash = strrchr(link, '/');
	snprintf(v->dev.kname, sizeof(v->dev.kname), "%.*s", (int)sizeof(v->dev.kname) - 1,
		 slash ? slash + 1 : link);
}

static int open_cdev(struct vfio_dev *v, const char *path)
{
	struct ms_device *d = &v->dev;
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct iommu_ioas_alloc ioas = { .size = sizeof(ioas) };
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at) };

	v->fd = v->sys->open(path, O_RDWR | O_CLOEXEC);
	if (v->fd < 0)
		return open_failed(v, path);
	if (!v->dev.kname[0])
		cdev_kname(v, path);
	v->iommufd = v->sys->open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (v->iommufd < 0)
		return open_failed(v, "/dev/iommu");
	bind.iommufd = v->iommufd;
	if (v->sys->ioctl(v->fd, VFIO_DEVICE_BIND_IOMMUFD, &bind) < 0)
		return ms_dev__fail(d, -errno, "DEVICE_BIND_IOMMUFD: %s", strerror(errno));
	if (v->sys->ioctl(v->iommufd, IOMMU_IOAS_ALLOC, &ioas) < 0)
		return ms_dev__fail(d, -errno, "IOMMU_IOAS_ALLOC: %s", strerror(errno));
	v->ioas = ioas.out_ioas_id;
	at.pt_id = v->ioas;
	if (v->sys->ioctl(v->fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at) < 0)
		return ms_dev__fail(d, -errno, "DEVICE_ATTACH_IOMMUFD_PT: %s", strerror(errno));
	return 0;
}

static int open_group(struct vfio_dev *v, const char *group, const char *addr)
{
	struct ms_device *d = &v->dev;
	struct vfio_group_status st = { .argsz = sizeof(st) };
	int ret;

	v->container = v->sys->open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (v->container < 0)
		return open_failed(v, "/dev/vfio/vfio");
	ret = v->sys->ioctl(v->container, VFIO_GET_API_VERSION, NULL);
	if (ret != VFIO_API_VERSION)
		return ms_dev__fail(d, -EPROTO, "GET_API_VERSION: %d, expected %d", ret,
				    VFIO_API_VERSION);
	if (v->sys->ioctl(v->container, VFIO_CHECK_EXTENSION,
			  (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU) <= 0)
		return ms_dev__fail(d, -EOPNOTSUPP, "CHECK_EXTENSION: no type1v2 IOMMU");
	v->group = v->sys->open(group, O_RDWR | O_CLOEXEC);
	if (v->group < 0)
		return open_failed(v, group);
	if (v->sys->ioctl(v->group, VFIO_GROUP_GET_STATUS, &st) < 0)
		return ms_dev__fail(d, -errno, "GROUP_GET_STATUS: %s", strerror(errno));
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE))
		return ms_dev__fail(d, -EBUSY,
				    "%s is not viable: bind every device of the group to vfio-pci",
				    group);
	if (v->sys->ioctl(v->group, VFIO_GROUP_SET_CONTAINER, &v->container) < 0)
		return ms_dev__fail(d, -errno, "GROUP_SET_CONTAINER: %s", strerror(errno));
	if (v->sys->ioctl(v->container, VFIO_SET_IOMMU, (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU) < 0)
		return ms_dev__fail(d, -errno, "SET_IOMMU: %s", strerror(errno));
	v->fd = v->sys->ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, (void *)addr);
	if (v->fd < 0)
		return ms_dev__fail(d, -errno, "GROUP_GET_DEVICE_FD %s: %s", addr, strerror(errno));
	return 0;
}

static int pci_address(const char *s)
{
	unsigned int dom, bus, dev, fn;
	char end;

	return strlen(s) == 12 && sscanf(s, "%4x:%2x:%2x.%1x%c", &dom, &bus, &dev, &fn, &end) == 4;
}

/* An mdev's name: its UUID, 8-4-4-4-12 hex digits (what VFIO_GROUP_GET_DEVICE_FD matches). */
static int mdev_uuid(const char *s)
{
	if (strlen(s) != 36)
		return 0;
	for (int i = 0; i < 36; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* /dev/vfio/N: a group's character device (N decimal, or noiommu-N). */
static int group_path(const char *s, size_t n)
{
	size_t i;

	if (n <= 10 || strncmp(s, "/dev/vfio/", 10))
		return 0;
	i = 10;
	if (n - i > 8 && !strncmp(s + i, "noiommu-", 8))
		i += 8;
	if (i == n)
		return 0;
	for (; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

static int open_path(struct vfio_dev *v, const char *path)
{
	struct ms_device *d = &v->dev;
	const char *at = strchr(path, '@');
	char buf[512], link[256];

	if (!strncmp(path, "/dev/vfio/devices/", 18))
		return open_cdev(v, path);
	if (at) {
		size_t n = (size_t)(at - path);

		if (n >= sizeof(buf) || !group_path(path, n))
			return ms_dev__fail(d, -EINVAL,
					    "'%s': '%.*s' is not a VFIO group (/dev/vfio/N)", path,
					    (int)(n < 64 ? n : 64), path);
		if (!pci_address(at + 1) && !mdev_uuid(at + 1))
			return ms_dev__fail(d, -EINVAL,
					    "'%s': '%.64s' is neither a PCI address (DDDD:BB:DD.F) "
					    "nor an mdev UUID",
					    path, at + 1);
		memcpy(buf, path, n);
		buf[n] = 0;
		snprintf(d->kname, sizeof(d->kname), "%s", at + 1);
		return open_group(v, buf, at + 1);
	}
	if (!pci_address(path))
		return ms_dev__fail(d, -EINVAL,
				    "'%s' is not /dev/vfio/devices/vfioN, a PCI address, "
				    "/dev/vfio/N@DDDD:BB:DD.F or /dev/vfio/N@MDEV-UUID",
				    path);
	/* a PCI address: its cdev when the kernel made one, else its IOMMU group */
	snprintf(d->kname, sizeof(d->kname), "%s", path);
	if (!v->sys->cdev_of(path, link, sizeof(link))) {
		snprintf(buf, sizeof(buf), "/dev/vfio/devices/%s", link);
		return open_cdev(v, buf);
	}
	snprintf(buf, sizeof(buf), "/sys/bus/pci/devices/%s/iommu_group", path);
	{
		ssize_t n = v->sys->readlink(buf, link, sizeof(link) - 1);
		const char *slash;

		if (n < 0)
			return ms_dev__fail(d, -errno,
					    "%s has no IOMMU group (%s): is it bound to vfio-pci?",
					    path, strerror(errno));
		link[n] = 0;
		slash = strrchr(link, '/');
		snprintf(buf, sizeof(buf), "/dev/vfio/%s", slash ? slash + 1 : link);
	}
	return open_group(v, buf, path);
}

static int probe(struct vfio_dev *v)
{
	struct ms_device *d = &v->dev;
	struct vfio_device_feature_migration mig = { 0 };
	int err =
	    feature(v, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION, &mig, sizeof(mig));
	uint8_t st;

	if (err == -ENOTTY)
		return ms_dev__fail(
		    d, err, "MIGRATION: the device's driver does not support VFIO migration");
	if (err)
		return ms_dev__fail(d, err, "MIGRATION: %s", strerror(-err));
	if (!(mig.flags & VFIO_MIGRATION_STOP_COPY))
		return ms_dev__fail(d, -EOPNOTSUPP, "MIGRATION: flags 0x%llx lack STOP_COPY",
				    (unsigned long long)mig.flags);
	d->caps = (uint32_t)mig.flags &
		  (VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P | VFIO_MIGRATION_PRE_COPY);
	err = vfio_get_state(d, &st);
	if (err)
		return err;
	d->state = st;
	/* opt in to REINIT reporting where the kernel has it; older kernels say ENOTTY/EINVAL */
	if ((d->caps & VFIO_MIGRATION_PRE_COPY) &&
	    !feature(v, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2, NULL, 0))
		d->flags |= MS_DEVF_PRECOPY_V2;
	if (!feature(v,
		     VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET |
			 VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
		     NULL, 0))
		d->flags |= MS_DEVF_DIRTY_TRACK;
	return 0;
}

struct ms_device *ms_vfio__open(const char *path, const char *name, const struct ms_vfio_sys *sys,
				struct ms_clock *c, char *err, size_t errlen)
{
	struct vfio_dev *v = calloc(1, sizeof(*v));

	if (!v) {
		snprintf(err, errlen, "%s: failed to allocate: %s", name, strerror(ENOMEM));
		return NULL;
	}
	v->sys = sys;
	v->fd = v->data_fd = v->iommufd = v->container = v->group = -1;
	v->dev.priv = v;
	v->dev.ops = &vfio_ops;
	v->dev.clock = c;
	v->dev.id = MS_DEV_NONE;
	v->dev.kind = MS_DEV_KIND_VFIO;
	v->dev.role = MS_ROLE_SOURCE;
	snprintf(v->dev.name, sizeof(v->dev.name), "%s", name);
	if (open_path(v, path) || probe(v)) {
		snprintf(err, errlen, "%s", v->dev.err);
		vfio_close(&v->dev);
		return NULL;
	}
	return &v->dev;
}
