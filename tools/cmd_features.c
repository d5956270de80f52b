// SPDX-License-Identifier: GPL-2.0-only
/* migscope features: what every BPF collector can do on this kernel. */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include <migscope/collect.h>
#include <migscope/json.h>
#include <migscope/privs.h>
#include <migscope/libvirt.h>
#include <migscope/session.h>
#include <migscope/version.h>

#include "cli.h"
#include "commands.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: migscope features [--json] [-v]\n\n"
		   "List every BPF collector and what this kernel lets it do: attached (it\n"
		   "sees events now), loaded (verified, waiting for a target: the QEMU probes\n"
		   "attach to a QEMU process) or skipped, with the reason.  The collectors are\n"
		   "attached for a moment and detached again; nothing is recorded.\n\n"
		   "First the privileges: each capability the collectors need, whether it is\n"
		   "in the effective set and, for a missing one, what the kernel answered\n"
		   "(\"missing CAP_BPF: ...\"); without CAP_BPF and CAP_PERFMON no collector\n"
		   "loads and the exit status is 1.  Root has them; an unprivileged user can be\n"
		   "given them (README.md, \"Running without root\").  Last, the optional\n"
		   "features compiled in (as migscope -V lists them) and\n"
		   "whether watch --domain can reach libvirt: compiled in, and the default URI\n"
		   "($LIBVIRT_DEFAULT_URI, else qemu:///system) connected to read-only.\n\n"
		   "Options:\n"
		   "      --json          print the list as JSON\n"
		   "  -v, --verbose       libbpf messages on stderr\n"
		   "  -h, --help          this help\n"
		   "\nExamples:\n"
		   "  migscope features\n"
		   "  migscope features --json | jq '.summary'\n"
		   "  setpriv --reuid=USER --inh-caps +bpf,+perfmon --ambient-caps +bpf,+perfmon \\\n"
		   "      migscope features\n");
}

struct list {
	const struct ms_collector_status *st[2];
	size_t nr[2];
	struct ms_priv privs[MS_NR_PRIVS];
	int usable; /* the kernel lets this process load the collectors */
	/* watch --domain: libvirt compiled in and its default URI reachable */
	int libvirt_ok;
	char libvirt_version[32];
	char libvirt_why[MS_ERR_LEN];
};

static void probe_libvirt(struct list *l)
{
	l->libvirt_ok = !ms_libvirt_compiled(l->libvirt_version, sizeof(l->libvirt_version),
					     l->libvirt_why, sizeof(l->libvirt_why)) &&
			!ms_libvirt_probe(NULL, l->libvirt_why, sizeof(l->libvirt_why));
}

static const char *priv_state(const struct ms_priv *p)
{
	if (p->effective)
		return "present";
	return p->need == MS_PRIV_REQUIRED ? "missing" : "absent";
}

static void print_privs(const struct list *l)
{
	printf("%-15s %-8s %s\n", "CAPABILITY", "STATE", "NEEDED FOR");
	for (int i = 0; i < MS_NR_PRIVS; i++) {
		const struct ms_priv *p = &l->privs[i];

		printf("%-15s %-8s %s%s\n", p->name, priv_state(p),
		       p->need == MS_PRIV_OPTIONAL ? "optional: " : "", p->what);
	}
	/* the kernel's own word on each required one that is missing */
	for (int i = 0; i < MS_NR_PRIVS; i++) {
		const struct ms_priv *p = &l->privs[i];

		if (p->need != MS_PRIV_REQUIRED || (p->effective && !p->err))
			continue;
		if (!p->effective && p->err)
			printf("missing %s: %s: %s\n", p->name, p->probe, strerror(-p->err));
		else if (!p->effective)
			printf("not effective %s, yet %s was allowed (the kernel's policy)\n",
			       p->name, p->probe);
		else if (!l->privs[0].err) /* without a map nothing else could be asked */
			printf("%s is present, yet %s: %s\n", p->name, p->probe, strerror(-p->err));
	}
	printf("\n");
}

static void print_built(const struct list *l)
{
	if (l->libvirt_ok)
		printf("libvirt %s: available at %s (watch --domain)\n", l->libvirt_version,
		       ms_libvirt_default_uri());
	else
		printf("libvirt%s%s: unavailable: %s\n", l->libvirt_version[0] ? " " : "",
		       l->libvirt_version, l->libvirt_why);
	printf("\nCompiled in:");
	for (size_t i = 0; i < MS_NR_FEATURES; i++)
		printf(" %c%s", ms_features[i].on ? '+' : '-', ms_features[i].name);
	printf("\n");
}

static void count(const struct list *l, size_t counts[3])
{
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < l->nr[k]; i++)
			counts[l->st[k][i].state]++;
}

static int print_text(const struct list *l, const char *kernel)
{
	size_t counts[3] = { 0 };

	print_privs(l);
	if (!l->usable) {
		printf("Linux %s: no collector can load without the capabilities above\n", kernel);
		print_built(l);
		return fflush(stdout) ? cli_error("failed to write the list") : 0;
	}
	printf("%-10s %-32s %-44s %-9s %s\n", "GROUP", "COLLECTOR", "HOOK", "STATE", "REASON");
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < l->nr[k]; i++) {
			const struct ms_collector_status *st = &l->st[k][i];

			printf("%-10s %-32s %-44s ", st->group, st->name, st->hook);
			if (st->reason[0])
				printf("%-9s %s\n", ms_collector_state_name(st->state), st->reason);
			else
				printf("%s\n", ms_collector_state_name(st->state));
		}
	count(l, counts);
	printf("\nLinux %s: %zu attached, %zu loaded, %zu skipped\n", kernel,
	       counts[MS_COLLECTOR_ATTACHED], counts[MS_COLLECTOR_LOADED],
	       counts[MS_COLLECTOR_SKIPPED]);
	print_built(l);
	return fflush(stdout) ? cli_error("failed to write the list") : 0;
}

