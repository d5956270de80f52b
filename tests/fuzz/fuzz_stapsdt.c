// SPDX-License-Identifier: GPL-2.0-only
/*
 * The .note.stapsdt parser on arbitrary section contents.  The first byte
 * picks the ELF class (odd: 64-bit); every string handed out must be
 * terminated inside the data.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <migscope/stapsdt.h>

static int touch(void *ctx, const struct ms_stapsdt_probe *p)
{
	size_t *n = ctx;

	*n += strlen(p->provider) + strlen(p->name) + strlen(p->args);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = 0;

	if (!size)
		return 0;
	ms_stapsdt__parse(data + 1, size - 1, data[0] & 1, touch, &n);
	return 0;
}
