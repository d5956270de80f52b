// SPDX-License-Identifier: GPL-2.0-only
/* migscope capture: check a capture file, repair one that was cut short. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <migscope/capture.h>
#include <migscope/json.h>

#include "cli.h"
#include "commands.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: migscope capture check FILE [--json]\n"
		   "       migscope capture repair FILE -o OUT [--force]\n\n"
		   "check: read every chunk of FILE (and the rotated parts after it) and say\n"
		   "whether it is complete, cut short (its valid prefix replays; exit 3) or\n"
		   "damaged (exit 1), with the record counts, the stream time it covers and the\n"
		   "first damage.\n\n"
		   "repair: write FILE's valid prefix to OUT with a proper end marker, so every\n"
		   "command reads OUT as a complete capture.  Damage inside the prefix is\n"
		   "refused unless --force, which keeps the records before it.\n\n"
		   "Options:\n"
		   "      --json          check: the result as JSON\n"
		   "  -o, --output OUT    repair: the file to write (mode 0600)\n"
		   "      --force         repair: keep the records before damage too\n"
		   "  -h, --help          this help\n\n"
		   "Exit status: 0 complete (check) or repaired (repair), 1 damaged or failed,\n"
		   "2 usage, 3 cut short (check).\n\n"
		   "Examples:\n"
		   "  migscope capture check k.mscap\n"
		   "  migscope capture check k.mscap --json | jq .verdict\n"
		   "  migscope capture repair k.mscap -o k-fixed.mscap && migscope replay "
		   "k-fixed.mscap\n");
}

struct counts {
	uint64_t by_type[MS_EV__MAX + 1]; /* the last slot: types this build does not know */
};

static void count(void *ctx, const struct ms_event_hdr *ev)
{
	struct counts *c = ctx;

	c->by_type[ev->type < MS_EV__MAX ? ev->type : MS_EV__MAX]++;
}

static int do_check(const char *path, int json)
{
	static struct counts c;
	struct ms_capture_reader *r;
	struct ms_replay_stats st = { 0 };
	char err[MS_ERR_LEN] = "";
	const char *verdict;
	struct ms_bus bus;
	int ret, code;

	memset(&c, 0, sizeof(c));
	r = ms_capture_reader__open(path, err, sizeof(err));
	if (!r)
		return cli_error("%s", err);
	ms_bus__init(&bus);
	ms_bus__subscribe(&bus, MS_EV_ALL, count, &c);
	ret = ms_capture_reader__replay_parts(r, path, &bus, 1, &st, err, sizeof(err));
	ms_capture_reader__close(r);
	verdict = ret == 0 ? "complete" : ret == MS_CAPTURE_SALVAGED ? "cut short" : "damaged";
	code = ret == 0 ? 0 : ret == MS_CAPTURE_SALVAGED ? EXIT_SALVAGED : 1;

	if (json) {
		struct json_object *o = json_object_new_object(), *t = json_object_new_object();

		ms_json_add(o, "capture", json_object_new_string(path));
		ms_json_add(o, "verdict", json_object_new_string(verdict));
		ms_json_add(o, "parts", ms_json_u64(st.parts));
		ms_json_add(o, "records", ms_json_u64(st.events));
		ms_json_add(o, "chunks", ms_json_u64(st.chunks));
		ms_json_add(o, "valid_bytes", ms_json_u64(st.valid_end));
		ms_json_add(o, "first_ns", st.events ? ms_json_u64(st.first_ts) : NULL);
		ms_json_add(o, "last_ns", st.events ? ms_json_u64(st.last_ts) : NULL);
		ms_json_add(o, "span_ns", ms_json_u64(st.events ? st.last_ts - st.first_ts : 0));
		for (unsigned int i = 0; i <= MS_EV__MAX; i++)
			if (c.by_type[i])
				ms_json_add(t, i < MS_EV__MAX ? ms_event_type_name(i) : "unknown",
					    ms_json_u64(c.by_type[i]));
		ms_json_add(o, "by_type", t);
		ms_json_add(o, "damage", ret ? json_object_new_string(err) : NULL);
		if (cli_json_print(o))
			code = cli_error("failed to write JSON");
		json_object_put(o);
	} else {
		printf("%s: %s\n", path, verdict);
		printf("  records   %llu in %llu chunks%s, %llu valid bytes\n",
		       (unsigned long long)st.events, (unsigned long long)st.chunks,
		       st.parts > 1 ? " over every part" : "", (unsigned long long)st.valid_end);
		if (st.parts > 1)
			printf("  parts     %u\n", st.parts);
		if (st.events)
			printf("  time      %.9f s to %.9f s (%.3f s of stream time)\n",
			       (double)st.first_ts / 1e9, (double)st.last_ts / 1e9,
			       (double)(st.last_ts - st.first_ts) / 1e9);
		for (unsigned int i = 0; i <= MS_EV__MAX; i++)
			if (c.by_type[i])
				printf("  %-16s %llu\n",
				       i < MS_EV__MAX ? ms_event_type_name(i) : "unknown",
				       (unsigned long long)c.by_type[i]);
		if (ret)
			printf("  damage    %s\n", err);
	}
	if (fflush(stdout))
		return cli_error("failed to write output");
	return code;
}

static int do_repair(const char *in, const char *out, int force)
{
	struct ms_replay_stats st = { 0 };
	char err[MS_ERR_LEN] = "";
	int complete, ret = ms_capture__repair(in, out, force, &st, &complete, err, sizeof(err));

	if (ret)
		return cli_error("%s", err);
	if (complete)
		fprintf(stderr, "migscope: %s was complete; copied to %s\n", in, out);
	else
		fprintf(stderr,
			"migscope: %s: kept %llu records (%.3f s of stream time) up to offset %llu "
			"(%s); wrote %s\n",
			in, (unsigned long long)st.events,
			st.events ? (double)(st.last_ts - st.first_ts) / 1e9 : 0.0,
			(unsigned long long)st.valid_end, err, out);
	return 0;
}

int do_capture(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, CLI_OPT_JSON },
		{ "output", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *out = NULL, *sub;
	int opt, json = 0, force = 0;

	while ((opt = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			return 0;
		case CLI_OPT_JSON:
			json = 1;
			break;
		case 'o':
			out = optarg;
			break;
		case 'f':
			force = 1;
			break;
		default:
			return cli_usage_error("capture", "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind == argc)
		return cli_usage_error("capture", "missing 'check' or 'repair'");
	sub = argv[optind];
	if (argc - optind != 2)
		return cli_usage_error("capture", "%s needs one capture FILE", sub);
	if (!strcmp(sub, "check")) {
		if (out || force)
			return cli_usage_error("capture", "-o and --force are for repair");
		return do_check(argv[optind + 1], json);
	}
	if (!strcmp(sub, "repair")) {
		if (!out)
			return cli_usage_error("capture", "repair needs -o OUT");
		if (json)
			return cli_usage_error("capture", "--json is for check");
		return do_repair(argv[optind + 1], out, force);
	}
	return cli_usage_error("capture", "unknown subcommand '%s' (check, repair)", sub);
}
