// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VFIO backend against a fake kernel behind the syscall seam: the exact
 * ioctls, their arguments and struct layouts, the data fd, DMA logging, and
 * what the backend does with bad answers.  This machine has no VFIO.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/devset.h>
#include <migscope/profile.h>
#include <migscope/report.h>
#include <migscope/session.h>
#include <migscope/vfio_compat.h>
#include <migscope/vfio_dev.h>
#include <migscope/vfio_fsm.h>

#include "devtest.h"

#define FD_CONTAINER  10
#define FD_GROUP      11
#define FD_MDEV_GROUP 13
#define MDEV_UUID     "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001"
#define FD_IOMMU      12
#define FD_DEV0	      20 /* devices are FD_DEV0 + i */
#define FD_DATA0      40 /* data fds are FD_DATA0 + 10 * i + session */
#define STREAM	      300000
#define INITIAL	      100000

struct fdev {
	uint32_t flags; /* VFIO_MIGRATION_* */
	uint32_t state;
	int v2_supported, v2_on, logging_supported, logging;
	uint64_t log_page, chosen_page;
	int data_fd, sessions;
	size_t save_off, load_len;
	unsigned char load[STREAM];
	uint32_t precopy_in_flags; /* what the caller passed */
	uint32_t precopy_out_flags;
	int echo;	       /* a kernel without v2 echoes the flags it was given */
	uint32_t report_state; /* 0: the real one */
	int fail_to_state, fail_errno;
	uint64_t dirty_iova[8];
	int nr_dirty, report_errno;
	int bitmap_was_clear;
	ssize_t read_extra;
	int enomsg_in_stop_copy;
	/* what mtty in 6.12 does instead (fake_mtty) */
	int precopy_eof;    /* the end of the pre-copy data reads 0, not ENOMSG */
	int whole_stopcopy; /* MIG_DATA_SIZE is the whole state, whatever was read */
};

static struct fake {
	struct fdev dev[2];
	int have_vfio, viable, bound, attached, ioas_set, container_set, iommu_set;
	char device_name[64];
	const char *cdev; /* what cdev_of answers, NULL: none */
	char opened[16][128];
	int nr_opened, closed[128];
	unsigned long reqs[64];
	int nr_reqs;
	uint32_t states_set[32];
	int nr_states_set;
} fk;

static void fake_reset(void)
{
	memset(&fk, 0, sizeof(fk));
	fk.have_vfio = fk.viable = 1;
	for (int i = 0; i < 2; i++) {
		fk.dev[i].flags =
		    VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P | VFIO_MIGRATION_PRE_COPY;
		fk.dev[i].state = VFIO_DEVICE_STATE_RUNNING;
		fk.dev[i].v2_supported = fk.dev[i].logging_supported = 1;
		fk.dev[i].data_fd = -1;
		fk.dev[i].chosen_page = 4096;
	}
}

/*
 * Device i as the 6.12 kernel's mtty sample answers (read in its source and
 * seen in the VM lane): STOP_COPY, P2P and PRE_COPY; no MIG_PRECOPY_INFOv2
 * (ENOTTY: 6.12 has no feature 12), so the flags of PRECOPY_INFO are what the
 * caller passed; no DMA logging (ENOTTY); the pre-copy data ends with a 0
 * read, not ENOMSG; MIG_DATA_SIZE is the whole state, however much of it was
 * read in pre-copy.
 */
static void fake_mtty(int i)
{
	fk.dev[i].v2_supported = 0; /* 6.12 has no feature 12: ENOTTY */
	fk.dev[i].echo = 0;
	fk.dev[i].logging_supported = 0;
	fk.dev[i].precopy_eof = 1;
	fk.dev[i].whole_stopcopy = 1;
}

static int set_errno(int e)
{
	errno = e;
	return -1;
}

static int f_open(const char *path, int flags)
{
	assert_true(fk.nr_opened < 16);
	snprintf(fk.opened[fk.nr_opened++], 128, "%s", path);
	if (!fk.have_vfio)
		return set_errno(ENOENT);
	if (!strcmp(path, "/dev/vfio/vfio"))
		return FD_CONTAINER;
	if (!strcmp(path, "/dev/iommu"))
		return FD_IOMMU;
	if (!strcmp(path, "/dev/vfio"))
		return 99;
	if (!strcmp(path, "/dev/vfio/12"))
		return FD_GROUP;
	if (!strcmp(path, "/dev/vfio/3"))
		return FD_MDEV_GROUP;
	if (!strcmp(path, "/dev/vfio/devices/vfio0") || !strcmp(path, "/dev/vfio/devices/vfio7"))
		return FD_DEV0;
	if (!strcmp(path, "/dev/vfio/devices/vfio1"))
		return FD_DEV0 + 1;
	return set_errno(ENOENT);
}

static int f_close(int fd)
{
	if (fd >= 0 && fd < 128)
		fk.closed[fd]++;
	return 0;
}

static unsigned char stream_byte(size_t i)
{
	return (unsigned char)(i * 7 + i / 251);
}

static struct fdev *dev_of(int fd)
{
	if (fd == FD_DEV0 || fd == FD_DEV0 + 1)
		return &fk.dev[fd - FD_DEV0];
	return NULL;
}

static struct fdev *dev_of_data(int fd)
{
	for (int i = 0; i < 2; i++)
		if (fk.dev[i].data_fd == fd && fd >= 0)
			return &fk.dev[i];
	return NULL;
}

static int arc_starts_session(uint32_t from, uint32_t to)
{
	return to == VFIO_DEVICE_STATE_RESUMING ||
	       (ms_vfio_fsm__saving(to) && !ms_vfio_fsm__saving(from));
}

