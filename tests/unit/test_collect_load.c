// SPDX-License-Identifier: GPL-2.0-only
/*
 * One BPF program the verifier refuses takes down only itself, and the reason
 * kept is the verifier's own: the reason parser against the log Linux 6.12
 * wrote for the old vfio_mig_get_next_state program (seen in the VM lane), and the load loop in
 * this machine's kernel against an object with one program it refuses.
 */
#include <errno.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "../bpf/kmem.h"
#include "../../src/sources/collect_int.h"
#include "reject.skel.h"
#include "testutil.h"

/*
 * What Linux 6.12.118's verifier wrote for the old program, which loaded the
 * enum pointer through BPF_PROG (VM lane, the old vfio.bpf.o loaded with
 * bpftool -d).
 */
static const char log_612[] =
    "func#0 @0\n"
    "0: R1=ctx() R10=fp0\n"
    "; int BPF_PROG(vfio_mig_get_next_state, struct vfio_device___ms *vdev, __u32 cur, "
    "__u32 new_state, @ vfio.bpf.c:117\n"
    "0: (79) r2 = *(u64 *)(r1 +24)\n"
    "func 'vfio_mig_get_next_state' arg3 type ENUM is not a struct\n"
    "invalid bpf_context access off=24 size=8\n"
    "verification time 1661 usec\n"
    "stack depth 0\n"
    "processed 1 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 "
    "mark_read 0\n";

static void the_reason_is_the_last_meaningful_lines_of_the_verifier_log(void **state)
{
	char out[200];

	ms_load__verifier_reason(log_612, out, sizeof(out));
	assert_string_equal(out, "func 'vfio_mig_get_next_state' arg3 type ENUM is not a struct / "
				 "invalid bpf_context access off=24 size=8");
	ms_load__verifier_reason("only one line\n\n", out, sizeof(out));
	assert_string_equal(out, "only one line");
	ms_load__verifier_reason("", out, sizeof(out));
	assert_string_equal(out, "");
	ms_load__verifier_reason("processed 3 insns\n", out, sizeof(out));
	assert_string_equal(out, "");
	/* truncated, never overrun */
	ms_load__verifier_reason(log_612, out, 20);
	assert_true(strlen(out) < 20);
}

static int load_skel(void *skel)
{
	return bpf_object__load_skeleton(skel);
}

static void a_refused_program_takes_down_only_itself(void **state)
{
	const char *why = kmem_bpf_unavailable();
	struct ms_rejects rej = { 0 };
	struct reject_bpf *skel;
	int err, attempts = 0;

	if (why) {
		tu_skip(why);
		return;
	}
	ms_bpf__init_libbpf();
	do {
		skel = reject_bpf__open();
		assert_non_null(skel);
		ms_load__apply(skel->obj, &rej);
		err = ms_load__try(skel->obj, load_skel, skel->skeleton, &rej);
		if (err)
			reject_bpf__destroy(skel);
		attempts++;
	} while (err == -EAGAIN && attempts < 5);
	assert_int_equal(err, 0);
	assert_int_equal(attempts, 2);
	assert_int_equal(rej.nr, 1);
	assert_string_equal(rej.r[0].name, "refused");
	assert_non_null(strstr(rej.r[0].reason, "refused by the verifier: "));
	assert_non_null(strstr(rej.r[0].reason, "invalid mem access 'scalar'"));
	assert_string_equal(ms_load__reason(&rej, "refused"), rej.r[0].reason);
	assert_null(ms_load__reason(&rej, "accepted"));
	/* both others loaded and run */
	assert_true(bpf_program__fd(skel->progs.accepted) >= 0);
	assert_true(bpf_program__fd(skel->progs.accepted_too) >= 0);
	assert_true(bpf_program__fd(skel->progs.refused) < 0);
	{
		LIBBPF_OPTS(bpf_test_run_opts, ro);

		assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.accepted), &ro),
				 0);
		assert_int_equal(
		    bpf_prog_test_run_opts(bpf_program__fd(skel->progs.accepted_too), &ro), 0);
		assert_int_equal(skel->bss->runs, 3);
	}
	reject_bpf__destroy(skel);
}

/* The same object, loaded whole as before: one refusal took down every program. */
static void without_isolation_the_whole_object_fails(void **state)
{
	const char *why = kmem_bpf_unavailable();
	struct reject_bpf *skel;

	if (why) {
		tu_skip(why);
		return;
	}
	skel = reject_bpf__open();
	assert_non_null(skel);
	assert_true(reject_bpf__load(skel) < 0);
	assert_true(bpf_program__fd(skel->progs.accepted) < 0);
	reject_bpf__destroy(skel);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_reason_is_the_last_meaningful_lines_of_the_verifier_log),
		cmocka_unit_test(a_refused_program_takes_down_only_itself),
		cmocka_unit_test(without_isolation_the_whole_object_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
