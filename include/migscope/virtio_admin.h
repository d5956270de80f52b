/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Virtio admin commands for device migration, as
 * shared/seeds/virtio-admin-device-migration-commands-v2.txt defines them
 * (the seed is the spec; docs/virtio-admin.md lists where it contradicts
 * itself and which reading migscope takes).
 *
 * Every field is little-endian on the wire.  A command is the device-readable
 * part of struct virtio_admin_cmd (opcode, group_type, reserved, group
 * member id, command_specific_data); the device writes back status,
 * status_qualifier, command_specific_output[4] and command_specific_result.
 *
 * The decoders take bytes a device wrote and trust nothing: every length is
 * checked against what the device wrote and what the buffer holds, and a bad
 * one is an error naming the command and the field.
 */
#ifndef MIGSCOPE_VIRTIO_ADMIN_H
#define MIGSCOPE_VIRTIO_ADMIN_H

#include <stddef.h>
#include <stdint.h>

/* The opcodes, in one table with their names (the seed's opcode table). */
enum ms_virtio_admin_opcode {
	MS_VIRTIO_ADMIN_DEV_MODE_GET = 0x0007,
	MS_VIRTIO_ADMIN_DEV_MODE_SET = 0x0008,
	MS_VIRTIO_ADMIN_DEV_CTX_SIZE_GET = 0x0009,
	MS_VIRTIO_ADMIN_DEV_CTX_READ = 0x000a,
	MS_VIRTIO_ADMIN_DEV_CTX_WRITE = 0x000b,
	MS_VIRTIO_ADMIN_DEV_CTX_FIELDS_QUERY = 0x000c,
	MS_VIRTIO_ADMIN_DEV_CTX_DISCARD = 0x000d,
	MS_VIRTIO_ADMIN_DEV_WRITE_RECORD_CAP_QUERY = 0x000f,
	MS_VIRTIO_ADMIN_DEV_WRITE_RECORDS_START = 0x0010,
	MS_VIRTIO_ADMIN_DEV_WRITE_RECORDS_STOP = 0x0011,
	MS_VIRTIO_ADMIN_DEV_WRITE_RECORDS_READ = 0x0012,
};

/* "DEV_MODE_SET", or "opcode 0x0042" into buf. */
const char *ms_virtio_admin_opcode_name(unsigned int opcode, char *buf, size_t len);

#define MS_VIRTIO_ADMIN_GROUP_SRIOV 0x1

#define MS_VIRTIO_ADMIN_STATUS_OK     0
#define MS_VIRTIO_ADMIN_STATUS_EAGAIN 11
#define MS_VIRTIO_ADMIN_STATUS_ENOMEM 12
#define MS_VIRTIO_ADMIN_STATUS_EINVAL 22

#define MS_VIRTIO_ADMIN_Q_OK		  0
#define MS_VIRTIO_ADMIN_Q_INVALID_COMMAND 1
#define MS_VIRTIO_ADMIN_Q_INVALID_OPCODE  2
#define MS_VIRTIO_ADMIN_Q_INVALID_FIELD	  3
#define MS_VIRTIO_ADMIN_Q_INVALID_GROUP	  4
#define MS_VIRTIO_ADMIN_Q_INVALID_MEMBER  5
#define MS_VIRTIO_ADMIN_Q_NORESOURCE	  6
#define MS_VIRTIO_ADMIN_Q_TRYAGAIN	  7

/* Device migration modes. */
#define MS_VIRTIO_MODE_ACTIVE 0
#define MS_VIRTIO_MODE_STOP   1
#define MS_VIRTIO_MODE_FREEZE 2
#define MS_VIRTIO_NR_MODES    3

const char *ms_virtio_mode_name(unsigned int mode);

/* Device context field types. */
#define MS_VIRTIO_CTX_PCI_COMMON_CFG	    0x0000
#define MS_VIRTIO_CTX_DEV_FEATURES	    0x0001
#define MS_VIRTIO_CTX_PCI_VQ_CFG	    0x0002
#define MS_VIRTIO_CTX_VQ_SPLIT_RUNTIME_CFG  0x0003
#define MS_VIRTIO_CTX_VQ_SPLIT_DEV_OWN_DESC 0x0004
#define MS_VIRTIO_CTX_DEV_CFG		    0x1000

/* Packed value sizes of the fixed structures. */
#define MS_VIRTIO_CTX_VQ_CFG_LEN 30 /* le16 vq_index, queue_size, msix; le64 desc, driver, device  \
				     */
#define MS_VIRTIO_CTX_VQ_RUNTIME_LEN 5 /* le16 vq_index, le16 dev_avail_idx, u8 enabled */
#define MS_VIRTIO_CTX_OWN_DESC_MIN   4 /* le16 vq_index, le16 desc_count, then desc_idx[] */

#define MS_VIRTIO_ADMIN_HDR_LEN	    24 /* opcode, group_type, reserved1[12], group_member_id */
#define MS_VIRTIO_ADMIN_RES_HDR_LEN 8  /* status, status_qualifier, command_specific_output[4] */
#define MS_VIRTIO_CTX_TLV_HDR_LEN   16 /* le16 type, u8 reserved[6], le64 length */
#define MS_VIRTIO_FIELD_ENTRY_LEN   16 /* supported field: le16 type, reserved[6], le64 length */
#define MS_VIRTIO_WR_START_HDR_LEN  16 /* le64 page_size, le32 count, reserved[4] */
#define MS_VIRTIO_WR_ENTRY_LEN	    16 /* le64 page_address, le64 page_count */

