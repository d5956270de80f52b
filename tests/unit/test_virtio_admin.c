// SPDX-License-Identifier: GPL-2.0-only
/* Encoding and strict decoding of the virtio admin commands and the device context. */
#include <errno.h>
#include <string.h>

#include <migscope/virtio_admin.h>

#include "testutil.h"

static void commands_are_encoded_little_endian_with_the_sriov_group(void **state)
{
	uint8_t buf[64], mode = MS_VIRTIO_MODE_FREEZE;
	const uint8_t want[25] = {
		0x08, 0x00,				  /* opcode DEV_MODE_SET */
		0x01, 0x00,				  /* group_type SR-IOV */
		0,    0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* reserved1[12] */
		0x34, 0x12, 0, 0, 0, 0, 0, 0,		  /* group_member_id 0x1234 */
		0x02,					  /* mode Freeze */
	};

	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(ms_virtio_admin__encode(buf, sizeof(buf), MS_VIRTIO_ADMIN_DEV_MODE_SET,
						 0x1234, &mode, 1),
			 25);
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(
	    ms_virtio_admin__encode(buf, 24, MS_VIRTIO_ADMIN_DEV_MODE_SET, 1, &mode, 1), 0);
}

static void write_record_opcodes_follow_the_opcode_table(void **state)
{
	char b[32];

	/* the seed's text says 0xd-0x10; its table 0x000f-0x0012; 0xd is DEV_CTX_DISCARD */
	assert_int_equal(MS_VIRTIO_ADMIN_DEV_CTX_DISCARD, 0x000d);
	assert_int_equal(MS_VIRTIO_ADMIN_DEV_WRITE_RECORD_CAP_QUERY, 0x000f);
	assert_int_equal(MS_VIRTIO_ADMIN_DEV_WRITE_RECORDS_START, 0x0010);
	assert_int_equal(MS_VIRTIO_ADMIN_DEV_WRITE_RECORDS_STOP, 0x0011);
	assert_int_equal(MS_VIRTIO_ADMIN_DEV_WRITE_RECORDS_READ, 0x0012);
	assert_string_equal(ms_virtio_admin_opcode_name(0x000f, b, sizeof(b)),
			    "DEV_WRITE_RECORD_CAP_QUERY");
	assert_string_equal(ms_virtio_admin_opcode_name(0x000e, b, sizeof(b)), "opcode 0x000e");
}

static void write_records_start_data_is_laid_out_as_the_seed_says(void **state)
{
	uint8_t buf[64];
	uint64_t addr[2] = { 0x100000000ull, 0x200000000ull }, pages[2] = { 16, 0x10000 };

	assert_int_equal(ms_virtio_admin__wr_start_data(buf, sizeof(buf), 4096, addr, pages, 2),
			 48);
	assert_int_equal(ms_get_le64(buf), 4096);
	assert_int_equal(ms_get_le32(buf + 8), 2);
	assert_int_equal(ms_get_le32(buf + 12), 0); /* reserved */
	assert_int_equal(ms_get_le64(buf + 16), addr[0]);
	assert_int_equal(ms_get_le64(buf + 24), 16);
	assert_int_equal(ms_get_le64(buf + 32), addr[1]);
	assert_int_equal(ms_get_le64(buf + 40), 0x10000);
	assert_int_equal(ms_virtio_admin__wr_start_data(buf, 40, 4096, addr, pages, 2), 0);
}

static void a_result_longer_than_its_buffer_or_shorter_than_its_status_is_refused(void **state)
{
	uint8_t res[16] = { 0 };
	struct ms_virtio_admin_res r;
	char err[200];

	assert_int_equal(ms_virtio_admin__decode_res(res, 17, 16, &r, err, sizeof(err)), -EPROTO);
	assert_string_equal(err, "result: device wrote 17 bytes into a 16-byte buffer");
	assert_int_equal(ms_virtio_admin__decode_res(res, 7, 16, &r, err, sizeof(err)), -EPROTO);
	ms_virtio_admin__encode_res(res, 22, 3, 0x01020304);
	assert_int_equal(ms_virtio_admin__decode_res(res, 12, 16, &r, err, sizeof(err)), 0);
	assert_int_equal(r.status, 22);
	assert_int_equal(r.qualifier, 3);
	assert_int_equal(r.output, 0x01020304);
	assert_int_equal(r.result_len, 4);
}

