/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The privileges the collectors need, checked in the effective capability
 * set and asked of the kernel, so `migscope features` can name what is
 * missing instead of "Operation not permitted".  README.md, "Running
 * without root".
 */
#ifndef MIGSCOPE_PRIVS_H
#define MIGSCOPE_PRIVS_H

#include <stddef.h>

enum ms_priv_need {
	MS_PRIV_REQUIRED, /* every collector needs it */
	MS_PRIV_OPTIONAL, /* one use needs it; the rest works without */
};

struct ms_priv {
	const char *name; /* "CAP_BPF" */
	int cap;	  /* its number */
	enum ms_priv_need need;
	const char *what;  /* what needs it */
	int effective;	   /* in the effective set (CAP_SYS_ADMIN stands in for BPF, PERFMON) */
	const char *probe; /* what was asked of the kernel for it, NULL: nothing */
	int err;	   /* the kernel's answer to the probe: 0 or a negative errno */
};

#define MS_NR_PRIVS 3

/*
 * Fill p[MS_NR_PRIVS] for this process.  0, or a negative errno when the
 * capability sets cannot be read (p then says nothing is effective).
 */
int ms_privs__check(struct ms_priv p[MS_NR_PRIVS]);

/* Every required privilege effective and the kernel agreeing: BPF collectors can load. */
int ms_privs__bpf_usable(const struct ms_priv p[MS_NR_PRIVS]);

#endif
