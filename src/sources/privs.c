// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the collectors need from the kernel besides a BPF-capable kernel:
 * CAP_BPF for maps and programs, CAP_PERFMON for tracing programs (raw_tp,
 * tp_btf, fentry/fexit and the uprobes under USDT), and CAP_SYS_PTRACE only
 * to reach a QEMU run by another user through /proc/PID/exe.  QMP sockets and
 * VFIO device files are a matter of file permissions, not capabilities;
 * RLIMIT_MEMLOCK (CAP_SYS_RESOURCE) only mattered before Linux 5.11, when BPF
 * memory was not charged to the cgroup, and the DMA tracepoints need 6.12.
 */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/capability.h>

#include <migscope/privs.h>

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

/* The effective set, both words; capget(2) rather than a library for two words. */
static int effective_caps(__u64 *eff)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = { 0 };

	*eff = 0;
	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	*eff = (__u64)data[1].effective << 32 | data[0].effective;
	return 0;
}

static int has(__u64 eff, int cap)
{
	return cap < 64 && (eff >> cap) & 1;
}

/* CAP_BPF: may this process create a map? */
static int probe_map(void)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "ms_priv", 4, 4, 1, NULL);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* CAP_PERFMON: may it load a tracing program (raw_tp, as the collectors are)? */
static int probe_tracing(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_RAW_TRACEPOINT, "ms_priv", "GPL", insns, 2, NULL);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

int ms_privs__check(struct ms_priv p[MS_NR_PRIVS])
{
	__u64 eff;
	int err = effective_caps(&eff), admin;

	admin = has(eff, CAP_SYS_ADMIN); /* what BPF and PERFMON were split from (5.8) */
	p[0] = (struct ms_priv){
		.name = "CAP_BPF",
		.cap = CAP_BPF,
		.need = MS_PRIV_REQUIRED,
		.what = "BPF maps and programs: every collector",
		.effective = has(eff, CAP_BPF) || admin,
		.probe = "bpf(BPF_MAP_CREATE)",
		.err = probe_map(),
	};
	p[1] = (struct ms_priv){
		.name = "CAP_PERFMON",
		.cap = CAP_PERFMON,
		.need = MS_PRIV_REQUIRED,
		.what = "tracing programs (raw_tp, tp_btf, fentry, USDT): every collector",
		.effective = has(eff, CAP_PERFMON) || admin,
		.probe = "bpf(BPF_PROG_LOAD) of a raw_tp program",
		.err = probe_tracing(),
	};
	p[2] = (struct ms_priv){
		.name = "CAP_SYS_PTRACE",
		.cap = CAP_SYS_PTRACE,
		.need = MS_PRIV_OPTIONAL,
		.what = "USDT probes of a QEMU run by another user (its /proc/PID/exe); "
			"not needed as QEMU's user",
		.effective = has(eff, CAP_SYS_PTRACE),
	};
	return err;
}

int ms_privs__bpf_usable(const struct ms_priv p[MS_NR_PRIVS])
{
	for (int i = 0; i < MS_NR_PRIVS; i++)
		if (p[i].need == MS_PRIV_REQUIRED && p[i].err)
			return 0;
	return 1;
}