static int feature(struct fdev *d, struct vfio_device_feature *f)
{
	uint32_t idx = f->flags & VFIO_DEVICE_FEATURE_MASK,
		 get = f->flags & VFIO_DEVICE_FEATURE_GET, set = f->flags & VFIO_DEVICE_FEATURE_SET,
		 data = f->argsz - sizeof(*f);

	if (f->argsz < sizeof(*f))
		return set_errno(EINVAL);
	if (f->flags & VFIO_DEVICE_FEATURE_PROBE)
		return idx == VFIO_DEVICE_FEATURE_DMA_LOGGING_START && d->logging_supported
			   ? 0
			   : set_errno(ENOTTY);
	switch (idx) {
	case VFIO_DEVICE_FEATURE_MIGRATION: {
		struct vfio_device_feature_migration *m = (void *)f->data;

		if (!d->flags)
			return set_errno(ENOTTY);
		assert_true(get && data >= sizeof(*m));
		m->flags = d->flags;
		return 0;
	}
	case VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE: {
		struct vfio_device_feature_mig_state *m = (void *)f->data;

		assert_true(data >= sizeof(*m));
		if (get) {
			m->device_state = d->report_state ? d->report_state : d->state;
			m->data_fd = -1;
			return 0;
		}
		assert_true(set);
		fk.states_set[fk.nr_states_set++] = m->device_state;
		if ((int)m->device_state == d->fail_to_state && d->fail_errno) {
			d->state = VFIO_DEVICE_STATE_ERROR;
			return set_errno(d->fail_errno);
		}
		if (d->state == VFIO_DEVICE_STATE_RESUMING && d->load_len != STREAM) {
			d->state = VFIO_DEVICE_STATE_ERROR;
			return set_errno(EINVAL);
		}
		m->data_fd = -1;
		if (arc_starts_session(d->state, m->device_state)) {
			d->sessions++;
			d->data_fd = FD_DATA0 + 10 * (int)(d - fk.dev) + d->sessions;
			m->data_fd = d->data_fd;
			d->save_off = d->load_len = 0;
		}
		d->state = m->device_state;
		return 0;
	}
	case VFIO_DEVICE_FEATURE_MIG_DATA_SIZE: {
		struct vfio_device_feature_mig_data_size *m = (void *)f->data;

		assert_true(get && data >= sizeof(*m));
		m->stop_copy_length = d->whole_stopcopy ? STREAM : STREAM - d->save_off;
		return 0;
	}
	case VFIO_DEVICE_FEATURE_MIG_PRECOPY_INFOv2:
		if (!d->v2_supported)
			return set_errno(ENOTTY);
		assert_true(set);
		d->v2_on = 1;
		return 0;
	case VFIO_DEVICE_FEATURE_DMA_LOGGING_START: {
		struct vfio_device_feature_dma_logging_control *c = (void *)f->data;
		const struct vfio_device_feature_dma_logging_range *r =
		    (void *)(uintptr_t)c->ranges;

		assert_true(set && data >= sizeof(*c));
		assert_int_equal(c->num_ranges, 1);
		assert_int_equal(r[0].iova, 0x100000);
		assert_int_equal(r[0].length, 0x400000);
		d->log_page = c->page_size;
		c->page_size = d->chosen_page;
		d->logging = 1;
		return 0;
	}
	case VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP:
		assert_true(set);
		d->logging = 0;
		return 0;
	case VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT: {
		struct vfio_device_feature_dma_logging_report *rep = (void *)f->data;
		uint64_t *bm = (void *)(uintptr_t)rep->bitmap, bits = rep->length / rep->page_size;

		assert_true(get && data >= sizeof(*rep));
		if (d->report_errno)
			return set_errno(d->report_errno);
		d->bitmap_was_clear = 1;
		for (uint64_t i = 0; i < (bits + 63) / 64; i++)
			d->bitmap_was_clear &= bm[i] == 0;
		for (int i = 0; i < d->nr_dirty; i++) {
			uint64_t b = (d->dirty_iova[i] - rep->iova) / rep->page_size;

			if (d->dirty_iova[i] >= rep->iova && b < bits)
				bm[b / 64] |= 1ull << (b % 64);
		}
		return 0;
	}
	}
	return set_errno(EINVAL);
}

static int f_ioctl(int fd, unsigned long req, void *arg)
{
	struct fdev *d = dev_of(fd);

	if (fk.nr_reqs < 64)
		fk.reqs[fk.nr_reqs++] = req;
	if (req == VFIO_DEVICE_FEATURE && d)
		return feature(d, arg);
	if (req == VFIO_DEVICE_BIND_IOMMUFD && d) {
		struct vfio_device_bind_iommufd *b = arg;

		assert_true(b->argsz >= 16);
		assert_int_equal(b->iommufd, FD_IOMMU);
		b->out_devid = 5;
		fk.bound = 1;
		return 0;
	}
	if (req == IOMMU_IOAS_ALLOC && fd == FD_IOMMU) {
		struct iommu_ioas_alloc *a = arg;

		assert_int_equal(a->size, sizeof(*a));
		a->out_ioas_id = 77;
		return 0;
	}
	if (req == VFIO_DEVICE_ATTACH_IOMMUFD_PT && d) {
		struct vfio_device_attach_iommufd_pt *a = arg;

		assert_true(fk.bound);
		assert_int_equal(a->pt_id, 77);
		fk.attached = 1;
		return 0;
	}
	if (req == VFIO_GET_API_VERSION && fd == FD_CONTAINER)
		return VFIO_API_VERSION;
	if (req == VFIO_CHECK_EXTENSION && fd == FD_CONTAINER)
		return (uintptr_t)arg == VFIO_TYPE1v2_IOMMU;
	if (fd == FD_MDEV_GROUP) /* an mdev's group takes the same steps as any group */
		fd = FD_GROUP;
	if (req == VFIO_GROUP_GET_STATUS && fd == FD_GROUP) {
		struct vfio_group_status *st = arg;

		assert_int_equal(st->argsz, sizeof(*st));
		st->flags = fk.viable ? VFIO_GROUP_FLAGS_VIABLE : 0;
		return 0;
	}
	if (req == VFIO_GROUP_SET_CONTAINER && fd == FD_GROUP) {
		assert_int_equal(*(int *)arg, FD_CONTAINER);
		fk.container_set = 1;
		return 0;
	}
	if (req == VFIO_SET_IOMMU && fd == FD_CONTAINER) {
		assert_true(fk.container_set);
		assert_int_equal((uintptr_t)arg, VFIO_TYPE1v2_IOMMU);
		fk.iommu_set = 1;
		return 0;
	}
	if (req == VFIO_GROUP_GET_DEVICE_FD && fd == FD_GROUP) {
		assert_true(fk.iommu_set);
		snprintf(fk.device_name, sizeof(fk.device_name), "%s", (const char *)arg);
		/* the group's devices by name; 6.12 answers ENODEV for any other name */
		if (strcmp(arg, "0000:3b:00.1") && strcmp(arg, MDEV_UUID))
			return set_errno(ENODEV);
		return FD_DEV0;
	}
	if (req == VFIO_DEVICE_RESET && d) {
		d->state = VFIO_DEVICE_STATE_RUNNING;
		return 0;
	}
	if (req == VFIO_MIG_GET_PRECOPY_INFO && (d = dev_of_data(fd))) {
		struct vfio_precopy_info *p = arg;

		assert_int_equal(p->argsz, sizeof(*p));
		if (d->state != VFIO_DEVICE_STATE_PRE_COPY &&
		    d->state != VFIO_DEVICE_STATE_PRE_COPY_P2P)
			return set_errno(EINVAL);
		d->precopy_in_flags = p->flags;
		p->initial_bytes = d->save_off < INITIAL ? INITIAL - d->save_off : 0;
		p->dirty_bytes = 0;
		p->flags = d->v2_on ? d->precopy_out_flags : d->echo ? p->flags | 0xff : p->flags;
		return 0;
	}
	return set_errno(ENOTTY);
}

