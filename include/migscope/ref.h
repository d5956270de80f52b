/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The reference device: a software model of a migratable passthrough device,
 * faithful to the VFIO migration v2 uAPI (iface=vfio) or to a virtio member
 * device driven by the admin commands of
 * shared/seeds/virtio-admin-device-migration-commands-v2.txt (iface=virtio).
 *
 * Its workload is deterministic for a seed: DMA writes at a rate over a
 * working set (published as the DMA-unmap records the BPF collector would
 * produce), device state that those writes dirty, pre-copy initial bytes,
 * stop latency, REINIT events.  docs/devices.md describes the model.
 */
#ifndef MIGSCOPE_REF_H
#define MIGSCOPE_REF_H

#include <stddef.h>
#include <stdint.h>

#include <migscope/clock.h>
#include <migscope/device.h>

enum ms_ref_iface {
	MS_REF_IFACE_VFIO = 0,
	MS_REF_IFACE_VIRTIO = 1,
};

/* Misbehaviour to inject, to show how the driver copes (fault=NAME). */
enum ms_ref_fault {
	MS_REF_FAULT_NONE = 0,
	MS_REF_FAULT_READ_LEN,	/* vfio: a data read claims more bytes than the buffer */
	MS_REF_FAULT_CORRUPT,	/* vfio: one saved page arrives with a wrong checksum */
	MS_REF_FAULT_REPORT,	/* vfio: a DMA logging report fails */
	MS_REF_FAULT_CTX_LEN,	/* virtio: DEV_CTX_READ context_len exceeds the result buffer */
	MS_REF_FAULT_TLV,	/* virtio: a context TLV length runs past the context */
	MS_REF_FAULT_FIELD_LEN, /* virtio: a context field length disagrees with the fields query */
	MS_REF_FAULT_WR_COUNT,	/* virtio: WRITE_RECORDS_READ count exceeds the result buffer */
	MS_REF_FAULT_WR_READ,	/* virtio: a WRITE_RECORDS_READ fails */
	MS_REF_FAULT_MODE,	/* virtio: DEV_MODE_GET returns an unknown mode */
	MS_REF_FAULT__MAX,
};

#define MS_REF_NO_STATE 0xff
#define MS_REF_ALL	UINT64_MAX /* init=, rsize= not given: all of state, state / 4 */

struct ms_ref_params {
	char name[MS_DEV_NAME_LEN]; /* "" : the driver names it */
	uint64_t seed;
	int seed_set; /* seed= given; else the driver derives one from --seed */
	enum ms_ref_iface iface;

	uint64_t state;		/* device state bytes (iface=vfio) */
	uint64_t init;		/* pre-copy initial bytes, <= state; default all of it */
	uint64_t dirty;		/* DMA write rate, bytes per second */
	uint64_t ws;		/* working set the DMA writes land in, bytes */
	uint64_t wsize;		/* mean DMA write size, bytes */
	uint64_t iova;		/* IOVA of the working set */
	uint64_t stop_ns;	/* entering STOP / STOP_COPY (Freeze) */
	uint64_t p2p_ns;	/* quiescing peer-to-peer DMA (RUNNING_P2P, Stop) */
	uint64_t start_ns;	/* starting again (-> RUNNING_P2P / RUNNING, Active) */
	uint64_t load_ns;	/* RESUMING -> STOP: checking and applying the loaded state */
	uint32_t reinit;	/* REINIT events during pre-copy */
	uint64_t reinit_bytes;	/* new initial bytes per REINIT; default state / 4 */
	uint64_t reinit_gap_ns; /* after initial bytes reach zero, before a REINIT */
	uint32_t hide;		/* pages whose writes the DMA-unmap source never sees */
	uint32_t caps;		/* VFIO_MIGRATION_* the device supports */
	int v2;			/* supports PRECOPY_INFOv2 (REINIT reporting) */
	int track;		/* has its own dirty tracking (DMA logging / write records) */
	uint32_t vqs;		/* virtqueues (iface=virtio) */
	uint8_t fail_to;	/* the arc into this state fails (MS_REF_NO_STATE: none) */
	uint8_t fault;		/* enum ms_ref_fault */
	uint32_t fault_at;	/* the fault hits the fault_at-th occasion (1 = first) */
	uint32_t given;		/* which interface-specific options were given (devspec.c) */
};

/* The defaults: a moderate device (docs/devices.md lists them). */
void ms_ref_params__defaults(struct ms_ref_params *p);

/*
 * Set one option (key=value as on the command line, e.g. "dirty", "40M/s").
 * 0, or -EINVAL with a one-line error naming the key.
 */
int ms_ref_params__set(struct ms_ref_params *p, const char *key, const char *val, char *err,
		       size_t errlen);

/* Check the options fit together.  0 or -EINVAL with err. */
int ms_ref_params__check(const struct ms_ref_params *p, char *err, size_t errlen);

/* Help text for the options, one per line. */
extern const char ms_ref_params_help[];

/* A reference device in RUNNING, on clock c.  NULL with err on failure. */
struct ms_device *ms_ref__new(const struct ms_ref_params *p, struct ms_clock *c, char *err,
			      size_t errlen);

/* A reference virtio member device (iface=virtio), driven through admin commands. */
struct ms_device *ms_ref_virtio__new(const struct ms_ref_params *p, struct ms_clock *c, char *err,
				     size_t errlen);

/* Things that happen to a member device outside the admin commands. */
enum ms_ref_member_event {
	MS_REF_FLR = 0,		 /* PCI function level reset of the VF */
	MS_REF_DEVICE_RESET = 1, /* virtio device reset by the guest driver */
	MS_REF_PM = 2,		 /* a PCI power management state transition */
};
/* The event happens now and lasts dur_ns; commands meanwhile complete after it. */
int ms_ref_virtio__event(struct ms_device *d, enum ms_ref_member_event ev, uint64_t dur_ns);
/* Device configuration access (direct or through VIRTIO_PCI_CAP_PCI_CFG: the same). */
int ms_ref_virtio__cfg(struct ms_device *d, int write, uint32_t off, uint8_t *val);

/* Counters of what the model did, for tests and the demo. */
struct ms_ref_stats {
	uint64_t dma_writes; /* writes the device made */
	uint64_t dma_bytes;
	uint64_t hidden_writes; /* writes (or parts) not published as DMA-unmap records */
	uint64_t reinits;	/* REINIT events reported */
	uint64_t bytes_saved;	/* data stream bytes read */
	uint64_t bytes_loaded;	/* data stream bytes written */
	uint64_t notifications; /* virtio: config change notifications sent */
	uint64_t pme;		/* virtio: PCI PME messages sent */
	uint64_t admin_cmds;	/* virtio: admin commands received */
	uint64_t cfg_writes;	/* virtio: configuration writes received */
	uint32_t recording;	/* virtio: write recording is on */
};
int ms_ref__stats(struct ms_device *d, struct ms_ref_stats *st);
/* The member device's counters and its own idea of its mode. */
int ms_ref_virtio__stats(struct ms_device *d, struct ms_ref_stats *st, uint8_t *mode);

#endif
