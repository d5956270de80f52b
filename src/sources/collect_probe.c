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
			 "CAP_PERFMON: 'migscope features' names what is missing)",
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
 * Does a raw_tp program load that reads through bpf_rdonly_cast(NULL,
 * type_id)?  type_id 0 asks for memory of no type (6.17+), a struct's id
 * for that struct (6.2+).
 */
static int probe_cast(int cast_id, int type_id)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_1, .imm = 0 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_2, .imm = type_id },
		{ .code = BPF_JMP | BPF_CALL, .src_reg = BPF_PSEUDO_KFUNC_CALL, .imm = cast_id },
		{ .code = BPF_LDX | BPF_MEM | BPF_DW, .dst_reg = BPF_REG_0, .src_reg = BPF_REG_0 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int prog = bpf_prog_load(BPF_PROG_TYPE_RAW_TRACEPOINT, "ms_cast", "GPL", insns, 6, NULL);

	if (prog < 0)
		return 0;
	close(prog);
	return 1;
}

int ms_probe__name_reads(void)
{
	static int cached;
	struct btf *btf = vmlinux_btf();
	int cast, device;

	if (cached)
		return cached;
	cached = MS_BPF_NAME_HELPERS;
	cast = btf ? btf__find_by_name_kind(btf, "bpf_rdonly_cast", BTF_KIND_FUNC) : -ENOENT;
	device = btf ? btf__find_by_name_kind(btf, "device", BTF_KIND_STRUCT) : -ENOENT;
	if (cast <= 0 || device <= 0)
		return cached;
	if (probe_cast(cast, 0))
		cached = MS_BPF_NAME_DIRECT;
	else if (probe_cast(cast, device))
		cached = MS_BPF_NAME_CAST_DEV;
	return cached;
}

int ms_probe__uprobes(void)
{
	return access("/sys/bus/event_source/devices/uprobe/type", R_OK) == 0;
}