static ssize_t f_read(int fd, void *buf, size_t len)
{
	struct fdev *d = dev_of_data(fd);
	size_t end, n;

	if (!d)
		return set_errno(EBADF);
	end = d->state == VFIO_DEVICE_STATE_STOP_COPY ? STREAM : INITIAL;
	if (d->state == VFIO_DEVICE_STATE_STOP_COPY && d->enomsg_in_stop_copy &&
	    d->save_off >= STREAM / 2)
		return set_errno(ENOMSG);
	if (d->save_off >= end) {
		if (d->state == VFIO_DEVICE_STATE_STOP_COPY || d->precopy_eof)
			return 0;
		return set_errno(ENOMSG);
	}
	n = end - d->save_off < len ? end - d->save_off : len;
	for (size_t i = 0; i < n; i++)
		((unsigned char *)buf)[i] = stream_byte(d->save_off + i);
	d->save_off += n;
	return (ssize_t)n + d->read_extra;
}

static ssize_t f_write(int fd, const void *buf, size_t len)
{
	struct fdev *d = dev_of_data(fd);

	if (!d || d->state != VFIO_DEVICE_STATE_RESUMING)
		return set_errno(EBADF);
	if (len > STREAM - d->load_len)
		return set_errno(EFBIG);
	/* a short write, as the uAPI allows */
	if (len > 65536)
		len = 65536;
	for (size_t i = 0; i < len; i++)
		if (((const unsigned char *)buf)[i] != stream_byte(d->load_len + i))
			return set_errno(EINVAL);
	memcpy(d->load + d->load_len, buf, len);
	d->load_len += len;
	return (ssize_t)len;
}

static ssize_t f_readlink(const char *path, char *buf, size_t len)
{
	const char *l = "../../../kernel/iommu_groups/12";

	/* a cdev's parent: the mdev (6.12 mtty: /sys/class/vfio-dev/vfioN/device) */
	if (!strcmp(path, "/sys/class/vfio-dev/vfio0/device"))
		l = "../../../" MDEV_UUID;
	else if (!strcmp(path, "/sys/class/vfio-dev/vfio1/device"))
		l = "../../../0000:3b:00.2";
	else if (!strncmp(path, "/sys/class/vfio-dev/", 20))
		return set_errno(ENOENT);
	else
		assert_string_equal(path, "/sys/bus/pci/devices/0000:3b:00.1/iommu_group");
	snprintf(buf, len, "%s", l);
	return (ssize_t)strlen(l);
}

static int f_cdev_of(const char *pci, char *name, size_t len)
{
	if (!fk.cdev)
		return -ENOENT;
	snprintf(name, len, "%s", fk.cdev);
	return 0;
}

static const struct ms_vfio_sys fake_sys = {
	.open = f_open,
	.close = f_close,
	.ioctl = f_ioctl,
	.read = f_read,
	.write = f_write,
	.readlink = f_readlink,
	.cdev_of = f_cdev_of,
};

static struct ms_device *open_dev(struct dt_rig *r, const char *path)
{
	char err[320];
	struct ms_device *d = ms_vfio__open(path, "vfio0", &fake_sys, &r->clock, err, sizeof(err));

	if (!d)
		fail_msg("%s", err);
	return dt_rig__add(r, d, MS_ROLE_SOURCE);
}

static int setup(void **state)
{
	fake_reset();
	return 0;
}

static void a_cdev_is_bound_to_an_iommufd_and_attached_to_an_ioas(void **state)
{
	struct dt_rig r;
	struct ms_device *d;

	dt_rig__init(&r);
	d = open_dev(&r, "/dev/vfio/devices/vfio0");
	assert_true(fk.bound && fk.attached);
	assert_string_equal(fk.opened[0], "/dev/vfio/devices/vfio0");
	assert_string_equal(fk.opened[1], "/dev/iommu");
	assert_int_equal(fk.reqs[0], VFIO_DEVICE_BIND_IOMMUFD);
	assert_int_equal(fk.reqs[1], IOMMU_IOAS_ALLOC);
	assert_int_equal(fk.reqs[2], VFIO_DEVICE_ATTACH_IOMMUFD_PT);
	assert_int_equal(d->caps, fk.dev[0].flags);
	assert_int_equal(d->state, VFIO_DEVICE_STATE_RUNNING);
	assert_true(d->flags & MS_DEVF_PRECOPY_V2);
	assert_true(fk.dev[0].v2_on);
	assert_true(d->flags & MS_DEVF_DIRTY_TRACK);
	dt_rig__free(&r);
	/* closing releases the device and the iommufd */
	assert_int_equal(fk.closed[FD_DEV0], 1);
	assert_int_equal(fk.closed[FD_IOMMU], 1);
}

static void a_group_is_put_in_a_type1v2_container_before_the_device_is_opened(void **state)
{
	struct dt_rig r;

	dt_rig__init(&r);
	open_dev(&r, "/dev/vfio/12@0000:3b:00.1");
	assert_true(fk.iommu_set);
	assert_string_equal(fk.device_name, "0000:3b:00.1");
	dt_rig__free(&r);
	assert_int_equal(fk.closed[FD_GROUP], 1);
	assert_int_equal(fk.closed[FD_CONTAINER], 1);
}

