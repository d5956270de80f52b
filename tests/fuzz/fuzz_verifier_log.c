// SPDX-License-Identifier: GPL-2.0-only
/*
 * The verifier's log, as the kernel wrote it when it refused a program: any
 * text gives a one-line reason that fits its buffer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/sources/collect_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *log = malloc(size + 1), out[200];
	size_t cap = size ? data[0] % sizeof(out) + 1 : sizeof(out);

	if (!log)
		return 0;
	memcpy(log, data, size);
	log[size] = 0;
	memset(out, 'x', sizeof(out));
	ms_load__verifier_reason(log, out, cap);
	if (strnlen(out, cap) >= cap)
		abort(); /* not terminated inside its buffer */
	if (strchr(out, '\n'))
		abort(); /* one line */
	free(log);
	return 0;
}
