// SPDX-License-Identifier: GPL-2.0-only
/* migscope bitmap: the dirty tracker's view of a capture, per device and source. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <migscope/capture.h>
#include <migscope/json.h>
#include <migscope/parse.h>
#include <migscope/session.h>
#include <migscope/tracker.h>

#include "cli.h"
#include "commands.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: migscope bitmap CAPTURE [--device NAME] [--page-size SIZE] [--ranges] "
		"[--json]\n\n"
		"Replay a capture through the dirty tracker and print, per device: the pages it\n"
		"dirtied (per harvest window, summed, and distinct over the session) and those\n"
		"still pending, the pages each source\n"
		"reported, the cross-source check (pages one source reported and another\n"
		"missed), records outside the tracked ranges or the IOMMU-mapped set, and why\n"
		"pages were widened (losses, unmaps while tracking, bad records).  CAPTURE -\n"
		"reads standard input (a pipe).\n\n"
		"Options:\n"
		"  -d, --device NAME     only this device\n"
		"  -p, --page-size SIZE  also count the distinct pages at SIZE (4K, 64K, 2M, ...;\n"
		"                        a coarse page is dirty if any page in it is); --ranges\n"
		"                        uses it too (default: the device's tracking page size)\n"
		"  -r, --ranges          list the session's dirty IOVA ranges\n"
		"      --json            print JSON\n"
		"  -v, --verbose         debug messages on stderr\n"
		"  -h, --help            this help\n"
		"\nExamples:\n"
		"  migscope bitmap run.mscap\n"
		"  migscope bitmap run.mscap --device ref0 --page-size 2M --ranges\n"
		"  migscope bitmap run.mscap --json | jq '.devices[].dirty.discrepancies'\n"
		"  zcat run.mscap.gz | migscope bitmap -\n");
}

struct ranges_ctx {
	FILE *out;
	struct json_object *arr;
	unsigned int shift;
};

static int print_range(void *ctx, uint64_t first, uint64_t last)
{
	struct ranges_ctx *c = ctx;
	uint64_t iova = first << c->shift, len = (last - first + 1) << c->shift;

	if (c->arr) {
		struct json_object *o = json_object_new_object();
		char buf[24];

		snprintf(buf, sizeof(buf), "0x%" PRIx64, iova);
		ms_json_add(o, "iova", json_object_new_string(buf));
		ms_json_add(o, "length", ms_json_u64(len));
		json_object_array_add(c->arr, o);
	} else {
		fprintf(c->out, "    0x%016" PRIx64 "-0x%016" PRIx64 " %12" PRIu64 " pages\n", iova,
			iova + (len - 1), last - first + 1);
	}
	return 0;
}

/* The session's dirty ranges at page_size (0: the device's own), as text or into arr. */
static int list_ranges(const struct ms_session *s, uint32_t id, uint64_t page_size,
		       struct json_object *arr)
{
	struct ranges_ctx c = { stdout, arr, 0 };
	struct ms_dirty_summary sum;
	struct ms_dirty_bitmap bm;
	int ret;

	ms_tracker__device_summary(s->tracker, id, &sum);
	ms_dirty_bitmap__init(&bm, page_size ? page_size : sum.page_size, NULL, 0);
	c.shift = bm.shift;
	ret = ms_tracker__session_pages(s->tracker, id, &bm);
	if (!ret)
		ret =
		    ms_dirty_bitmap__for_each_run(&bm, 0, UINT64_MAX >> bm.shift, print_range, &c);
	ms_dirty_bitmap__free(&bm);
	return ret;
}

static int print_text(const struct ms_session *s, uint32_t id, uint64_t page_size, int ranges,
		      bool header)
{
	struct ms_dirty_summary sum;
	char b1[32], b2[32];

	ms_report__print_dirty(s->tracker, &s->devices, stdout, id, header);
	ms_tracker__device_summary(s->tracker, id, &sum);
	fprintf(stdout, "  distinct pages over the session: %" PRIu64 "\n", sum.distinct_pages);
	if (page_size) {
		struct json_object *o = ms_report__dirty_json(s->tracker, id, page_size), *c, *v;
		uint64_t n;

		json_object_object_get_ex(o, "converted", &c);
		json_object_object_get_ex(c, "distinct_pages", &v);
		n = (uint64_t)json_object_get_int64(v);
		fprintf(stdout, "  at page size %s: %" PRIu64 " distinct pages, %s\n",
			ms_fmt_bytes(page_size, b1, sizeof(b1)), n,
			ms_fmt_bytes(n * page_size, b2, sizeof(b2)));
		json_object_put(o);
	}
	if (ranges) {
		fprintf(stdout, "  dirty ranges over the session:\n");
		return list_ranges(s, id, page_size, NULL);
	}
	return 0;
}