static void an_mdev_is_opened_in_its_group_by_its_uuid(void **state)
{
	struct dt_rig r;
	struct ms_clock c;
	char err[320];

	dt_rig__init(&r);
	open_dev(&r, "/dev/vfio/3@" MDEV_UUID);
	assert_string_equal(fk.opened[0], "/dev/vfio/vfio");
	assert_string_equal(fk.opened[1], "/dev/vfio/3");
	assert_true(fk.iommu_set);
	assert_string_equal(fk.device_name, MDEV_UUID);
	dt_rig__free(&r);
	assert_int_equal(fk.closed[FD_MDEV_GROUP], 1);
	assert_int_equal(fk.closed[FD_CONTAINER], 1);

	/* a UUID the group does not have: the kernel's answer, naming it */
	fake_reset();
	ms_clock__init_virtual(&c, 0);
	assert_null(ms_vfio__open("/dev/vfio/3@83b8f4f2-509f-382f-3c1e-e6bfe0fa1002", "vfio0",
				  &fake_sys, &c, err, sizeof(err)));
	assert_string_equal(err, "vfio0: GROUP_GET_DEVICE_FD 83b8f4f2-509f-382f-3c1e-e6bfe0fa1002: "
				 "No such device");
}

static void malformed_group_names_are_refused_before_anything_is_opened(void **state)
{
	static const struct {
		const char *path, *err;
	} bad[] = {
		{ "/dev/vfio/3@83b8f4f2-509f-382f-3c1e-e6bfe0fa100",
		  "'/dev/vfio/3@83b8f4f2-509f-382f-3c1e-e6bfe0fa100': "
		  "'83b8f4f2-509f-382f-3c1e-e6bfe0fa100' is neither a PCI address (DDDD:BB:DD.F) "
		  "nor an mdev UUID" },
		{ "/dev/vfio/3@83b8f4f2_509f-382f-3c1e-e6bfe0fa1001", "is neither a PCI address" },
		{ "/dev/vfio/3@83b8f4f2-509f-382f-3c1e-e6bfe0fa100g", "is neither a PCI address" },
		{ "/dev/vfio/3@", "is neither a PCI address" },
		{ "/dev/vfio/3@0000:3b:00", "is neither a PCI address" },
		{ "/dev/vfio/x3@" MDEV_UUID, "'/dev/vfio/x3' is not a VFIO group (/dev/vfio/N)" },
		{ "/dev/vfio/@" MDEV_UUID, "'/dev/vfio/' is not a VFIO group (/dev/vfio/N)" },
		{ "/tmp/3@0000:3b:00.1", "'/tmp/3' is not a VFIO group (/dev/vfio/N)" },
		{ "@0000:3b:00.1", "'' is not a VFIO group (/dev/vfio/N)" },
		{ "/dev/vfio/devices@" MDEV_UUID, "is not a VFIO group" },
	};
	struct ms_clock c;
	char err[320];

	ms_clock__init_virtual(&c, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fake_reset();
		assert_null(ms_vfio__open(bad[i].path, "vfio0", &fake_sys, &c, err, sizeof(err)));
		if (!strstr(err, bad[i].err))
			fail_msg("%s: '%s' lacks '%s'", bad[i].path, err, bad[i].err);
		assert_int_equal(fk.nr_opened, 0);
	}
	/* a noiommu group is a group too */
	fake_reset();
	assert_null(ms_vfio__open("/dev/vfio/noiommu-0@" MDEV_UUID, "vfio0", &fake_sys, &c, err,
				  sizeof(err)));
	assert_string_equal(fk.opened[1], "/dev/vfio/noiommu-0");
}

static void a_pci_address_uses_its_cdev_or_else_its_group(void **state)
{
	struct dt_rig r;

	dt_rig__init(&r);
	fk.cdev = "vfio7";
	open_dev(&r, "0000:3b:00.1");
	assert_string_equal(fk.opened[0], "/dev/vfio/devices/vfio7");
	dt_rig__free(&r);
	fake_reset();
	dt_rig__init(&r);
	open_dev(&r, "0000:3b:00.1");
	assert_string_equal(fk.opened[1], "/dev/vfio/12");
	assert_string_equal(fk.device_name, "0000:3b:00.1");
	dt_rig__free(&r);
}

static void opening_fails_with_one_line_naming_the_device_and_the_reason(void **state)
{
	struct ms_clock c;
	char err[320];

	ms_clock__init_virtual(&c, 0);
	fk.viable = 0;
	assert_null(
	    ms_vfio__open("/dev/vfio/12@0000:3b:00.1", "vfio0", &fake_sys, &c, err, sizeof(err)));
	assert_string_equal(
	    err, "vfio0: /dev/vfio/12 is not viable: bind every device of the group to vfio-pci");
	fake_reset();
	fk.dev[0].flags = 0;
	assert_null(
	    ms_vfio__open("/dev/vfio/devices/vfio0", "vfio0", &fake_sys, &c, err, sizeof(err)));
	assert_string_equal(
	    err, "vfio0: MIGRATION: the device's driver does not support VFIO migration");
	fake_reset();
	fk.dev[0].report_state = 9;
	assert_null(
	    ms_vfio__open("/dev/vfio/devices/vfio0", "vfio0", &fake_sys, &c, err, sizeof(err)));
	assert_string_equal(
	    err, "vfio0: MIG_DEVICE_STATE: device_state 9 is not a VFIO migration state");
	fake_reset();
	fk.have_vfio = 0;
	assert_null(
	    ms_vfio__open("/dev/vfio/devices/vfio0", "vfio0", &fake_sys, &c, err, sizeof(err)));
	assert_string_equal(err, "vfio0: failed to open /dev/vfio/devices/vfio0: no VFIO on this "
				 "kernel (/dev/vfio is missing)");
	fake_reset();
	assert_null(ms_vfio__open("0000:3b:00", "vfio0", &fake_sys, &c, err, sizeof(err)));
	assert_string_equal(err, "vfio0: '0000:3b:00' is not /dev/vfio/devices/vfioN, a PCI "
				 "address, /dev/vfio/N@DDDD:BB:DD.F or /dev/vfio/N@MDEV-UUID");
}

