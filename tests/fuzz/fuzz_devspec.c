// SPDX-License-Identifier: GPL-2.0-only
/* --device specifications: any string parses to a checked spec or one error line. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/devspec.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ms_devspec sp;
	char *s = malloc(size + 1), err[256];

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	err[0] = 0;
	if (ms_devspec__parse(s, &sp, err, sizeof(err)) && !err[0])
		abort(); /* a refusal always says why */
	free(s);
	return 0;
}