int do_bitmap(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "page-size", required_argument, NULL, 'p' },
		{ "ranges", no_argument, NULL, 'r' },
		{ "json", no_argument, NULL, CLI_OPT_JSON },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct ms_session_opts sopts = { 0 };
	int salvaged;
	struct json_object *root = NULL, *devs = NULL;
	const char *path, *device = NULL, *why;
	struct ms_capture_reader *r;
	uint64_t page_size = 0;
	struct ms_session *s;
	char err[MS_ERR_LEN];
	int opt, json = 0, ranges = 0, ret = 0;
	uint32_t shown = 0, matched = 0, nr_ids;

	while ((opt = getopt_long(argc, argv, "d:p:rvh", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			return 0;
		case 'd':
			device = optarg;
			break;
		case 'p':
			if (ms_parse_size(optarg, &page_size))
				return cli_usage_error("bitmap", "--page-size: '%s' is not a size",
						       optarg);
			why = ms_dirty_bitmap__page_size_problem(page_size);
			if (why)
				return cli_usage_error("bitmap", "--page-size: '%s' %s", optarg,
						       why);
			break;
		case 'r':
			ranges = 1;
			break;
		case CLI_OPT_JSON:
			json = 1;
			break;
		case 'v':
			ms_verbose = 1;
			break;
		default:
			return cli_usage_error("bitmap", "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("bitmap", optind == argc ? "missing CAPTURE file"
								: "expected one CAPTURE file");
	path = argv[optind];

	r = ms_capture_reader__open(path, err, sizeof(err));
	if (!r)
		return cli_error("%s", err);
	sopts.info = ms_capture_reader__info(r);
	s = ms_session__new(&sopts, err, sizeof(err));
	if (!s) {
		ms_capture_reader__close(r);
		return cli_error("%s", err);
	}
	/* the distinct pages, for --page-size counts and --ranges */
	ms_tracker__keep_session_pages(s->tracker);
	salvaged = cli_replay_capture(r, path, &s->bus);
	ms_capture_reader__close(r);
	if (salvaged == 1) {
		ms_session__free(s);
		return 1;
	}

	if (json) {
		root = json_object_new_object();
		devs = json_object_new_array();
		ms_json_add(root, "capture", json_object_new_string(path));
		ms_json_add(root, "page_size", page_size ? ms_json_u64(page_size) : NULL);
		ms_json_add(root, "devices", devs);
	}
	/* every registered device, and the ids with records that no DEV_ADD named */
	nr_ids = s->devices.nr > ms_tracker__nr_ids(s->tracker) ? s->devices.nr
								: ms_tracker__nr_ids(s->tracker);
	for (uint32_t id = 0; id < nr_ids && !ret; id++) {
		const struct ms_device_info *info = ms_devices__get(&s->devices, id);
		struct ms_dirty_summary sum;
		char buf[32];
		const char *name = ms_devices__name(&s->devices, id, buf, sizeof(buf));
		bool known = !ms_tracker__device_summary(s->tracker, id, &sum);

		if ((!info && !known) || (device && strcmp(name, device)))
			continue;
		matched++;
		if (!known)
			continue;
		shown++;
		if (json) {
			struct json_object *o = json_object_new_object();

			ms_json_add(o, "id", json_object_new_int((int32_t)id));
			ms_json_add(o, "name", json_object_new_string(name));
			ms_json_add(o, "kind", json_object_new_string(info ? ms_dev_kind_name(info->kind)
									   : "unregistered"));
			ms_json_add(o, "dirty", ms_report__dirty_json(s->tracker, id, page_size));
			if (ranges) {
				struct json_object *arr = json_object_new_array();

				ms_json_add(o, "ranges", arr);
				ret = list_ranges(s, id, page_size, arr);
			}
			json_object_array_add(devs, o);
		} else {
			ret = print_text(s, id, page_size, ranges, shown == 1);
		}
	}
	if (ret) {
		cli_error("failed to list dirty ranges: %s", strerror(-ret));
	} else if (device && !matched) {
		ret = cli_error("%s: no device named '%s'", path, device);
	} else if (json) {
		int err2 = cli_json_print(root);

		if (err2)
			ret = cli_error("failed to write JSON: %s", strerror(-err2));
	} else if (!shown) {
		printf("%s: no dirty-tracking records%s%s\n", path, device ? " for " : "",
		       device ? device : "");
	}
	json_object_put(root);
	ms_session__free(s);
	if (!ret && fflush(stdout))
		return cli_error("failed to write output");
	return ret ? 1 : salvaged;
}