static void each_arc_is_one_set_state_and_sessions_bring_their_data_fd(void **state)
{
	struct dt_rig r;
	struct ms_device *d;

	dt_rig__init(&r);
	d = open_dev(&r, "/dev/vfio/devices/vfio0");
	assert_int_equal(ms_dev__goto(d, VFIO_DEVICE_STATE_PRE_COPY), 0);
	assert_int_equal(fk.dev[0].data_fd, FD_DATA0 + 1);
	assert_int_equal(ms_dev__goto(d, VFIO_DEVICE_STATE_STOP_COPY), 0);
	/* one session across the saving group */
	assert_int_equal(fk.dev[0].sessions, 1);
	assert_int_equal(fk.closed[FD_DATA0 + 1], 0);
	assert_int_equal(ms_dev__goto(d, VFIO_DEVICE_STATE_STOP), 0);
	assert_int_equal(fk.closed[FD_DATA0 + 1], 1);
	assert_int_equal(ms_dev__goto(d, VFIO_DEVICE_STATE_RESUMING), 0);
	assert_int_equal(fk.dev[0].sessions, 2);
	assert_int_equal(fk.nr_states_set, 5);
	assert_int_equal(fk.states_set[0], VFIO_DEVICE_STATE_PRE_COPY);
	assert_int_equal(fk.states_set[1], VFIO_DEVICE_STATE_PRE_COPY_P2P);
	assert_int_equal(fk.states_set[2], VFIO_DEVICE_STATE_STOP_COPY);
	assert_int_equal(fk.states_set[3], VFIO_DEVICE_STATE_STOP);
	assert_int_equal(fk.states_set[4], VFIO_DEVICE_STATE_RESUMING);
	assert_int_equal(tu_recorder__count_dev(&r.rec, MS_EV_DEV_STATE, d->id), 5);
	dt_rig__free(&r);
	assert_int_equal(fk.closed[FD_DATA0 + 2], 1);
}

static void precopy_info_zeroes_flags_and_trusts_reinit_only_after_the_opt_in(void **state)
{
	struct dt_rig r;
	struct ms_device *d;
	struct ms_precopy_info pi;

	dt_rig__init(&r);
	d = open_dev(&r, "/dev/vfio/devices/vfio0");
	assert_int_equal(ms_dev__goto(d, VFIO_DEVICE_STATE_PRE_COPY), 0);
	fk.dev[0].precopy_out_flags = VFIO_PRECOPY_INFO_REINIT;
	assert_int_equal(ms_dev__precopy_info(d, &pi), 0);
	assert_int_equal(fk.dev[0].precopy_in_flags, 0);
	assert_int_equal(pi.flags, MS_PRECOPY_REINIT);
	assert_int_equal(pi.initial_bytes, INITIAL);
	dt_rig__free(&r);

	/* an older kernel: no opt-in, and it echoes back whatever flags it got */
	fake_reset();
	fk.dev[0].v2_supported = 0;
	fk.dev[0].echo = 1;
	dt_rig__init(&r);
	d = open_dev(&r, "/dev/vfio/devices/vfio0");
	assert_false(d->flags & MS_DEVF_PRECOPY_V2);
	assert_int_equal(ms_dev__goto(d, VFIO_DEVICE_STATE_PRE_COPY), 0);
	assert_int_equal(ms_dev__precopy_info(d, &pi), 0);
	assert_int_equal(fk.dev[0].precopy_in_flags, 0);
	assert_int_equal(pi.flags, 0);
	dt_rig__free(&r);
}

static void the_data_fd_carries_the_stream_with_its_temporary_and_final_ends(void **state)
{
	struct dt_rig r;
	struct ms_device *d;
	unsigned char *buf;
	size_t n;
	int eof;
	uint64_t sc;

	dt_rig__init(&r);
	d = open_dev(&r, "/dev/vfio/devices/vfio0");
	assert_int_equal(ms_dev__goto(d, VFIO_DEVICE_STATE_PRE_COPY), 0);
	n = dt_drain(d, &buf, &eof); /* ENOMSG ends it */
	assert_false(eof);
	assert_int_equal(n, INITIAL);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(buf[i], stream_byte(i));
	free(buf);
	assert_int_equal(ms_dev__goto(d, VFIO_DEVICE_STATE_STOP_COPY), 0);
	assert_int_equal(ms_dev__stopcopy_size(d, &sc), 0);
	assert_int_equal(sc, STREAM - INITIAL);
	n = dt_drain(d, &buf, &eof);
	assert_true(eof);
	assert_int_equal(n, STREAM - INITIAL);
	free(buf);
	dt_rig__free(&r);
}

static void a_read_claiming_more_than_the_buffer_is_an_error(void **state)
{
	struct dt_rig r;
	struct ms_device *d;
	unsigned char buf[1000];

	dt_rig__init(&r);
	d = open_dev(&r, "/dev/vfio/devices/vfio0");
	assert_int_equal(ms_dev__goto(d, VFIO_DEVICE_STATE_PRE_COPY), 0);
	fk.dev[0].read_extra = 24;
	assert_int_equal(ms_dev__read(d, buf, sizeof(buf)), -EPROTO);
	assert_string_equal(d->err,
			    "vfio0: data read: kernel returned 1024 bytes for a 1000-byte buffer");
	dt_rig__free(&r);
}

