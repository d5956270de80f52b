// SPDX-License-Identifier: GPL-2.0-only
/*
 * Feature probes: what this kernel lets the collectors do, asked once, at
 * start, so a collector the kernel cannot run is skipped with a reason
 * instead of failing the load of everything.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <linux/bpf.h>

#include "collect_int.h"

int ms_probe__bpf(char *why, size_t len)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "ms_probe", 4, 4, 1, NULL);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	fd = -errno;
	if (fd == -EPERM)
		snprintf(why, len,
			 "BPF is not allowed here: %s (run as root, or with CAP_BPF and "
			 "CAP_PERFMON)",
			 strerror(-fd));
	else
		snprintf(why, len, "BPF is not available: %s", strerror(-fd));
	return fd;
}

/* The kernel's BTF, parsed once per process (it is megabytes). */
static struct btf *vmlinux_btf(void)
{
	static struct btf *btf;
	static int tried;

	if (!tried) {
		tried = 1;
		btf = btf__load_vmlinux_btf(); /* NULL: no BTF, nothing can be probed */
	}
	return btf;
}

int ms_probe__tracepoint(const char *name)
{
	struct btf *btf = vmlinux_btf();
	char type[128];

	if (!btf)
		return 0;
	snprintf(type, sizeof(type), "btf_trace_%s", name);
	return btf__find_by_name_kind(btf, type, BTF_KIND_TYPEDEF) > 0;
}

/* Is function name in vmlinux, or in one of the loaded modules' BTF? */
int ms_probe__kfunc(const char *name)
{
	struct btf *base = vmlinux_btf();
	struct dirent *de;
	int found = 0;
	DIR *d;

	if (!base)
		return 0;
	if (btf__find_by_name_kind(base, name, BTF_KIND_FUNC) > 0)
		return 1;
	d = opendir("/sys/kernel/btf");
	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		char path[300];
		struct btf *mod;

		if (de->d_name[0] == '.' || !strcmp(de->d_name, "vmlinux"))
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/btf/%s", de->d_name);
		mod = btf__parse_split(path, base);
		if (!mod)
			continue;
		found = btf__find_by_name_kind(mod, name, BTF_KIND_FUNC) > 0;
		btf__free(mod);
	}
	closedir(d);
	return found;
}

/*
 * Load and attach a do-nothing fentry program to a function every kernel has.
 * Some kernels refuse tracing programs (lockdown, missing trampolines, a
 * hypervisor's policy) with EPERM or ENOTSUPP at load or at attach.
 */
int ms_probe__fentry(void)
{
	static int cached = 1;
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FENTRY);
	struct btf *btf = vmlinux_btf();
	int prog, link, id;

	if (cached <= 0)
		return cached;
	if (!btf)
		return cached = -ENOENT;
	id = btf__find_by_name_kind(btf, "vfs_read", BTF_KIND_FUNC);
	if (id <= 0)
		return cached = -ENOENT;
	opts.attach_btf_id = (__u32)id;
	prog = bpf_prog_load(BPF_PROG_TYPE_TRACING, "ms_fentry", "GPL", insns, 2, &opts);
	if (prog < 0)
		return cached = -errno;
	link = bpf_link_create(prog, 0, BPF_TRACE_FENTRY, NULL);
	cached = link < 0 ? -errno : 0;
	if (link >= 0)
		close(link);
	close(prog);
	return cached;
}

/*
 * Does the verifier take loads through bpf_rdonly_cast(p, 0), a pointer to
 * memory of unknown type (6.17+)?  The device filter then reads device names
 * with plain fault-handled loads instead of a helper call per event.
 */
int ms_probe__untyped_loads(void)
{
	static int cached = -1;
	struct btf *btf = vmlinux_btf();
	int id, prog;

	if (cached >= 0)
		return cached;
	cached = 0;
	id = btf ? btf__find_by_name_kind(btf, "bpf_rdonly_cast", BTF_KIND_FUNC) : -ENOENT;
	if (id <= 0)
		return cached;
	{
		struct bpf_insn insns[] = {
			{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_1, .imm = 0 },
			{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_2, .imm = 0 },
			{ .code = BPF_JMP | BPF_CALL, .src_reg = BPF_PSEUDO_KFUNC_CALL, .imm = id },
			{ .code = BPF_LDX | BPF_MEM | BPF_DW,
			  .dst_reg = BPF_REG_0,
			  .src_reg = BPF_REG_0,
			  .off = 8 },
			{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
			{ .code = BPF_JMP | BPF_EXIT },
		};

		prog = bpf_prog_load(BPF_PROG_TYPE_RAW_TRACEPOINT, "ms_untyped", "GPL", insns, 6,
				     NULL);
	}
	if (prog >= 0) {
		cached = 1;
		close(prog);
	}
	return cached;
}

int ms_probe__uprobes(void)
{
	return access("/sys/bus/event_source/devices/uprobe/type", R_OK) == 0;
}