static struct ms_virtio_admin_res res_of(const uint8_t *result, size_t len, uint32_t output)
{
	struct ms_virtio_admin_res r = { .output = output, .result = result, .result_len = len };

	return r;
}

static void an_unknown_mode_names_the_command_and_field(void **state)
{
	uint8_t v = 3, mode;
	struct ms_virtio_admin_res r = res_of(&v, 1, 0);
	char err[200];

	assert_int_equal(ms_virtio_admin__mode(&r, &mode, err, sizeof(err)), -EPROTO);
	assert_string_equal(err, "DEV_MODE_GET: mode 3 is not Active (0), Stop (1) or Freeze (2)");
	r.result_len = 0;
	assert_int_equal(ms_virtio_admin__mode(&r, &mode, err, sizeof(err)), -EPROTO);
	v = 2;
	r.result_len = 1;
	assert_int_equal(ms_virtio_admin__mode(&r, &mode, err, sizeof(err)), 0);
	assert_int_equal(mode, MS_VIRTIO_MODE_FREEZE);
}

static void a_context_length_beyond_the_buffer_or_the_written_bytes_is_refused(void **state)
{
	uint8_t data[100] = { 0 };
	struct ms_virtio_admin_res r = res_of(data, 100, 101);
	uint32_t n;
	char err[200];

	assert_int_equal(ms_virtio_admin__ctx_read(&r, 4096, &n, err, sizeof(err)), -EPROTO);
	assert_string_equal(
	    err, "DEV_CTX_READ: context_len 101 is more than the 100 bytes the device wrote");
	r.output = 5000;
	assert_int_equal(ms_virtio_admin__ctx_read(&r, 4096, &n, err, sizeof(err)), -EPROTO);
	assert_string_equal(err,
			    "DEV_CTX_READ: context_len 5000 is more than the 4096 bytes requested");
	r.output = 60;
	assert_int_equal(ms_virtio_admin__ctx_read(&r, 4096, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 60);
}

static void a_record_count_beyond_the_buffer_keeps_the_records_that_are_there(void **state)
{
	uint8_t recs[32] = { 0 };
	struct ms_virtio_admin_res r = res_of(recs, 32, 9);
	uint32_t count, usable;
	char err[200];

	assert_int_equal(ms_virtio_admin__wr_read(&r, 4, &count, &usable, err, sizeof(err)),
			 -EPROTO);
	assert_string_equal(
	    err, "DEV_WRITE_RECORDS_READ: count 9 is more than the 4 records the buffer holds");
	assert_int_equal(usable, 4);
	r = res_of(recs, 24, 4);
	assert_int_equal(ms_virtio_admin__wr_read(&r, 8, &count, &usable, err, sizeof(err)),
			 -EPROTO);
	assert_string_equal(
	    err, "DEV_WRITE_RECORDS_READ: count 4 is more than the 3 records the device wrote");
	assert_int_equal(usable, 3);
	r = res_of(recs, 24, 2);
	assert_int_equal(ms_virtio_admin__wr_read(&r, 8, &count, &usable, err, sizeof(err)), 0);
	assert_int_equal(count, 2);
	assert_int_equal(usable, 2);
}

static void capabilities_without_a_page_size_or_a_range_are_refused(void **state)
{
	uint8_t v[8] = { 0 };
	struct ms_virtio_admin_res r = res_of(v, 8, 0);
	struct ms_virtio_wr_cap cap;
	char err[200];

	ms_put_le32(v + 4, 4);
	assert_int_equal(ms_virtio_admin__wr_cap(&r, &cap, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "supported_page_size_bitmap is 0"));
	ms_put_le32(v, 1);
	ms_put_le32(v + 4, 0);
	assert_int_equal(ms_virtio_admin__wr_cap(&r, &cap, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "supported_ranges is 0"));
	ms_put_le32(v + 4, 4);
	assert_int_equal(ms_virtio_admin__wr_cap(&r, &cap, err, sizeof(err)), 0);
	assert_int_equal(cap.supported_ranges, 4);
	r.result_len = 7;
	assert_int_equal(ms_virtio_admin__wr_cap(&r, &cap, err, sizeof(err)), -EPROTO);
}

static void supported_fields_must_be_whole_entries_without_duplicates(void **state)
{
	uint8_t v[48] = { 0 };
	struct ms_virtio_admin_res r = res_of(v, 40, 0);
	struct ms_virtio_field f[MS_VIRTIO_MAX_FIELDS];
	size_t n;
	char err[200];

	assert_int_equal(ms_virtio_admin__fields(&r, f, &n, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "40 bytes is not a whole number of 16-byte entries"));
	ms_put_le16(v, 0x2);
	ms_put_le64(v + 8, 30);
	ms_put_le16(v + 16, 0x1000);
	ms_put_le64(v + 24, 12);
	ms_put_le16(v + 32, 0x2);
	r.result_len = 48;
	assert_int_equal(ms_virtio_admin__fields(&r, f, &n, err, sizeof(err)), -EPROTO);
	assert_string_equal(err, "DEV_CTX_FIELDS_QUERY: fields[2]: type 0x0002 listed twice");
	r.result_len = 32;
	assert_int_equal(ms_virtio_admin__fields(&r, f, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(f[1].type, 0x1000);
	assert_int_equal(f[1].length, 12);
}

/* A small context: a VQ_CFG (30 bytes) and a DEV_OWN_DESC with 2 descriptors. */
static size_t build_ctx(uint8_t *b, uint64_t vq_len, uint16_t ndesc)
{
	size_t off = 4;

	memset(b, 0, 256);
	ms_put_le32(b, 2);
	ms_put_le16(b + off, MS_VIRTIO_CTX_PCI_VQ_CFG);
	ms_put_le64(b + off + 8, vq_len);
	off += 16 + 30;
	ms_put_le16(b + off, MS_VIRTIO_CTX_VQ_SPLIT_DEV_OWN_DESC);
	ms_put_le64(b + off + 8, 4 + 2 * 2);
	ms_put_le16(b + off + 16 + 2, ndesc);
	off += 16 + 8;
	return off;
}

static const struct ms_virtio_field sup[] = {
	{ MS_VIRTIO_CTX_PCI_VQ_CFG, 30 },
	{ MS_VIRTIO_CTX_VQ_SPLIT_DEV_OWN_DESC, 4 + 2 * 16 },
};

static int count_fields(void *ctx, const struct ms_virtio_ctx_field *f, uint32_t i)
{
	(*(int *)ctx)++;
	return 0;
}

static void a_valid_context_parses_field_by_field(void **state)
{
	uint8_t b[256];
	size_t len = build_ctx(b, 30, 2);
	char err[200];
	int n = 0;

	assert_int_equal(ms_virtio_ctx__parse(b, len, sup, 2, count_fields, &n, err, sizeof(err)),
			 0);
	assert_int_equal(n, 2);
}

static void a_tlv_running_past_the_context_names_the_field(void **state)
{
	uint8_t b[256];
	size_t len = build_ctx(b, 30, 2);
	char err[200];

	ms_put_le64(b + 4 + 8, 1000);
	assert_int_equal(ms_virtio_ctx__parse(b, len, sup, 2, NULL, NULL, err, sizeof(err)),
			 -EPROTO);
	assert_string_equal(err, "device context: field 0 (type 0x0002): length 1000 runs past the "
				 "context (54 bytes left)");
	/* a header that does not fit either */
	ms_put_le64(b + 4 + 8, 30);
	assert_int_equal(
	    ms_virtio_ctx__parse(b, 4 + 16 + 30 + 10, sup, 2, NULL, NULL, err, sizeof(err)),
	    -EPROTO);
	assert_string_equal(
	    err, "device context: field 1 of 2: header runs past the context (10 bytes left)");
	/* more fields announced than present */
	ms_put_le32(b, 3);
	assert_int_equal(ms_virtio_ctx__parse(b, len, sup, 2, NULL, NULL, err, sizeof(err)),
			 -EPROTO);
	/* and bytes left over */
	ms_put_le32(b, 1);
	assert_int_equal(ms_virtio_ctx__parse(b, len, sup, 2, NULL, NULL, err, sizeof(err)),
			 -EPROTO);
	assert_string_equal(err, "device context: 24 bytes after the last of 1 fields");
}

static void a_field_length_the_fields_query_disagrees_with_is_refused(void **state)
{
	uint8_t b[256];
	size_t len = build_ctx(b, 32, 2);
	char err[200];

	/* the structure with natural padding (32) where the device's fields query says 30 */
	memmove(b + 4 + 16 + 32, b + 4 + 16 + 30, len - (4 + 16 + 30));
	len += 2;
	assert_int_equal(ms_virtio_ctx__parse(b, len, sup, 2, NULL, NULL, err, sizeof(err)),
			 -EPROTO);
	assert_string_equal(
	    err,
	    "device context: field 0 (type 0x0002): length 32, the supported-fields query says 30");
	/* without the query only the structure is checked, and 32 >= 30 is fine */
	assert_int_equal(ms_virtio_ctx__parse(b, len, NULL, 0, NULL, NULL, err, sizeof(err)), 0);
}

static void a_field_the_device_does_not_support_is_refused(void **state)
{
	uint8_t b[256];
	size_t len = build_ctx(b, 30, 2);
	char err[200];

	ms_put_le16(b + 4, 0x0042);
	assert_int_equal(ms_virtio_ctx__parse(b, len, sup, 2, NULL, NULL, err, sizeof(err)),
			 -EPROTO);
	assert_string_equal(
	    err, "device context: field 0: type 0x0042 is not in the supported-fields query");
}

static void owned_descriptors_must_match_their_count(void **state)
{
	uint8_t b[256];
	size_t len = build_ctx(b, 30, 3);
	char err[200];

	assert_int_equal(ms_virtio_ctx__parse(b, len, sup, 2, NULL, NULL, err, sizeof(err)),
			 -EPROTO);
	assert_string_equal(err, "device context: field 1 (VQ_SPLIT_DEV_OWN_DESC): length 8 does "
				 "not match desc_count 3");
	assert_int_equal(ms_virtio_ctx__parse(b, 3, sup, 2, NULL, NULL, err, sizeof(err)), -EPROTO);
	assert_string_equal(err, "device context: field_count: 3 bytes, needs 4");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(commands_are_encoded_little_endian_with_the_sriov_group),
		cmocka_unit_test(write_record_opcodes_follow_the_opcode_table),
		cmocka_unit_test(write_records_start_data_is_laid_out_as_the_seed_says),
		cmocka_unit_test(
		    a_result_longer_than_its_buffer_or_shorter_than_its_status_is_refused),
		cmocka_unit_test(an_unknown_mode_names_the_command_and_field),
		cmocka_unit_test(
		    a_context_length_beyond_the_buffer_or_the_written_bytes_is_refused),
		cmocka_unit_test(a_record_count_beyond_the_buffer_keeps_the_records_that_are_there),
		cmocka_unit_test(capabilities_without_a_page_size_or_a_range_are_refused),
		cmocka_unit_test(supported_fields_must_be_whole_entries_without_duplicates),
		cmocka_unit_test(a_valid_context_parses_field_by_field),
		cmocka_unit_test(a_tlv_running_past_the_context_names_the_field),
		cmocka_unit_test(a_field_length_the_fields_query_disagrees_with_is_refused),
		cmocka_unit_test(a_field_the_device_does_not_support_is_refused),
		cmocka_unit_test(owned_descriptors_must_match_their_count),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
