/* SPDX-License-Identifier: GPL-2.0-only */
/* Parsing of command-line quantities: sizes, rates, durations, numbers. */
#ifndef MIGSCOPE_PARSE_H
#define MIGSCOPE_PARSE_H

#include <stdint.h>

/* "4096", "64K", "256M", "1G", "4T" (binary multiples).  0 or -EINVAL / -ERANGE. */
int ms_parse_size(const char *s, uint64_t *out);

/* A size per second: "40M/s", "40M" (the /s is optional).  Bytes per second. */
int ms_parse_rate(const char *s, uint64_t *out);

/* "300ms", "2s", "1.5s", "500us", "10ns", "1m"; a bare number is milliseconds.  Nanoseconds. */
int ms_parse_duration(const char *s, uint64_t *out_ns);

/* A plain unsigned decimal (or 0x hex) number. */
int ms_parse_u64(const char *s, uint64_t *out);

/* Human-readable bytes into buf: "1.50 GiB", "512 B". */
const char *ms_fmt_bytes(uint64_t bytes, char *buf, unsigned long len);

#endif
