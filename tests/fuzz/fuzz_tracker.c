// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fuzz the dirty tracker: arbitrary sequences of the records it consumes
 * (device adds, tracking start/stop, IOMMU maps and unmaps, DMA writes,
 * losses, harvests), with any lengths, payloads and device ids, mixed with
 * exports and reports.  Nothing may crash, leak or hit undefined behaviour.
 * A second tracker takes the same records in batches (the ring and capture
 * readers' path, where it folds writes into extents) and must end with the
 * same report as the one fed record by record.
 *
 * Input: one flag byte (bit 0: keep the session's pages), then records, each
 * a 4-byte head (type selector, device selector, payload length) and that
 * many payload bytes (fewer at the end of the input).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/bus.h>
#include <migscope/devices.h>
#include <migscope/json.h>
#include <migscope/report.h>
#include <migscope/tracker.h>

static const uint16_t types[] = {
	MS_EV_DEV_ADD,	   MS_EV_TRACK_START, MS_EV_TRACK_STOP, MS_EV_IOMMU_MAP,
	MS_EV_IOMMU_UNMAP, MS_EV_DMA_WRITE,   MS_EV_LOSS,	MS_EV_HARVEST,
};

/* An export (and sometimes a read-and-clear) of a range the payload names. */
static void poke(struct ms_tracker *t, struct ms_bus *bus, uint32_t dev, const uint8_t *p, size_t n)
{
	uint64_t iova = 0, len = 0, bm[256];
	uint64_t ps = 4096ull << (n ? p[0] % 10 : 0);
	char err[256];

	if (n >= 17) {
		memcpy(&iova, p + 1, 8);
		memcpy(&len, p + 9, 8);
	}
	len %= 1ull << 40;
	if (ms_dirty_bitmap__words(len, ps) > 256)
		return;
	memset(bm, 0, sizeof(bm));
	if (n && p[0] & 0x80)
		ms_tracker__read_and_clear(t, bus, 0, dev, iova, len, ps, bm, 256, err,
					   sizeof(err));
	else
		ms_tracker__export(t, dev, iova, len, ps, bm, 256, err, sizeof(err));
}

/* The second tracker's pending batch: copies, zero-padded as the fuzzer's buffer is. */
struct pending_batch {
	const struct ms_event_hdr *ev[MS_BUS_BATCH];
	size_t n;
};

static void batch_flush(struct pending_batch *b, struct ms_bus *bus)
{
	ms_bus__publish_batch(bus, b->ev, b->n);
	for (size_t i = 0; i < b->n; i++)
		free((void *)b->ev[i]);
	b->n = 0;
}

static void batch_add(struct pending_batch *b, struct ms_bus *bus, const struct ms_event_hdr *h)
{
	struct ms_event_hdr *c = calloc(1, sizeof(*h) + (h->len > 64 ? h->len : 64));

	if (!c)
		abort();
	memcpy(c, h, sizeof(*h) + h->len);
	b->ev[b->n++] = c;
	if (b->n == MS_BUS_BATCH || h->ts_ns % 7 == 0) /* batches of many sizes */
		batch_flush(b, bus);
}

/* Both trackers' reports of dev must be the same. */
static void same_report(struct ms_tracker *t, struct ms_tracker *t2, uint32_t dev)
{
	struct json_object *a = ms_report__dirty_json(t, dev, 2ull << 20);
	struct json_object *b = ms_report__dirty_json(t2, dev, 2ull << 20);

	if ((a == NULL) != (b == NULL) ||
	    (a && strcmp(json_object_to_json_string(a), json_object_to_json_string(b)))) {
		fprintf(stderr, "device %u: record by record %s\nin batches %s\n", dev,
			a ? json_object_to_json_string(a) : "-",
			b ? json_object_to_json_string(b) : "-");
		abort();
	}
	json_object_put(a);
	json_object_put(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_Alignas(8) unsigned char buf[sizeof(struct ms_event_hdr) + UINT16_MAX];
	struct ms_event_hdr *h = (void *)buf;
	struct ms_devices devs;
	struct ms_ev_dev_add *a = (void *)buf;
	struct ms_dirty_summary sum;
	struct ms_tracker *t, *t2;
	struct ms_bus bus, bus2;
	struct pending_batch pb = { .n = 0 };
	size_t off = 1;
	char *text = NULL;
	size_t text_len = 0;
	FILE *f;

	if (!size)
		return 0;
	ms_devices__init(&devs);
	ms_bus__init(&bus);
	ms_devices__subscribe(&devs, &bus);
	t = ms_tracker__new();
	if (!t)
		return 0;
	ms_tracker__subscribe(t, &bus);
	ms_bus__init(&bus2);
	t2 = ms_tracker__new();
	if (!t2)
		abort();
	ms_tracker__subscribe(t2, &bus2);
	if (data[0] & 1) {
		ms_tracker__keep_session_pages(t);
		ms_tracker__keep_session_pages(t2);
	}

	while (off + 4 <= size) {
		uint16_t len = (uint16_t)(data[off + 2] | data[off + 3] << 8);
		uint8_t dsel = data[off + 1];
		size_t n;

		memset(buf, 0, sizeof(*h) + 64);
		h->type = types[data[off] % (sizeof(types) / sizeof(types[0]))];
		h->dev = dsel == 0xff ? MS_DEV_NONE : dsel % 4;
		h->ts_ns = off;
		off += 4;
		n = size - off < len ? size - off : len;
		memcpy(buf + sizeof(*h), data + off, n);
		h->len = (uint16_t)n;
		off += n;
		if (h->type == MS_EV_DEV_ADD && n >= MS_PAYLOAD_LEN(ms_ev_dev_add))
			a->name_len = (uint16_t)(n - MS_PAYLOAD_LEN(ms_ev_dev_add));
		if (data[off - n - 4] >= 0xf0) {
			batch_flush(&pb, &bus2);
			poke(t, &bus, h->dev, buf + sizeof(*h), n);
			poke(t2, &bus2, h->dev, buf + sizeof(*h), n);
		} else {
			ms_bus__publish(&bus, h);
			batch_add(&pb, &bus2, h);
		}
	}
	batch_flush(&pb, &bus2);

	for (uint32_t dev = 0; dev < 4; dev++) {
		same_report(t, t2, dev);
		ms_tracker__device_summary(t, dev, &sum);
	}
	f = open_memstream(&text, &text_len);
	if (f) {
		ms_report__print_dirty(t, &devs, f, MS_DEV_NONE, true);
		fclose(f);
	}
	free(text);
	ms_tracker__free(t);
	ms_devices__free(&devs);
	ms_tracker__free(t2);
	return 0;
}
