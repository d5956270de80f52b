// SPDX-License-Identifier: GPL-2.0-only
/* Encoding and strict decoding of the virtio device-migration admin commands. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <migscope/virtio_admin.h>

static const struct {
	uint16_t opcode;
	const char *name;
} opcodes[] = {
	{ MS_VIRTIO_ADMIN_DEV_MODE_GET, "DEV_MODE_GET" },
	{ MS_VIRTIO_ADMIN_DEV_MODE_SET, "DEV_MODE_SET" },
	{ MS_VIRTIO_ADMIN_DEV_CTX_SIZE_GET, "DEV_CTX_SIZE_GET" },
	{ MS_VIRTIO_ADMIN_DEV_CTX_READ, "DEV_CTX_READ" },
	{ MS_VIRTIO_ADMIN_DEV_CTX_WRITE, "DEV_CTX_WRITE" },
	{ MS_VIRTIO_ADMIN_DEV_CTX_FIELDS_QUERY, "DEV_CTX_FIELDS_QUERY" },
	{ MS_VIRTIO_ADMIN_DEV_CTX_DISCARD, "DEV_CTX_DISCARD" },
	{ MS_VIRTIO_ADMIN_DEV_WRITE_RECORD_CAP_QUERY, "DEV_WRITE_RECORD_CAP_QUERY" },
	{ MS_VIRTIO_ADMIN_DEV_WRITE_RECORDS_START, "DEV_WRITE_RECORDS_START" },
	{ MS_VIRTIO_ADMIN_DEV_WRITE_RECORDS_STOP, "DEV_WRITE_RECORDS_STOP" },
	{ MS_VIRTIO_ADMIN_DEV_WRITE_RECORDS_READ, "DEV_WRITE_RECORDS_READ" },
};

const char *ms_virtio_admin_opcode_name(unsigned int opcode, char *buf, size_t len)
{
	for (size_t i = 0; i < sizeof(opcodes) / sizeof(opcodes[0]); i++)
		if (opcodes[i].opcode == opcode)
			return opcodes[i].name;
	snprintf(buf, len, "opcode 0x%04x", opcode);
	return buf;
}

const char *ms_virtio_mode_name(unsigned int mode)
{
	static const char *const names[MS_VIRTIO_NR_MODES] = { "Active", "Stop", "Freeze" };

	return mode < MS_VIRTIO_NR_MODES ? names[mode] : "unknown";
}

size_t ms_virtio_admin__encode(uint8_t *buf, size_t cap, uint16_t opcode, uint64_t member,
			       const void *data, size_t data_len)
{
	if (cap < MS_VIRTIO_ADMIN_HDR_LEN || data_len > cap - MS_VIRTIO_ADMIN_HDR_LEN)
		return 0;
	memset(buf, 0, MS_VIRTIO_ADMIN_HDR_LEN);
	ms_put_le16(buf, opcode);
	ms_put_le16(buf + 2, MS_VIRTIO_ADMIN_GROUP_SRIOV);
	/* reserved1[12] stays zero */
	ms_put_le64(buf + 16, member);
	if (data_len)
		memcpy(buf + MS_VIRTIO_ADMIN_HDR_LEN, data, data_len);
	return MS_VIRTIO_ADMIN_HDR_LEN + data_len;
}

int ms_virtio_admin__decode_cmd(const uint8_t *buf, size_t len, struct ms_virtio_admin_cmd *c)
{
	if (len < MS_VIRTIO_ADMIN_HDR_LEN)
		return -EPROTO;
	c->opcode = ms_get_le16(buf);
	c->group_type = ms_get_le16(buf + 2);
	c->member = ms_get_le64(buf + 16);
	c->data = buf + MS_VIRTIO_ADMIN_HDR_LEN;
	c->data_len = len - MS_VIRTIO_ADMIN_HDR_LEN;
	return 0;
}

