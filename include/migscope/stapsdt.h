/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SystemTap SDT notes (.note.stapsdt): the USDT probe sites an ELF file
 * carries.  QEMU built with the dtrace trace backend has one per trace event,
 * provider "qemu".
 */
#ifndef MIGSCOPE_STAPSDT_H
#define MIGSCOPE_STAPSDT_H

#include <stddef.h>
#include <stdint.h>

struct ms_stapsdt_probe {
	uint64_t pc;
	uint64_t base;
	uint64_t semaphore;   /* 0: none */
	const char *provider; /* these point into the parsed data */
	const char *name;
	const char *args; /* "-4@%esi 8@%rax", as the compiler placed them */
};

/* Called per probe; a non-zero return stops the walk and is returned. */
typedef int (*ms_stapsdt_fn)(void *ctx, const struct ms_stapsdt_probe *p);

/*
 * Walk the notes in the contents of a .note.stapsdt section (elf64: 8-byte
 * addresses, else 4).  Notes of other owners or types are skipped.  Returns 0,
 * fn's non-zero value, or -EINVAL when a note runs past the data or its
 * strings are not terminated.
 */
int ms_stapsdt__parse(const void *data, size_t len, int elf64, ms_stapsdt_fn fn, void *ctx);

/* The same over every .note.stapsdt section of the ELF file at path; -errno with err. */
int ms_stapsdt__read_file(const char *path, ms_stapsdt_fn fn, void *ctx, char *err, size_t errlen);

#endif
