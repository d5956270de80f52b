// SPDX-License-Identifier: GPL-2.0-only
/*
 * vm_asuser: run a program as another user holding only the capabilities
 * named, inheritable and ambient, so they survive the exec: what
 * `setpriv --reuid --regid --inh-caps --ambient-caps` does on the host, for
 * the VM lane, whose busybox setpriv cannot change the user.
 *
 *   vm_asuser UID GID bpf,perfmon migscope features --json
 *   vm_asuser UID GID - migscope features        (no capabilities)
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>

static const struct {
	const char *name;
	int cap;
} names[] = {
	{ "bpf", 39 },
	{ "perfmon", 38 },
	{ "sys_ptrace", CAP_SYS_PTRACE },
	{ "sys_admin", CAP_SYS_ADMIN },
};

static int parse_caps(char *list, unsigned long long *set)
{
	*set = 0;
	if (!strcmp(list, "-"))
		return 0;
	for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
		size_t i;

		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcmp(tok, names[i].name))
				break;
		if (i == sizeof(names) / sizeof(names[0])) {
			fprintf(stderr, "vm_asuser: unknown capability '%s'\n", tok);
			return -1;
		}
		*set |= 1ull << names[i].cap;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { 0 };
	unsigned long long set;
	uid_t uid;
	gid_t gid;

	if (argc < 5 || parse_caps(argv[3], &set)) {
		fprintf(stderr, "usage: vm_asuser UID GID CAP,CAP|- PROGRAM [ARG]...\n");
		return 2;
	}
	uid = (uid_t)strtoul(argv[1], NULL, 10);
	gid = (gid_t)strtoul(argv[2], NULL, 10);
	/* keep the permitted set across setuid, then narrow it to the ones named */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) || setgroups(0, NULL) || setgid(gid) ||
	    setuid(uid)) {
		fprintf(stderr, "vm_asuser: failed to become %u:%u: %s\n", uid, gid,
			strerror(errno));
		return 1;
	}
	for (int w = 0; w < 2; w++)
		data[w].permitted = data[w].effective = data[w].inheritable =
			(__u32)(set >> (32 * w));
	if (syscall(SYS_capset, &hdr, data)) {
		fprintf(stderr, "vm_asuser: failed to set capabilities: %s\n", strerror(errno));
		return 1;
	}
	for (int c = 0; c < 64; c++)
		if ((set >> c & 1) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0)) {
			fprintf(stderr, "vm_asuser: failed to raise ambient capability %d: %s\n", c,
				strerror(errno));
			return 1;
		}
	execvp(argv[4], argv + 4);
	fprintf(stderr, "vm_asuser: failed to run %s: %s\n", argv[4], strerror(errno));
	return 127;
}