size_t ms_virtio_admin__encode_res(uint8_t *buf, uint16_t status, uint16_t qualifier,
				   uint32_t output)
{
	ms_put_le16(buf, status);
	ms_put_le16(buf + 2, qualifier);
	ms_put_le32(buf + 4, output);
	return MS_VIRTIO_ADMIN_RES_HDR_LEN;
}

int ms_virtio_admin__decode_res(const uint8_t *buf, size_t written, size_t cap,
				struct ms_virtio_admin_res *r, char *err, size_t errlen)
{
	if (written > cap) {
		snprintf(err, errlen, "result: device wrote %zu bytes into a %zu-byte buffer",
			 written, cap);
		return -EPROTO;
	}
	if (written < MS_VIRTIO_ADMIN_RES_HDR_LEN) {
		snprintf(err, errlen,
			 "result: device wrote %zu bytes, less than the %d-byte status", written,
			 MS_VIRTIO_ADMIN_RES_HDR_LEN);
		return -EPROTO;
	}
	r->status = ms_get_le16(buf);
	r->qualifier = ms_get_le16(buf + 2);
	r->output = ms_get_le32(buf + 4);
	r->result = buf + MS_VIRTIO_ADMIN_RES_HDR_LEN;
	r->result_len = written - MS_VIRTIO_ADMIN_RES_HDR_LEN;
	return 0;
}

int ms_virtio_admin__mode(const struct ms_virtio_admin_res *r, uint8_t *mode, char *err,
			  size_t errlen)
{
	if (r->result_len < 1) {
		snprintf(err, errlen, "DEV_MODE_GET: result has no mode");
		return -EPROTO;
	}
	if (r->result[0] >= MS_VIRTIO_NR_MODES) {
		snprintf(err, errlen,
			 "DEV_MODE_GET: mode %u is not Active (0), Stop (1) or Freeze (2)",
			 r->result[0]);
		return -EPROTO;
	}
	*mode = r->result[0];
	return 0;
}

int ms_virtio_admin__ctx_size(const struct ms_virtio_admin_res *r, uint64_t *size, char *err,
			      size_t errlen)
{
	if (r->result_len < 8) {
		snprintf(err, errlen, "DEV_CTX_SIZE_GET: size: result has %zu bytes, needs 8",
			 r->result_len);
		return -EPROTO;
	}
	*size = ms_get_le64(r->result);
	return 0;
}

int ms_virtio_admin__ctx_read(const struct ms_virtio_admin_res *r, size_t requested,
			      uint32_t *context_len, char *err, size_t errlen)
{
	uint32_t n = r->output;

	if (n > requested) {
		snprintf(err, errlen,
			 "DEV_CTX_READ: context_len %u is more than the %zu bytes requested", n,
			 requested);
		return -EPROTO;
	}
	if (n > r->result_len) {
		snprintf(err, errlen,
			 "DEV_CTX_READ: context_len %u is more than the %zu bytes the device wrote",
			 n, r->result_len);
		return -EPROTO;
	}
	*context_len = n;
	return 0;
}

int ms_virtio_admin__fields(const struct ms_virtio_admin_res *r, struct ms_virtio_field *fields,
			    size_t *nr, char *err, size_t errlen)
{
	size_t n = r->result_len / MS_VIRTIO_FIELD_ENTRY_LEN;

	if (r->result_len % MS_VIRTIO_FIELD_ENTRY_LEN) {
		snprintf(err, errlen,
			 "DEV_CTX_FIELDS_QUERY: fields: %zu bytes is not a whole number of %d-byte "
			 "entries",
			 r->result_len, MS_VIRTIO_FIELD_ENTRY_LEN);
		return -EPROTO;
	}
	if (n > MS_VIRTIO_MAX_FIELDS) {
		snprintf(err, errlen, "DEV_CTX_FIELDS_QUERY: fields: %zu entries, at most %d", n,
			 MS_VIRTIO_MAX_FIELDS);
		return -EPROTO;
	}
	for (size_t i = 0; i < n; i++) {
		const uint8_t *e = r->result + i * MS_VIRTIO_FIELD_ENTRY_LEN;

		fields[i].type = ms_get_le16(e);
		fields[i].length = ms_get_le64(e + 8);
		for (size_t j = 0; j < i; j++)
			if (fields[j].type == fields[i].type) {
				snprintf(
				    err, errlen,
				    "DEV_CTX_FIELDS_QUERY: fields[%zu]: type 0x%04x listed twice",
				    i, fields[i].type);
				return -EPROTO;
			}
	}
	*nr = n;
	return 0;
}