/* Little-endian field access. */
static inline void ms_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static inline void ms_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void ms_put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t ms_get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t ms_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t ms_get_le64(const uint8_t *p)
{
	return (uint64_t)ms_get_le32(p) | (uint64_t)ms_get_le32(p + 4) << 32;
}

/*
 * Encode a command into buf: header, then data_len bytes of
 * command_specific_data.  Returns the command length, or 0 when it does not
 * fit in cap.
 */
size_t ms_virtio_admin__encode(uint8_t *buf, size_t cap, uint16_t opcode, uint64_t member,
			       const void *data, size_t data_len);

/* A decoded command header (device side). */
struct ms_virtio_admin_cmd {
	uint16_t opcode;
	uint16_t group_type;
	uint64_t member;
	const uint8_t *data;
	size_t data_len;
};
/* 0, or -EPROTO when len is shorter than the header. */
int ms_virtio_admin__decode_cmd(const uint8_t *buf, size_t len, struct ms_virtio_admin_cmd *c);

/* A decoded device-writable part. */
struct ms_virtio_admin_res {
	uint16_t status;
	uint16_t qualifier;
	uint32_t output; /* command_specific_output as le32 */
	const uint8_t *result;
	size_t result_len; /* what the device wrote after the 8-byte header */
};

/*
 * Decode what the device wrote: written bytes out of a buffer of cap.  A
 * device claiming to have written more than the buffer, or less than the
 * header, is an error.  0 or -EPROTO with err.
 */
int ms_virtio_admin__decode_res(const uint8_t *buf, size_t written, size_t cap,
				struct ms_virtio_admin_res *r, char *err, size_t errlen);

/* Device side: fill the header of a result; returns MS_VIRTIO_ADMIN_RES_HDR_LEN. */
size_t ms_virtio_admin__encode_res(uint8_t *buf, uint16_t status, uint16_t qualifier,
				   uint32_t output);

/* Per-command result decoders: 0 or -EPROTO with err naming command and field. */
int ms_virtio_admin__mode(const struct ms_virtio_admin_res *r, uint8_t *mode, char *err,
			  size_t errlen);
int ms_virtio_admin__ctx_size(const struct ms_virtio_admin_res *r, uint64_t *size, char *err,
			      size_t errlen);
/* DEV_CTX_READ: context_len from command_specific_output, checked against requested and written. */
int ms_virtio_admin__ctx_read(const struct ms_virtio_admin_res *r, size_t requested,
			      uint32_t *context_len, char *err, size_t errlen);

struct ms_virtio_field {
	uint16_t type;
	uint64_t length;
};
#define MS_VIRTIO_MAX_FIELDS 64

/* DEV_CTX_FIELDS_QUERY: entries into fields[MS_VIRTIO_MAX_FIELDS]; duplicate types are an error. */
int ms_virtio_admin__fields(const struct ms_virtio_admin_res *r, struct ms_virtio_field *fields,
			    size_t *nr, char *err, size_t errlen);

struct ms_virtio_wr_cap {
	uint32_t page_size_bitmap; /* bit n: 4 KiB << n */
	uint32_t supported_ranges;
};
/* DEV_WRITE_RECORD_CAP_QUERY, including the device MUSTs (a page size, a range). */
int ms_virtio_admin__wr_cap(const struct ms_virtio_admin_res *r, struct ms_virtio_wr_cap *cap,
			    char *err, size_t errlen);

/*
 * DEV_WRITE_RECORDS_READ: the record count from command_specific_output.
 * *usable gets how many records the result really holds (the smaller of the
 * count, what was written and what fits in max_records); a count beyond that
 * is an error, but the usable records are still the device's data.
 */
int ms_virtio_admin__wr_read(const struct ms_virtio_admin_res *r, size_t max_records,
			     uint32_t *count, uint32_t *usable, char *err, size_t errlen);

/* DEV_WRITE_RECORDS_START data: returns its length, 0 when it does not fit. */
size_t ms_virtio_admin__wr_start_data(uint8_t *buf, size_t cap, uint64_t page_size,
				      const uint64_t *addr, const uint64_t *pages, uint32_t n);

/* A field of a device context. */
struct ms_virtio_ctx_field {
	uint16_t type;
	uint64_t length;
	const uint8_t *value;
};
typedef int (*ms_virtio_ctx_fn)(void *ctx, const struct ms_virtio_ctx_field *f, uint32_t index);

/*
 * Parse and validate a device context (struct virtio_dev_ctx): field_count,
 * then exactly that many TLVs filling the buffer.  With a supported-fields
 * list every field must be one of them and agree with its length (exactly;
 * VQ_SPLIT_DEV_OWN_DESC up to it, as its length follows desc_count); known
 * types are checked structurally.  fn (may be NULL) sees each field.
 * 0, or -EPROTO with err naming the field.
 */
int ms_virtio_ctx__parse(const uint8_t *buf, size_t len, const struct ms_virtio_field *supported,
			 size_t nr_supported, ms_virtio_ctx_fn fn, void *ctx, char *err,
			 size_t errlen);

#endif
