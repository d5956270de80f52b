// SPDX-License-Identifier: GPL-2.0-only
/*
 * The device context (struct virtio_dev_ctx) parser, with the reference
 * member device's supported fields and without any: every field it hands
 * out lies inside the buffer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/virtio_admin.h>

static const struct ms_virtio_field supported[] = {
	{ MS_VIRTIO_CTX_PCI_COMMON_CFG, 60 },
	{ MS_VIRTIO_CTX_DEV_FEATURES, 16 },
	{ MS_VIRTIO_CTX_PCI_VQ_CFG, MS_VIRTIO_CTX_VQ_CFG_LEN },
	{ MS_VIRTIO_CTX_VQ_SPLIT_RUNTIME_CFG, MS_VIRTIO_CTX_VQ_RUNTIME_LEN },
	{ MS_VIRTIO_CTX_VQ_SPLIT_DEV_OWN_DESC, 36 },
	{ MS_VIRTIO_CTX_DEV_CFG, 12 },
};

struct span {
	const uint8_t *lo, *hi;
	uint64_t sum;
};

static int touch(void *ctx, const struct ms_virtio_ctx_field *f, uint32_t i)
{
	struct span *s = ctx;

	if (f->value < s->lo || f->value + f->length > s->hi)
		abort();
	for (uint64_t k = 0; k < f->length; k++)
		s->sum += f->value[k];
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	struct span s = { copy, copy + size, 0 };
	char err[256];

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	ms_virtio_ctx__parse(copy, size, supported, sizeof(supported) / sizeof(supported[0]), touch,
			     &s, err, sizeof(err));
	ms_virtio_ctx__parse(copy, size, NULL, 0, touch, &s, err, sizeof(err));
	free(copy);
	return 0;
}