static void dma_logging_takes_the_device_s_page_size_and_reports_extents(void **state)
{
	struct dt_rig r;
	struct ms_device *d;
	struct ms_range rg = { 0x100000, 0x400000 };
	const struct ms_ev_track_start *ts;
	const struct ms_ev_dma_write *w;

	dt_rig__init(&r);
	d = open_dev(&r, "/dev/vfio/devices/vfio0");
	fk.dev[0].chosen_page = 8192;
	assert_int_equal(ms_dev__track_start(d, &rg, 1, 4096), 0);
	assert_int_equal(fk.dev[0].log_page, 4096);
	ts = (const void *)tu_recorder__find(&r.rec, MS_EV_TRACK_START, d->id, 0);
	assert_int_equal(ts->page_size, 8192);
	fk.dev[0].dirty_iova[0] = 0x100000;
	fk.dev[0].dirty_iova[1] = 0x102000;
	fk.dev[0].dirty_iova[2] = 0x200000;
	fk.dev[0].nr_dirty = 3;
	assert_int_equal(ms_dev__harvest(d), 0);
	assert_true(fk.dev[0].bitmap_was_clear);
	assert_int_equal(tu_recorder__count_dev(&r.rec, MS_EV_DMA_WRITE, d->id), 2);
	w = (const void *)tu_recorder__find(&r.rec, MS_EV_DMA_WRITE, d->id, 0);
	assert_int_equal(w->iova, 0x100000);
	assert_int_equal(w->len, 0x4000); /* two adjacent 8 KiB pages: one extent */
	assert_int_equal(w->source, MS_SRC_HW_DIRTY);
	w = (const void *)tu_recorder__find(&r.rec, MS_EV_DMA_WRITE, d->id, 1);
	assert_int_equal(w->iova, 0x200000);
	assert_int_equal(w->len, 0x2000);
	assert_int_equal(ms_dev__track_stop(d), 0);
	assert_false(fk.dev[0].logging);
	dt_rig__free(&r);
}

static void a_failed_report_counts_the_whole_range_as_dirty(void **state)
{
	struct dt_rig r;
	struct ms_device *d;
	struct ms_range rg = { 0x100000, 0x400000 };
	const struct ms_ev_loss *l;

	dt_rig__init(&r);
	d = open_dev(&r, "/dev/vfio/devices/vfio0");
	assert_int_equal(ms_dev__track_start(d, &rg, 1, 4096), 0);
	fk.dev[0].report_errno = EIO;
	assert_int_equal(ms_dev__harvest(d), -EIO);
	assert_string_equal(d->err,
			    "vfio0: DMA_LOGGING_REPORT: 0x100000+0x400000: Input/output error");
	l = (const void *)tu_recorder__find(&r.rec, MS_EV_LOSS, d->id, 0);
	assert_non_null(l);
	assert_int_equal(l->reason, MS_LOSS_REPORT_ERROR);
	assert_int_equal(l->iova, 0x100000);
	assert_int_equal(l->len, 0x400000);
	dt_rig__free(&r);
}

static void a_failed_arc_learns_the_state_and_a_reset_recovers(void **state)
{
	struct dt_rig r;
	struct ms_device *d;
	const struct ms_ev_dev_state *st;

	dt_rig__init(&r);
	d = open_dev(&r, "/dev/vfio/devices/vfio0");
	fk.dev[0].fail_to_state = VFIO_DEVICE_STATE_STOP_COPY;
	fk.dev[0].fail_errno = EIO;
	assert_int_equal(ms_dev__goto(d, VFIO_DEVICE_STATE_STOP_COPY), -EIO);
	assert_string_equal(d->err,
			    "vfio0: MIG_DEVICE_STATE: STOP -> STOP_COPY: Input/output error");
	assert_int_equal(d->state, VFIO_DEVICE_STATE_ERROR);
	st = (const void *)tu_recorder__find(&r.rec, MS_EV_DEV_STATE, d->id, 2);
	assert_int_equal(st->from, VFIO_DEVICE_STATE_STOP);
	assert_int_equal(st->to, VFIO_DEVICE_STATE_ERROR);
	assert_int_equal(st->err, -EIO);
	assert_int_equal(ms_dev__reset(d), 0);
	assert_int_equal(fk.dev[0].state, VFIO_DEVICE_STATE_RUNNING);
	dt_rig__free(&r);
}

static void profile_moves_a_real_device_s_stream_to_its_destination(void **state)
{
	struct ms_session_opts so = { 0 };
	struct ms_session *s;
	struct ms_devspec sp;
	struct ms_profile_opts o = { .specs = &sp, .nr_specs = 1, .round_ns = 1000000 };
	struct ms_profile_result res;
	char err[320];

	o.sys = &fake_sys;
	assert_int_equal(
	    ms_devspec__parse("vfio:/dev/vfio/devices/vfio0,dest=/dev/vfio/devices/vfio1", &sp, err,
			      sizeof(err)),
	    0);
	s = ms_session__new(&so, err, sizeof(err));
	assert_non_null(s);
	if (ms_profile__run(&s->stream, &o, &res))
		fail_msg("%s", res.err);
	assert_true(res.verified);
	assert_int_equal(res.bytes_moved, STREAM);
	assert_int_equal(fk.dev[1].load_len, STREAM);
	assert_int_equal(fk.dev[0].state, VFIO_DEVICE_STATE_STOP);
	assert_int_equal(fk.dev[1].state, VFIO_DEVICE_STATE_RUNNING);
	ms_session__free(s);
}

static void profile_drives_an_mtty_like_device_as_against_the_real_one(void **state)
{
	struct ms_session_opts so = { 0 };
	struct ms_session *s;
	struct ms_devspec sp;
	struct ms_profile_opts o = { .specs = &sp,
				     .nr_specs = 1,
				     .round_ns = 1000000,
				     .collectors = MS_PROFILE_COLLECT_OFF };
	struct ms_profile_result res;
	struct tu_recorder rec = { 0 };
	const struct ms_ev_stopcopy_size *sz;
	uint32_t id;
	char err[320];

	fake_mtty(0);
	fake_mtty(1);
	o.sys = &fake_sys;
	assert_int_equal(
	    ms_devspec__parse("vfio:/dev/vfio/devices/vfio0,dest=/dev/vfio/devices/vfio1", &sp, err,
			      sizeof(err)),
	    0);
	s = ms_session__new(&so, err, sizeof(err));
	assert_int_equal(ms_bus__subscribe(&s->bus, MS_EV_ALL, tu_recorder__on_event, &rec), 0);
	if (ms_profile__run(&s->stream, &o, &res))
		fail_msg("%s", res.err);
	assert_true(res.verified);
	assert_int_equal(res.bytes_moved, STREAM);
	assert_int_equal(fk.dev[0].state, VFIO_DEVICE_STATE_STOP);
	assert_int_equal(fk.dev[1].state, VFIO_DEVICE_STATE_RUNNING);
	assert_false(fk.dev[0].v2_on);
	assert_false(fk.dev[0].logging);
	id = ms_devices__find(&s->devices, MS_DEV_KIND_VFIO, "vfio0");
	assert_true(tu_recorder__count_dev(&rec, MS_EV_PRECOPY, id) > 0);
	/* the whole state, every time it is asked */
	for (size_t k = 0; (sz = tu_recorder__find(&rec, MS_EV_STOPCOPY_SIZE, id, k)); k++)
		assert_int_equal(sz->bytes, STREAM);
	/*
	 * Its whole state fits: the verdict agrees with the switchover that was
	 * made (real devices run an unlimited link, so the threshold is what the
	 * device's own stop-copy rate moves within the limit), as against the
	 * real mtty in the VM lane (tests/vm/check_02_mtty_profile.sh).
	 */
	{
		struct json_object *rep = ms_report__json(&s->view),
				   *dev = ms_report__device(rep, id);

		assert_non_null(dev);
		assert_string_equal(json_object_get_string(tu_json_get(dev, "convergence.verdict")),
				    "converging");
		assert_string_equal(
		    json_object_get_string(tu_json_get(dev, "convergence.threshold_source")),
		    "device_rate");
		/* and the VM's line, the sum of its devices, says the same */
		assert_string_equal(
		    json_object_get_string(tu_json_get(rep, "migration.convergence.verdict")),
		    "converging");
		json_object_put(rep);
	}
	ms_session__free(s);
	tu_recorder__free(&rec);
}

