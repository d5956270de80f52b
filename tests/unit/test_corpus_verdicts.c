// SPDX-License-Identifier: GPL-2.0-only
/*
 * The verdicts over the corpora of real QEMU migrations (tests/fixtures/corpus:
 * QEMU 7.2.22 and 10.0.2 under TCG; tests/fixtures/corpus-kvm: the same grid
 * under KVM, with the dirty rate QEMU measured), judged at every record, not
 * only at the 25/50/75 % marks scripts/corpus/score.sh scores:
 *
 *   - no verdict contradicts itself: its reason, its time to switchover, what
 *     would move against the threshold and the predicted downtime agree
 *     (tb_assert_report_consistent, as on generated series);
 *   - a run that never completes is never converging, for RAM or the VM,
 *     except before a limit change that was made to stop a run that would
 *     have completed (outcome.json limit_change.before "completes").
 *
 * Each run is imported with the CLI ($MIGSCOPE import), as a user would.
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "testproc.h"
#include "tmbuild.h"

struct tally {
	size_t runs, judged, by[MS_VERDICT_DIVERGING + 1]; /* the VM's verdicts */
};

/* Import one run of a corpus and judge it at the time of each of its records. */
static void judge_run(const char *corpus, const char *name, const char *tmp, struct tally *t)
{
	const char *migscope = getenv("MIGSCOPE") ? getenv("MIGSCOPE") : "build/san/migscope";
	char dir[512], src[600], dst[600], qmp[600], out[600], cap[600], err[600], who[700];
	struct tu_recorder rec = { 0 };
	struct tp_procs procs = { 0 };
	struct json_object *o, *x;
	const struct ms_event_hdr *ev;
	uint64_t t0 = 0, last = 0, change_ns = UINT64_MAX;
	int completes, before_completes;
	size_t off = 0, n = 0;

	snprintf(dir, sizeof(dir), "%s/%s", corpus, name);
	snprintf(out, sizeof(out), "%s/outcome.json", dir);
	o = json_object_from_file(out);
	if (!o)
		fail_msg("%s: not JSON", out);
	x = tu_json_get(o, "outcome");
	completes = x && !strcmp(json_object_get_string(x), "completed");
	x = tu_json_get(o, "limit_change.before");
	before_completes = x && !strcmp(json_object_get_string(x), "completes");
	x = tu_json_get(o, "limit_change.done_s");
	if (x)
		change_ns = (uint64_t)(json_object_get_double(x) * 1e9);

	snprintf(src, sizeof(src), "%s/src.log", dir);
	snprintf(dst, sizeof(dst), "%s/dst.log", dir);
	snprintf(qmp, sizeof(qmp), "%s/qmp.jsonl", dir);
	snprintf(cap, sizeof(cap), "%s/run.mscap", tmp);
	snprintf(err, sizeof(err), "%s/import.err", tmp);
	{
		char *argv[] = { (char *)migscope, "import", "--qemu-log", src, "--dst-qemu-log", dst,
				 "--qmp-transcript", qmp, "--record", cap, NULL };

		tp_expect_exit(&procs, tp_spawn(&procs, argv, &(struct tp_io){ .err = err }), 0,
			       60 * TP_SEC, err);
	}
	tp_read_capture(cap, &rec);

	while ((ev = tu_recorder__next(&rec, &off))) {
		struct ms_tm_report r;
		struct ms_session *s;
		uint64_t at;

		if (!n++)
			t0 = last = ev->ts_ns;
		/* one judgement per moment: records of one time (or earlier) add nothing new */
		if (n > 1 && ev->ts_ns <= last)
			continue;
		last = ev->ts_ns;
		at = ev->ts_ns - t0;
		s = tb_judge_at(&rec, ev->ts_ns, &r);
		for (uint32_t i = 0; i < r.nr; i++) {
			snprintf(who, sizeof(who), "%s/%s at %.3f s, device %u", corpus, name,
				 (double)at / 1e9, i);
			tb_assert_consistent(&r.dev[i].conv, r.vm.limit_ns, who);
		}
		snprintf(who, sizeof(who), "%s/%s at %.3f s", corpus, name, (double)at / 1e9);
		tb_assert_consistent(&r.vm.conv, r.vm.limit_ns, who);
		if (!completes && !(before_completes && at < change_ns)) {
			if (r.vm.conv.verdict == MS_VERDICT_CONVERGING)
				fail_msg("%s: the VM converging on a run that never completes: %s", who,
					 r.vm.conv.reason);
			for (uint32_t i = 0; i < r.nr; i++)
				if (r.dev[i].conv.verdict == MS_VERDICT_CONVERGING)
					fail_msg("%s: device %u converging on a run that never "
						 "completes: %s",
						 who, i, r.dev[i].conv.reason);
		}
		if (r.vm.conv.verdict <= MS_VERDICT_DIVERGING)
			t->by[r.vm.conv.verdict]++;
		t->judged++;
		ms_tm_report__free(&r);
		ms_session__free(s);
	}
	assert_true(n > 0);
	t->runs++;
	tu_recorder__free(&rec);
	json_object_put(o);
	unlink(cap);
	unlink(err);
}

static void judge_corpus(const char *corpus)
{
	struct tally t = { 0 };
	struct dirent **names;
	char tmp[64];
	int nr = scandir(corpus, &names, NULL, alphasort);

	if (nr < 0)
		fail_msg("%s: cannot list it", corpus);
	tp_mkdtemp(tmp, "verdicts");
	for (int i = 0; i < nr; i++) {
		char path[512];
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s/outcome.json", corpus, names[i]->d_name);
		f = names[i]->d_name[0] != '.' ? fopen(path, "r") : NULL;
		if (f) {
			fclose(f);
			judge_run(corpus, names[i]->d_name, tmp, &t);
		}
		free(names[i]);
	}
	free(names);
	tp_rmdir(tmp);
	/* issue 20 asks for at least 12 runs a corpus */
	assert_true(t.runs >= 12);
	print_message("%s: %zu runs judged at %zu moments, the VM %zu unknown, %zu converging, "
		      "%zu stalled, %zu diverging; none contradicted itself, none converging "
		      "on a run that never completes\n",
		      corpus, t.runs, t.judged, t.by[MS_VERDICT_UNKNOWN],
		      t.by[MS_VERDICT_CONVERGING], t.by[MS_VERDICT_STALLED],
		      t.by[MS_VERDICT_DIVERGING]);
}

static void tcg_corpus_at_every_record(void **state)
{
	(void)state;
	judge_corpus("tests/fixtures/corpus");
}

static void kvm_corpus_at_every_record(void **state)
{
	(void)state;
	judge_corpus("tests/fixtures/corpus-kvm");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tcg_corpus_at_every_record),
		cmocka_unit_test(kvm_corpus_at_every_record),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
