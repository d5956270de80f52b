/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A fixture for the collector tests: a session with a recorder on its bus,
 * one watched host device, the kernel collectors loaded (not attached) and
 * fake kernel objects to feed their raw_tp programs through
 * bpf_prog_test_run.
 */
#ifndef MIGSCOPE_TESTS_COLLECT_FX_H
#define MIGSCOPE_TESTS_COLLECT_FX_H

#include <stdlib.h>

#include <migscope/collect.h>
#include <migscope/collect_abi.h>
#include <migscope/session.h>

#include "../bpf/kmem.h"
#include "testutil.h"

#define FX_DEV_NAME   "0000:3b:00.1"
#define FX_OTHER_NAME "0000:3b:00.2"

struct fx {
	struct ms_session *s;
	struct tu_recorder rec;
	struct ms_collect *c;
	struct kmem k;
	uint32_t dev;	 /* id of the watched device */
	uint64_t kdev;	 /* kernel address of a struct device named FX_DEV_NAME */
	uint64_t kother; /* one named FX_OTHER_NAME, not watched */
};

/*
 * A session watching the host devices names[0..n-1] (their ids in ids[]),
 * the collectors loaded for it with opts.  Returns 0, or 1 after tu_skip (the
 * test must return).
 */
static inline int fx_open_names(struct fx *f, const struct ms_collect_opts *opts,
				const char *const *names, int n, uint32_t *ids)
{
	struct ms_session_opts so = { 0 };
	struct ms_collect_opts o = opts ? *opts : (struct ms_collect_opts){ 0 };
	const char *why = kmem_bpf_unavailable();
	char err[MS_ERR_LEN];

	memset(f, 0, sizeof(*f));
	if (why) {
		tu_skip(why);
		return 1;
	}
	f->s = ms_session__new(&so, err, sizeof(err));
	assert_non_null(f->s);
	assert_int_equal(ms_bus__subscribe(&f->s->bus, MS_EV_ALL, tu_recorder__on_event, &f->rec),
			 0);
	for (int i = 0; i < n; i++)
		ids[i] = ms_stream__add_device(&f->s->stream, 1, MS_DEV_KIND_HOST, MS_ROLE_SOURCE,
					       0, MS_DEV_NONE, names[i]);
	/* a device of another kind with the same name must not be watched */
	ms_stream__add_device(&f->s->stream, 1, MS_DEV_KIND_QEMU_VFIO, MS_ROLE_SOURCE, 0,
			      MS_DEV_NONE, FX_OTHER_NAME);
	o.no_attach = 1;
	ms_bpf__set_notes(NULL);
	f->c = ms_collect__open(&f->s->stream, &o, err, sizeof(err));
	if (!f->c)
		fail_msg("ms_collect__open: %s", err);
	assert_int_equal(kmem_open(&f->k), 0);
	return 0;
}

/* One watched device, FX_DEV_NAME (kdev), and FX_OTHER_NAME (kother). */
static inline int fx_open(struct fx *f, const struct ms_collect_opts *opts)
{
	const char *name = FX_DEV_NAME;

	if (fx_open_names(f, opts, &name, 1, &f->dev))
		return 1;
	f->kdev = kmem_device(&f->k, FX_DEV_NAME, 7);
	f->kother = kmem_device(&f->k, FX_OTHER_NAME, 8);
	assert_true(f->kdev && f->kother);
	return 0;
}

static inline void fx_close(struct fx *f)
{
	ms_collect__close(f->c);
	kmem_close(&f->k);
	ms_session__free(f->s);
	tu_recorder__free(&f->rec);
}

/* Run collector program name once with the given tracepoint arguments. */
#define fx_run(f, name, ...)                                                                       \
	do {                                                                                       \
		uint64_t __args[] = { __VA_ARGS__ };                                               \
		int __fd = ms_collect__prog_fd((f)->c, (name));                                    \
		assert_true(__fd >= 0);                                                            \
		assert_int_equal(kmem_run(__fd, __args, sizeof(__args) / sizeof(__args[0])), 0);   \
	} while (0)

/* How many records of type the bus has seen. */
static inline size_t fx_count(const struct fx *f, unsigned int type)
{
	return tu_recorder__count(&f->rec, type);
}

/* The nth record of type (0-based); fails the test when there is none. */
static inline const void *fx_nth(const struct fx *f, unsigned int type, size_t nth)
{
	return tu_recorder__nth(&f->rec, type, nth);
}

static inline void fx_assert_write(const struct ms_ev_dma_write *w, uint32_t dev, uint64_t iova,
				   uint64_t len, uint32_t source, uint32_t dir)
{
	assert_int_equal(w->hdr.type, MS_EV_DMA_WRITE);
	assert_int_equal(w->hdr.len, MS_PAYLOAD_LEN(ms_ev_dma_write));
	assert_int_equal(w->hdr.dev, dev);
	assert_true(w->hdr.ts_ns > 0);
	assert_int_equal(w->iova, iova);
	assert_int_equal(w->len, len);
	assert_int_equal(w->source, source);
	assert_int_equal(w->dir, dir);
}

#endif
