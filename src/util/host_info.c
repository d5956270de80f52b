// SPDX-License-Identifier: GPL-2.0-only
/* The host/kernel info block written at the head of every capture. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include <migscope/host_info.h>
#include <migscope/version.h>

int ms_host_info__set(struct ms_host_info *info, const char *key, const char *val)
{
	unsigned int i;

	for (i = 0; i < info->nr; i++)
		if (!strcmp(info->kv[i].key, key))
			break;
	if (i == info->nr) {
		if (info->nr == MS_INFO_MAX)
			return -ENOSPC;
		info->nr++;
		snprintf(info->kv[i].key, sizeof(info->kv[i].key), "%s", key);
	}
	snprintf(info->kv[i].val, sizeof(info->kv[i].val), "%s", val);
	return 0;
}

const char *ms_host_info__get(const struct ms_host_info *info, const char *key)
{
	for (unsigned int i = 0; i < info->nr; i++)
		if (!strcmp(info->kv[i].key, key))
			return info->kv[i].val;
	return NULL;
}

void ms_host_info__from_host(struct ms_host_info *info, int argc, char **argv)
{
	struct utsname u;
	char buf[MS_INFO_VAL_MAX];
	size_t off = 0;

	memset(info, 0, sizeof(*info));
	if (uname(&u) == 0) {
		ms_host_info__set(info, "host", u.nodename);
		snprintf(buf, sizeof(buf), "%s %s", u.release, u.version);
		ms_host_info__set(info, "kernel", buf);
		ms_host_info__set(info, "machine", u.machine);
	}
	ms_host_info__set(info, "tool", "migscope " MS_VERSION);
	buf[0] = '\0';
	for (int i = 0; i < argc && off < sizeof(buf) - 1; i++) {
		int n = snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? " " : "", argv[i]);

		if (n < 0)
			break;
		off += (size_t)n;
	}
	ms_host_info__set(info, "cmdline", buf);
}