static int print_json(const struct list *l, const char *kernel)
{
	struct json_object *root = json_object_new_object(), *arr = json_object_new_array();
	struct json_object *sum = json_object_new_object(), *pa = json_object_new_array();
	struct json_object *built = json_object_new_object();
	struct json_object *lv;
	size_t counts[3] = { 0 };
	int err;

	ms_json_add(root, "kernel", json_object_new_string(kernel));
	for (int i = 0; i < MS_NR_PRIVS; i++) {
		const struct ms_priv *p = &l->privs[i];
		struct json_object *o = json_object_new_object();

		ms_json_add(o, "capability", json_object_new_string(p->name));
		ms_json_add(
		    o, "need",
		    json_object_new_string(p->need == MS_PRIV_REQUIRED ? "required" : "optional"));
		ms_json_add(o, "effective", json_object_new_boolean(p->effective));
		ms_json_add(o, "for", json_object_new_string(p->what));
		ms_json_add(o, "probe", p->probe ? json_object_new_string(p->probe) : NULL);
		ms_json_add(o, "kernel",
			    p->probe
				? json_object_new_string(p->err ? strerror(-p->err) : "allowed")
				: NULL);
		json_object_array_add(pa, o);
	}
	ms_json_add(root, "privileges", pa);
	ms_json_add(root, "bpf_usable", json_object_new_boolean(l->usable));
	for (size_t i = 0; i < MS_NR_FEATURES; i++)
		ms_json_add(built, ms_features[i].name, json_object_new_boolean(ms_features[i].on));
	ms_json_add(root, "compiled_in", built);
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < l->nr[k]; i++) {
			const struct ms_collector_status *st = &l->st[k][i];
			struct json_object *o = json_object_new_object();

			ms_json_add(o, "group", json_object_new_string(st->group));
			ms_json_add(o, "name", json_object_new_string(st->name));
			ms_json_add(o, "hook", json_object_new_string(st->hook));
			ms_json_add(o, "state",
				    json_object_new_string(ms_collector_state_name(st->state)));
			ms_json_add(o, "reason", json_object_new_string(st->reason));
			json_object_array_add(arr, o);
		}
	ms_json_add(root, "collectors", arr);
	count(l, counts);
	for (int s = 0; s < 3; s++)
		ms_json_add(sum, ms_collector_state_name(s), ms_json_u64(counts[s]));
	ms_json_add(root, "summary", sum);
	lv = json_object_new_object();
	ms_json_add(lv, "available", json_object_new_boolean(l->libvirt_ok));
	ms_json_add(lv, "version",
		    l->libvirt_version[0] ? json_object_new_string(l->libvirt_version) : NULL);
	ms_json_add(lv, "uri", json_object_new_string(ms_libvirt_default_uri()));
	ms_json_add(lv, "reason", l->libvirt_ok ? NULL : json_object_new_string(l->libvirt_why));
	ms_json_add(root, "libvirt", lv);
	err = cli_json_print(root);

	json_object_put(root);
	return err ? cli_error("failed to write the list: %s", strerror(-err)) : 0;
}

int do_features(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, CLI_OPT_JSON },
		{ "verbose", no_argument, NULL, CLI_OPT_VERBOSE },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct ms_session_opts sopts = { .argc = argc, .argv = argv };
	struct cli_output out = { 0 };
	struct ms_session *s;
	struct ms_collect *c;
	struct ms_usdt *u;
	struct utsname uts;
	struct list l = { 0 };
	char err[MS_ERR_LEN];
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return 0;
		}
		if (!cli_output_option(&out, opt, optarg))
			return cli_usage_error("features", "unknown or incomplete option '%s'",
					       argv[optind - 1]);
	}
	if (optind != argc)
		return cli_usage_error("features", "unexpected argument '%s'", argv[optind]);
	uname(&uts);
	ms_privs__check(l.privs);
	l.usable = ms_privs__bpf_usable(l.privs);
	probe_libvirt(&l);
	if (!l.usable) {
		/* the list names what is missing; the status says nothing could load */
		ret = out.json ? print_json(&l, uts.release) : print_text(&l, uts.release);
		return ret ? ret
			   : cli_error("no BPF collector can load here: see the capabilities "
				       "listed");
	}

	s = ms_session__new(&sopts, err, sizeof(err));
	if (!s)
		return cli_error("%s", err);
	ms_bpf__set_verbose(ms_verbose);
	ms_bpf__set_notes(NULL); /* the reasons are in the list */
	c = ms_collect__open(&s->stream, NULL, err, sizeof(err));
	if (!c) {
		ms_session__free(s);
		return cli_error("%s", err);
	}
	u = ms_usdt__open(&s->stream, 0, NULL, err, sizeof(err));
	if (!u) {
		ms_collect__close(c);
		ms_session__free(s);
		return cli_error("%s", err);
	}
	l.nr[0] = ms_collect__status(c, &l.st[0]);
	l.nr[1] = ms_usdt__status(u, &l.st[1]);
	ret = out.json ? print_json(&l, uts.release) : print_text(&l, uts.release);
	ms_usdt__close(u);
	ms_collect__close(c);
	ms_session__free(s);
	return ret;
}
