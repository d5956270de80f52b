// SPDX-License-Identifier: GPL-2.0-only
/*
 * QEMU's USDT probes (dtrace trace backend, provider "qemu"), one program per
 * probe, named like the probe.  Each hit becomes one struct ms_usdt_sample:
 * the arguments as numbers and the string arguments (device and section
 * names, state names) copied out of QEMU's memory.  What the arguments mean
 * depends on the QEMU version; the agent matches them against the trace log's
 * table of every version's layouts (qemu_trace.c).  Here we only need to
 * know which arguments are strings.
 */
#include "collect.bpf.h"
#include <bpf/usdt.bpf.h>

char LICENSE[] SEC("license") = "GPL";

#define S(i) (1u << (i))

/*
 * strs: the arguments that are strings; maybe: those that are strings in
 * some QEMU versions and numbers in others (a value below the first page
 * cannot be a string's address).
 */
static __always_inline int emit(struct pt_regs *ctx, __u32 probe, __u32 strs, __u32 maybe)
{
	struct ms_usdt_sample *e;
	int n = bpf_usdt_arg_cnt(ctx);
	__u32 j = 0;

	e = ms_reserve(sizeof(*e), MS_BPF_SLOT_NONE);
	if (!e)
		return 0;
	e->ts_ns = bpf_ktime_get_ns();
	e->probe = probe;
	e->tid = (__u32)bpf_get_current_pid_tgid();
	e->nargs = n < 0 ? 0 : (__u16)n;
	e->str_mask = 0;
	e->reserved = 0;
	for (int i = 0; i < MS_USDT_MAX_ARGS; i++) {
		long v = 0;

		if (i < n && bpf_usdt_arg(ctx, i, &v))
			v = 0;
		e->args[i] = v;
		if ((maybe & S(i)) && (unsigned long)v >= 4096)
			strs |= S(i);
		if (i < n && (strs & S(i)) && j < MS_USDT_MAX_STRS) {
			if (bpf_probe_read_user_str(e->str[j], MS_USDT_STR_LEN, (void *)v) < 0)
				e->str[j][0] = 0;
			e->str_mask |= S(i);
			j++;
		}
	}
	for (; j < MS_USDT_MAX_STRS; j++)
		e->str[j][0] = 0;
	MS_SUBMIT(e);
	return 0;
}

#define PROBE(id, name, strs, maybe)                                                               \
	SEC("usdt")                                                                                \
	int name(struct pt_regs *ctx)                                                              \
	{                                                                                          \
		return emit(ctx, MS_QP_##id, (strs), (maybe));                                     \
	}

/* 7.2 (v1): (name, int bits); 8.0-9.0: (name, state); 9.1+: (name, new_state, recover_state) */
PROBE(VFIO_MIGRATION_SET_STATE, vfio_migration_set_state, S(0) | S(2), S(1))
PROBE(VFIO_MIGRATION_SET_DEVICE_STATE, vfio_migration_set_device_state, S(0) | S(1), 0)
PROBE(VFIO_STATE_PENDING_EXACT, vfio_state_pending_exact, S(0), 0)
PROBE(VFIO_STATE_PENDING_ESTIMATE, vfio_state_pending_estimate, S(0), 0)
PROBE(VFIO_QUERY_PRECOPY_SIZE, vfio_query_precopy_size, S(0), 0)
PROBE(VFIO_QUERY_STOP_COPY_SIZE, vfio_query_stop_copy_size, S(0), 0)
PROBE(VFIO_SAVE_ITERATE, vfio_save_iterate, S(0), 0)
PROBE(SAVEVM_SECTION_START, savevm_section_start, S(0), 0)
PROBE(SAVEVM_SECTION_END, savevm_section_end, S(0), 0)
PROBE(VMSTATE_DOWNTIME_SAVE, vmstate_downtime_save, S(0) | S(1), 0)
PROBE(VMSTATE_DOWNTIME_LOAD, vmstate_downtime_load, S(0) | S(1), 0)
PROBE(VMSTATE_DOWNTIME_CHECKPOINT, vmstate_downtime_checkpoint, S(0), 0)
PROBE(MIGRATE_PENDING, migrate_pending, 0, 0)
PROBE(MIGRATE_PENDING_EXACT, migrate_pending_exact, 0, 0)
PROBE(MIGRATE_PENDING_ESTIMATE, migrate_pending_estimate, 0, 0)