static void profile_resumes_a_device_from_its_own_saved_state(void **state)
{
	struct ms_session_opts so = { 0 };
	struct ms_session *s;
	struct ms_devspec sp;
	struct ms_profile_opts o = { .specs = &sp, .nr_specs = 1, .round_ns = 1000000 };
	struct ms_profile_result res;
	char err[320];

	o.sys = &fake_sys;
	assert_int_equal(ms_devspec__parse("vfio:/dev/vfio/devices/vfio0", &sp, err, sizeof(err)),
			 0);
	s = ms_session__new(&so, err, sizeof(err));
	if (ms_profile__run(&s->stream, &o, &res))
		fail_msg("%s", res.err);
	assert_true(res.verified);
	assert_int_equal(fk.dev[0].load_len, STREAM);
	assert_int_equal(fk.dev[0].state, VFIO_DEVICE_STATE_RUNNING);
	ms_session__free(s);
}

/* The arc watch each device gets: this machine cannot attach the vfio hooks (no VFIO). */
static void profile_says_per_device_whether_the_kernel_s_arcs_are_watched(void **state)
{
	struct ms_session_opts so = { 0 };
	struct ms_session *s;
	struct ms_devspec sp[2];
	struct ms_profile_opts o = { .specs = sp, .nr_specs = 2, .round_ns = 1000000 };
	struct ms_profile_result res;
	struct tu_recorder rec = { 0 };
	const struct ms_ev_arc_watch *w;
	uint32_t ids[3];
	char err[320];

	o.sys = &fake_sys;
	assert_int_equal(
	    ms_devspec__parse("vfio:/dev/vfio/devices/vfio0,dest=/dev/vfio/devices/vfio1", &sp[0],
			      err, sizeof(err)),
	    0);
	assert_int_equal(ms_devspec__parse("ref:state=1M", &sp[1], err, sizeof(err)), 0);
	s = ms_session__new(&so, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(ms_bus__subscribe(&s->bus, MS_EV_ALL, tu_recorder__on_event, &rec), 0);
	if (ms_profile__run(&s->stream, &o, &res))
		fail_msg("%s", res.err);
	ids[0] = ms_devices__find(&s->devices, MS_DEV_KIND_VFIO, "vfio0");
	ids[1] = ms_devices__find(&s->devices, MS_DEV_KIND_VFIO, "vfio0.dst");
	ids[2] = ms_devices__find(&s->devices, MS_DEV_KIND_REF, "ref1");
	for (int i = 0; i < 3; i++)
		assert_int_equal(tu_recorder__count_dev(&rec, MS_EV_ARC_WATCH, ids[i]), 1);
	w = tu_recorder__nth_dev(&rec, MS_EV_ARC_WATCH, ids[0], 0);
	assert_int_equal(w->state, MS_ARC_UNWATCHED);
	w = tu_recorder__nth_dev(&rec, MS_EV_ARC_WATCH, ids[2], 0);
	assert_int_equal(w->state, MS_ARC_REFERENCE);
	/* before the device's first arc */
	{
		size_t off = 0;
		const struct ms_event_hdr *h;
		int watch_seen = 0;

		while ((h = tu_recorder__next(&rec, &off)))
			if (h->dev == ids[0] && h->type == MS_EV_ARC_WATCH)
				watch_seen = 1;
			else if (h->dev == ids[0] && h->type == MS_EV_DEV_STATE)
				assert_true(watch_seen);
	}
	assert_int_equal(tu_recorder__count(&rec, MS_EV_KERNEL_ARC), 0);
	ms_session__free(s);
	tu_recorder__free(&rec);

	/* on: the run fails at once, saying why */
	fake_reset();
	o.nr_specs = 1;
	o.collectors = MS_PROFILE_COLLECT_ON;
	s = ms_session__new(&so, err, sizeof(err));
	assert_int_not_equal(ms_profile__run(&s->stream, &o, &res), 0);
	assert_non_null(strstr(res.err, "--collectors on: the kernel's arcs cannot be watched: "));
	assert_int_equal(fk.nr_states_set, 0);
	ms_session__free(s);

	/* no device's kernel name: not watched, and the result says why */
	fake_reset();
	o.collectors = MS_PROFILE_COLLECT_AUTO;
	assert_int_equal(
	    ms_devspec__parse("vfio:/dev/vfio/devices/vfio7", &sp[0], err, sizeof(err)), 0);
	s = ms_session__new(&so, err, sizeof(err));
	if (ms_profile__run(&s->stream, &o, &res))
		fail_msg("%s", res.err);
	assert_string_equal(res.arcs_note, "no VFIO device's kernel name is known");
	ms_session__free(s);

	/* off: nothing is watched and nothing said */
	fake_reset();
	o.collectors = MS_PROFILE_COLLECT_OFF;
	memset(&rec, 0, sizeof(rec));
	s = ms_session__new(&so, err, sizeof(err));
	assert_int_equal(ms_bus__subscribe(&s->bus, MS_EV_ALL, tu_recorder__on_event, &rec), 0);
	if (ms_profile__run(&s->stream, &o, &res))
		fail_msg("%s", res.err);
	assert_int_equal(tu_recorder__count(&rec, MS_EV_ARC_WATCH), 0);
	ms_session__free(s);
	tu_recorder__free(&rec);
}

/* The kernel name the collectors filter on: the cdev's parent, or the name in the group form. */
static void a_device_knows_its_kernel_name(void **state)
{
	struct dt_rig r;
	struct ms_device *d;

	dt_rig__init(&r);
	d = open_dev(&r, "/dev/vfio/devices/vfio0");
	assert_string_equal(d->kname, MDEV_UUID);
	d = open_dev(&r, "/dev/vfio/3@" MDEV_UUID);
	assert_string_equal(d->kname, MDEV_UUID);
	d = open_dev(&r, "/dev/vfio/12@0000:3b:00.1");
	assert_string_equal(d->kname, "0000:3b:00.1");
	fk.cdev = "vfio7"; /* no vfio-dev class entry in the fake: the PCI address it was given */
	d = open_dev(&r, "0000:3b:00.1");
	assert_string_equal(d->kname, "0000:3b:00.1");
	d = open_dev(&r, "/dev/vfio/devices/vfio7");
	assert_string_equal(d->kname, "");
	dt_rig__free(&r);
}

static void an_unknown_state_after_a_failed_arc_is_treated_as_error_and_reset(void **state)
{
	struct dt_rig r;
	struct ms_device *d;
	char err[512];

	dt_rig__init(&r);
	d = open_dev(&r, "/dev/vfio/devices/vfio0");
	fk.dev[0].fail_to_state = VFIO_DEVICE_STATE_STOP;
	fk.dev[0].fail_errno = EIO;
	fk.dev[0].report_state = 9; /* and then the kernel answers nonsense */
	assert_int_equal(ms_devset__goto(&d, 1, NULL, VFIO_DEVICE_STATE_STOP,
					 VFIO_DEVICE_STATE_RUNNING, err, sizeof(err)),
			 -EIO);
	assert_string_equal(err,
			    "vfio0: MIG_DEVICE_STATE: RUNNING_P2P -> STOP: Input/output error; "
			    "every device rolled back to RUNNING");
	/* reset, then RUNNING as the kernel's reset leaves it */
	assert_int_equal(d->state, VFIO_DEVICE_STATE_RUNNING);
	assert_int_equal(fk.dev[0].state, VFIO_DEVICE_STATE_RUNNING);
	dt_rig__free(&r);
}

static void enomsg_in_stop_copy_fails_the_run_instead_of_losing_the_rest(void **state)
{
	struct ms_session_opts so = { 0 };
	struct ms_session *s;
	struct ms_devspec sp;
	struct ms_profile_opts o = { .specs = &sp, .nr_specs = 1, .round_ns = 1000000 };
	struct ms_profile_result res;
	char err[320];

	o.sys = &fake_sys;
	fk.dev[0].enomsg_in_stop_copy = 1;
	assert_int_equal(
	    ms_devspec__parse("vfio:/dev/vfio/devices/vfio0,dest=/dev/vfio/devices/vfio1", &sp, err,
			      sizeof(err)),
	    0);
	s = ms_session__new(&so, err, sizeof(err));
	assert_int_equal(ms_profile__run(&s->stream, &o, &res), -EPROTO);
	assert_string_equal(res.err,
			    "vfio0: data read: ENOMSG in STOP_COPY, where only a 0 read ends "
			    "the stream; every device rolled back to RUNNING");
	/* both back to RUNNING: the destination's load was abandoned by reset */
	assert_int_equal(fk.dev[0].state, VFIO_DEVICE_STATE_RUNNING);
	assert_int_equal(fk.dev[1].state, VFIO_DEVICE_STATE_RUNNING);
	ms_session__free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(a_cdev_is_bound_to_an_iommufd_and_attached_to_an_ioas,
				       setup),
		cmocka_unit_test_setup(
		    a_group_is_put_in_a_type1v2_container_before_the_device_is_opened, setup),
		cmocka_unit_test_setup(an_mdev_is_opened_in_its_group_by_its_uuid, setup),
		cmocka_unit_test_setup(malformed_group_names_are_refused_before_anything_is_opened,
				       setup),
		cmocka_unit_test_setup(a_pci_address_uses_its_cdev_or_else_its_group, setup),
		cmocka_unit_test_setup(a_device_knows_its_kernel_name, setup),
		cmocka_unit_test_setup(profile_drives_an_mtty_like_device_as_against_the_real_one,
				       setup),
		cmocka_unit_test_setup(
		    profile_says_per_device_whether_the_kernel_s_arcs_are_watched, setup),
		cmocka_unit_test_setup(opening_fails_with_one_line_naming_the_device_and_the_reason,
				       setup),
		cmocka_unit_test_setup(each_arc_is_one_set_state_and_sessions_bring_their_data_fd,
				       setup),
		cmocka_unit_test_setup(
		    precopy_info_zeroes_flags_and_trusts_reinit_only_after_the_opt_in, setup),
		cmocka_unit_test_setup(
		    the_data_fd_carries_the_stream_with_its_temporary_and_final_ends, setup),
		cmocka_unit_test_setup(a_read_claiming_more_than_the_buffer_is_an_error, setup),
		cmocka_unit_test_setup(dma_logging_takes_the_device_s_page_size_and_reports_extents,
				       setup),
		cmocka_unit_test_setup(a_failed_report_counts_the_whole_range_as_dirty, setup),
		cmocka_unit_test_setup(a_failed_arc_learns_the_state_and_a_reset_recovers, setup),
		cmocka_unit_test_setup(profile_moves_a_real_device_s_stream_to_its_destination,
				       setup),
		cmocka_unit_test_setup(profile_resumes_a_device_from_its_own_saved_state, setup),
		cmocka_unit_test_setup(enomsg_in_stop_copy_fails_the_run_instead_of_losing_the_rest,
				       setup),
		cmocka_unit_test_setup(
		    an_unknown_state_after_a_failed_arc_is_treated_as_error_and_reset, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
