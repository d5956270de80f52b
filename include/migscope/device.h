/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One interface for every device migscope drives through migration.
 *
 * A backend (the real VFIO uAPI, the reference device, a virtio member device
 * driven by admin commands) fills a struct ms_device_ops; everything above it
 * speaks VFIO migration v2 states.  The generic layer here walks the kernel's
 * state table one arc at a time, times each arc on the device's clock and
 * publishes what the device did on the session bus:
 *
 *   MS_EV_DEV_STATE      every arc; hdr.ts_ns is when the arc completed,
 *                        dur_ns how long the set-state call took
 *   MS_EV_PRECOPY        every pre-copy info query
 *   MS_EV_STOPCOPY_SIZE  every stop-copy size query
 *   MS_EV_TRACK_START/STOP, MS_EV_DMA_WRITE (the device's own dirty report),
 *   MS_EV_HARVEST, MS_EV_LOSS
 *
 * Errors are one line in d->err naming the device, the command and the field.
 */
#ifndef MIGSCOPE_DEVICE_H
#define MIGSCOPE_DEVICE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <migscope/clock.h>
#include <migscope/event.h>
#include <migscope/pass.h>

struct ms_stream;
struct ms_device;

#define MS_DEV_ERR_LEN	320
#define MS_DEV_NAME_LEN 64

/* Most ranges one DMA logging start takes: the kernel's floor, PAGE_SIZE / 16. */
#define MS_TRACK_MAX_RANGES 256

enum ms_dev_flags {
	MS_DEVF_PRECOPY_V2 = 1u << 0,  /* opted in to PRECOPY_INFOv2: REINIT is reported */
	MS_DEVF_DIRTY_TRACK = 1u << 1, /* reports its own DMA writes (DMA logging, write records) */
};

struct ms_precopy_info {
	uint64_t initial_bytes;
	uint64_t dirty_bytes;
	uint32_t flags; /* MS_PRECOPY_* */
};

/* A dirty extent from a device's own tracker. */
typedef void (*ms_dirty_fn)(void *ctx, uint64_t iova, uint64_t len);

struct ms_device_ops {
	const char *backend;   /* "vfio", "ref", "virtio" */
	uint32_t dirty_source; /* enum ms_write_source of what harvest() reports */
	uint32_t harvest_loss; /* enum ms_loss_reason when harvest() fails */

	/*
	 * Take one arc of the state table from d->state to next.  On success the
	 * device is in next.  On failure return -errno with d->err set; the
	 * caller asks get_state() where the device ended up.
	 */
	int (*arc)(struct ms_device *d, uint8_t next);
	int (*get_state)(struct ms_device *d, uint8_t *state);
	/* Device reset: back to RUNNING from any state, ERROR included. */
	int (*reset)(struct ms_device *d);

	/* Only in PRE_COPY / PRE_COPY_P2P. */
	int (*precopy_info)(struct ms_device *d, struct ms_precopy_info *pi);
	int (*stopcopy_size)(struct ms_device *d, uint64_t *bytes);
	/*
	 * The migration data stream.  read: bytes read, 0 at the end of the
	 * stream (STOP_COPY), -ENOMSG when pre-copy has nothing right now.
	 * write: bytes accepted (may be short).
	 */
	ssize_t (*read)(struct ms_device *d, void *buf, size_t len);
	ssize_t (*write)(struct ms_device *d, const void *buf, size_t len);

	/* Dirty tracking by the device itself; NULL when it has none. */
	int (*track_start)(struct ms_device *d, const struct ms_range *r, uint32_t n,
			   uint64_t *page_size);
	int (*track_stop)(struct ms_device *d);
	/* Report (read and clear) what was dirtied in r, extent by extent. */
	int (*harvest)(struct ms_device *d, const struct ms_range *r, uint64_t page_size,
		       ms_dirty_fn fn, void *ctx);

	/* Simulated devices only: time of the device's next own event (UINT64_MAX: none) and
	 * running it. */
	uint64_t (*next_event)(struct ms_device *d);
	void (*run_event)(struct ms_device *d);
	/* Simulated devices only: a digest of the device state, to check a transfer. */
	int (*state_digest)(struct ms_device *d, uint32_t *digest);

	void (*close)(struct ms_device *d);
};

struct ms_device {
	const struct ms_device_ops *ops;
	void *priv;
	struct ms_clock *clock;
	struct ms_stream *s; /* where records go; NULL: nowhere */
	uint32_t id;	     /* session device id, MS_DEV_NONE until registered */
	uint16_t kind;	     /* enum ms_dev_kind */
	uint16_t role;	     /* enum ms_dev_role */
	uint32_t caps;	     /* VFIO_MIGRATION_* */
	uint32_t flags;	     /* MS_DEVF_* */
	uint8_t state;	     /* VFIO state, as last set or read */
	char name[MS_DEV_NAME_LEN];
	/* the kernel's name of a real device (PCI address, mdev UUID): "" if unknown */
	char kname[MS_DEV_NAME_LEN];
	char err[MS_DEV_ERR_LEN];

	/* what track_start() was given, for harvest and the records */
	struct ms_range *track;
	uint32_t nr_track;
	uint64_t track_page;

	struct ms_pass_seen pass; /* its pre-copy pass boundaries (MS_EV_PASS) */
};

/* Fill d->err with "<name>: <message>" and return err (negative errno). */
int ms_dev__fail(struct ms_device *d, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Give the device a session id and publish its MS_EV_DEV_ADD. */
void ms_dev__register(struct ms_device *d, struct ms_stream *s, uint16_t role, uint32_t peer);

/* One arc of the state table (next must be the table's next step).  0 or -errno. */
int ms_dev__step(struct ms_device *d, uint8_t next);

/* Walk the table's path to target, arc by arc.  0 or -errno (d->err set). */
int ms_dev__goto(struct ms_device *d, uint8_t target);

/* Reset a device (any state, ERROR too) back to RUNNING; published as an arc. */
int ms_dev__reset(struct ms_device *d);

int ms_dev__precopy_info(struct ms_device *d, struct ms_precopy_info *pi);
int ms_dev__stopcopy_size(struct ms_device *d, uint64_t *bytes);

/* Read from the data stream; a backend that claims more than len is an error. */
ssize_t ms_dev__read(struct ms_device *d, void *buf, size_t len);
/* Write all of buf into the data stream.  0 or -errno. */
int ms_dev__write_all(struct ms_device *d, const void *buf, size_t len);

/* Publish MS_EV_DATA: bytes moved for phase (enum ms_data_phase), now. */
void ms_dev__publish_data(struct ms_device *d, uint64_t bytes, uint32_t phase);

/* Publish an arc the device took (domain MS_DOMAIN_*), started at start_ns, ending now. */
void ms_dev__publish_arc(struct ms_device *d, uint16_t domain, uint8_t from, uint8_t to,
			 int32_t err, uint64_t start_ns);

/*
 * Start the device's own dirty tracking over ranges (page-aligned,
 * non-overlapping, at most MS_TRACK_MAX_RANGES), checked before anything is
 * sent.  Publishes MS_EV_TRACK_START with the page size the device chose.
 */
int ms_dev__track_start(struct ms_device *d, const struct ms_range *r, uint32_t n,
			uint64_t page_size);
/*
 * Read and clear the device's dirty report over every tracked range:
 * MS_EV_DMA_WRITE per extent, then MS_EV_HARVEST.  A range whose report fails
 * is published as MS_EV_LOSS over that range (treat it all as dirty); what
 * was reported before the failure is kept.  0 or the first -errno.
 */
int ms_dev__harvest(struct ms_device *d);
int ms_dev__track_stop(struct ms_device *d);

void ms_dev__close(struct ms_device *d);

/* Run simulated devices' own events up to t, in time order across devices. */
void ms_devs__pump(struct ms_device *const *devs, size_t n, uint64_t t);

#endif
