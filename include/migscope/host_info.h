/* SPDX-License-Identifier: GPL-2.0-only */
/* Where and how a session was recorded: the capture's info block. */
#ifndef MIGSCOPE_HOST_INFO_H
#define MIGSCOPE_HOST_INFO_H

#include <stddef.h>

#define MS_INFO_MAX 16
#define MS_INFO_KEY_MAX 32
#define MS_INFO_VAL_MAX 512

/* Ordered key/value strings; unknown keys survive a read-write round trip. */
struct ms_host_info {
	unsigned int nr;
	struct {
		char key[MS_INFO_KEY_MAX];
		char val[MS_INFO_VAL_MAX];
	} kv[MS_INFO_MAX];
};

/* Fill host, kernel, machine, tool and command line from this machine. */
void ms_host_info__from_host(struct ms_host_info *info, int argc, char **argv);

/* Set (or replace) a key; values are truncated to fit.  -ENOSPC when full. */
int ms_host_info__set(struct ms_host_info *info, const char *key, const char *val);

const char *ms_host_info__get(const struct ms_host_info *info, const char *key);

#endif