int ms_virtio_admin__wr_cap(const struct ms_virtio_admin_res *r, struct ms_virtio_wr_cap *cap,
			    char *err, size_t errlen)
{
	if (r->result_len < 8) {
		snprintf(err, errlen, "DEV_WRITE_RECORD_CAP_QUERY: result has %zu bytes, needs 8",
			 r->result_len);
		return -EPROTO;
	}
	cap->page_size_bitmap = ms_get_le32(r->result);
	cap->supported_ranges = ms_get_le32(r->result + 4);
	if (!cap->page_size_bitmap) {
		snprintf(err, errlen,
			 "DEV_WRITE_RECORD_CAP_QUERY: supported_page_size_bitmap is 0 (the device "
			 "must set a page size)");
		return -EPROTO;
	}
	if (!cap->supported_ranges) {
		snprintf(err, errlen,
			 "DEV_WRITE_RECORD_CAP_QUERY: supported_ranges is 0 (the device must "
			 "support a range)");
		return -EPROTO;
	}
	return 0;
}

int ms_virtio_admin__wr_read(const struct ms_virtio_admin_res *r, size_t max_records,
			     uint32_t *count, uint32_t *usable, char *err, size_t errlen)
{
	size_t written = r->result_len / 8, fit = written < max_records ? written : max_records;

	*count = r->output;
	*usable = *count < fit ? *count : (uint32_t)fit;
	if (*count > max_records) {
		snprintf(err, errlen,
			 "DEV_WRITE_RECORDS_READ: count %u is more than the %zu records the buffer "
			 "holds",
			 *count, max_records);
		return -EPROTO;
	}
	if (*count > written) {
		snprintf(err, errlen,
			 "DEV_WRITE_RECORDS_READ: count %u is more than the %zu records the device "
			 "wrote",
			 *count, written);
		return -EPROTO;
	}
	return 0;
}

size_t ms_virtio_admin__wr_start_data(uint8_t *buf, size_t cap, uint64_t page_size,
				      const uint64_t *addr, const uint64_t *pages, uint32_t n)
{
	size_t len = MS_VIRTIO_WR_START_HDR_LEN + (size_t)n * MS_VIRTIO_WR_ENTRY_LEN;

	if (len > cap)
		return 0;
	memset(buf, 0, MS_VIRTIO_WR_START_HDR_LEN);
	ms_put_le64(buf, page_size);
	ms_put_le32(buf + 8, n);
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *e = buf + MS_VIRTIO_WR_START_HDR_LEN + (size_t)i * MS_VIRTIO_WR_ENTRY_LEN;

		ms_put_le64(e, addr[i]);
		ms_put_le64(e + 8, pages[i]);
	}
	return len;
}

static const struct ms_virtio_field *find_field(const struct ms_virtio_field *s, size_t n,
						uint16_t type)
{
	for (size_t i = 0; i < n; i++)
		if (s[i].type == type)
			return &s[i];
	return NULL;
}

/* Structure of the types migscope knows; value is length bytes. */
static int check_known(const struct ms_virtio_ctx_field *f, uint32_t i, char *err, size_t errlen)
{
	switch (f->type) {
	case MS_VIRTIO_CTX_DEV_FEATURES:
		if (f->length % 8 == 0)
			return 0;
		snprintf(err, errlen,
			 "device context: field %u (DEV_FEATURES): length %llu is not a whole "
			 "number of le64 words",
			 i, (unsigned long long)f->length);
		return -EPROTO;
	case MS_VIRTIO_CTX_PCI_VQ_CFG:
		if (f->length >= MS_VIRTIO_CTX_VQ_CFG_LEN)
			return 0;
		break;
	case MS_VIRTIO_CTX_VQ_SPLIT_RUNTIME_CFG:
		if (f->length >= MS_VIRTIO_CTX_VQ_RUNTIME_LEN)
			return 0;
		break;
	case MS_VIRTIO_CTX_VQ_SPLIT_DEV_OWN_DESC:
		if (f->length >= MS_VIRTIO_CTX_OWN_DESC_MIN &&
		    f->length == MS_VIRTIO_CTX_OWN_DESC_MIN + 2ull * ms_get_le16(f->value + 2))
			return 0;
		snprintf(err, errlen,
			 "device context: field %u (VQ_SPLIT_DEV_OWN_DESC): length %llu does not "
			 "match desc_count %u",
			 i, (unsigned long long)f->length,
			 f->length >= 4 ? ms_get_le16(f->value + 2) : 0);
		return -EPROTO;
	default:
		return 0;
	}
	snprintf(
	    err, errlen,
	    "device context: field %u (type 0x%04x): length %llu is shorter than the structure", i,
	    f->type, (unsigned long long)f->length);
	return -EPROTO;
}

int ms_virtio_ctx__parse(const uint8_t *buf, size_t len, const struct ms_virtio_field *supported,
			 size_t nr_supported, ms_virtio_ctx_fn fn, void *ctx, char *err,
			 size_t errlen)
{
	uint32_t count;
	size_t off = 4;

	if (len < 4) {
		snprintf(err, errlen, "device context: field_count: %zu bytes, needs 4", len);
		return -EPROTO;
	}
	count = ms_get_le32(buf);
	for (uint32_t i = 0; i < count; i++) {
		struct ms_virtio_ctx_field f;
		const struct ms_virtio_field *s;
		int ret;

		if (len - off < MS_VIRTIO_CTX_TLV_HDR_LEN) {
			snprintf(err, errlen,
				 "device context: field %u of %u: header runs past the context "
				 "(%zu bytes left)",
				 i, count, len - off);
			return -EPROTO;
		}
		f.type = ms_get_le16(buf + off);
		f.length = ms_get_le64(buf + off + 8);
		off += MS_VIRTIO_CTX_TLV_HDR_LEN;
		f.value = buf + off;
		if (f.length > len - off) {
			snprintf(err, errlen,
				 "device context: field %u (type 0x%04x): length %llu runs past "
				 "the context (%zu bytes left)",
				 i, f.type, (unsigned long long)f.length, len - off);
			return -EPROTO;
		}
		if (supported) {
			s = find_field(supported, nr_supported, f.type);
			if (!s) {
				snprintf(err, errlen,
					 "device context: field %u: type 0x%04x is not in the "
					 "supported-fields query",
					 i, f.type);
				return -EPROTO;
			}
			if (f.type == MS_VIRTIO_CTX_VQ_SPLIT_DEV_OWN_DESC ? f.length > s->length
									  : f.length != s->length) {
				snprintf(err, errlen,
					 "device context: field %u (type 0x%04x): length %llu, the "
					 "supported-fields query says %llu",
					 i, f.type, (unsigned long long)f.length,
					 (unsigned long long)s->length);
				return -EPROTO;
			}
		}
		ret = check_known(&f, i, err, errlen);
		if (ret)
			return ret;
		if (fn) {
			ret = fn(ctx, &f, i);
			if (ret)
				return ret;
		}
		off += (size_t)f.length;
	}
	if (off != len) {
		snprintf(err, errlen, "device context: %zu bytes after the last of %u fields",
			 len - off, count);
		return -EPROTO;
	}
	return 0;
}
