// SPDX-License-Identifier: GPL-2.0-only
/* The kernel's migration arcs against the driven ones (arccheck.h). */
#include <stdlib.h>
#include <string.h>

#include <migscope/arccheck.h>
#include <migscope/vfio_compat.h>
#include <migscope/vfio_fsm.h>

/* A profile drives a few dozen arcs per device; a corrupt capture must not grow us forever. */
#define MAX_ARCS 65536

void ms_arccheck__init(struct ms_arccheck *a, const struct ms_devices *devices)
{
	memset(a, 0, sizeof(*a));
	a->devices = devices;
}

void ms_arccheck__free(struct ms_arccheck *a)
{
	for (uint32_t i = 0; i < a->nr; i++) {
		free(a->dev[i].driven);
		free(a->dev[i].seen);
	}
	free(a->dev);
	memset(a, 0, sizeof(*a));
}

static struct ms_arc_dev *dev_of(struct ms_arccheck *a, uint32_t id, int create)
{
	if (id >= a->nr) {
		uint32_t nr = id + 1;
		void *p;

		if (!create || id > MS_DEV_ID_MAX)
			return NULL;
		p = realloc(a->dev, nr * sizeof(*a->dev));
		if (!p)
			return NULL;
		a->dev = p;
		memset(a->dev + a->nr, 0, (nr - a->nr) * sizeof(*a->dev));
		a->nr = nr;
	}
	return &a->dev[id];
}

static void push(struct ms_arc_dev *d, struct ms_arc **arr, uint32_t *nr, uint32_t *cap,
		 const struct ms_ev_dev_state *e)
{
	if (*nr == *cap) {
		uint32_t c = *cap ? *cap * 2 : 32;
		void *p = c <= MAX_ARCS ? realloc(*arr, c * sizeof(**arr)) : NULL;

		if (!p) {
			d->dropped++;
			return;
		}
		*arr = p;
		*cap = c;
	}
	(*arr)[*nr].from = e->from;
	(*arr)[*nr].to = e->to;
	(*arr)[*nr].err = e->err;
	(*nr)++;
}

/*
 * A reset (VFIO_DEVICE_RESET, from ERROR or RESUMING after a failure) is
 * published as an arc to RUNNING but does not go through the state table:
 * the kernel has nothing to see.  An arc to RUNNING that is not one step of
 * the table is one.
 */
static int is_reset(const struct ms_device_info *di, const struct ms_ev_dev_state *e)
{
	uint8_t next;

	if (e->to != VFIO_DEVICE_STATE_RUNNING || e->err)
		return 0;
	return ms_vfio_fsm__next(di ? di->caps : 0, e->from, e->to, &next) || next != e->to;
}

static void on_event(void *ctx, const struct ms_event_hdr *ev)
{
	struct ms_arccheck *a = ctx;
	struct ms_arc_dev *d;

	switch (ev->type) {
	case MS_EV_ARC_WATCH:
		if (ev->len < MS_PAYLOAD_LEN(ms_ev_arc_watch))
			return;
		d = dev_of(a, ev->dev, 1);
		if (d) {
			d->have_watch = 1;
			d->state = ((const struct ms_ev_arc_watch *)ev)->state;
		}
		break;
	case MS_EV_DEV_STATE:
	case MS_EV_KERNEL_ARC: {
		const struct ms_ev_dev_state *e = (const void *)ev;

		if (ev->len < MS_PAYLOAD_LEN(ms_ev_dev_state) || e->domain != MS_DOMAIN_VFIO)
			return;
		/* only devices the profile put under watch: a watch session has no witness */
		d = dev_of(a, ev->dev, 0);
		if (!d || !d->have_watch)
			return;
		if (ev->type == MS_EV_KERNEL_ARC)
			push(d, &d->seen, &d->nr_seen, &d->cap_seen, e);
		else if (!is_reset(ms_devices__get(a->devices, ev->dev), e))
			push(d, &d->driven, &d->nr_driven, &d->cap_driven, e);
		break;
	}
	}
}

int ms_arccheck__subscribe(struct ms_arccheck *a, struct ms_bus *bus)
{
	return ms_bus__subscribe(bus,
				 MS_EV_BIT(MS_EV_ARC_WATCH) | MS_EV_BIT(MS_EV_DEV_STATE) |
				     MS_EV_BIT(MS_EV_KERNEL_ARC),
				 on_event, a);
}

const struct ms_arc_dev *ms_arccheck__dev(const struct ms_arccheck *a, uint32_t id)
{
	if (id >= a->nr || !a->dev[id].have_watch)
		return NULL;
	return &a->dev[id];
}

/*
 * The same arc: same from; the same to when it succeeded; both failed when it
 * failed (the kernel's record of a failed arc says ERROR, the driven one says
 * where the device was found afterwards).
 */
static int same(const struct ms_arc *x, const struct ms_arc *y)
{
	if (x->from != y->from || !x->err != !y->err)
		return 0;
	return x->err || x->to == y->to;
}

void ms_arccheck__match(const struct ms_arc_dev *d, struct ms_arc_result *r)
{
	uint32_t j = 0;

	memset(r, 0, sizeof(*r));
	r->first_bad = r->first_extra = -1;
	r->driven = d->nr_driven;
	r->seen = d->nr_seen;
	/* in order: each driven arc takes the next seen arc equal to it; those skipped are extra */
	for (uint32_t i = 0; i < d->nr_driven; i++) {
		uint32_t k = j;

		while (k < d->nr_seen && !same(&d->driven[i], &d->seen[k]))
			k++;
		if (k == d->nr_seen) {
			r->missing++;
			if (r->first_bad < 0)
				r->first_bad = (int)i;
			continue;
		}
		if (k > j && r->first_extra < 0)
			r->first_extra = (int)j;
		r->extra += k - j;
		r->matched++;
		j = k + 1;
	}
	if (j < d->nr_seen && r->first_extra < 0)
		r->first_extra = (int)j;
	r->extra += d->nr_seen - j;
}

const char *ms_arccheck__why_not(const struct ms_arc_dev *d)
{
	switch (d->state) {
	case MS_ARC_WATCHED:
		return d->dropped ? "arcs were dropped (out of memory): no verdict" : NULL;
	case MS_ARC_UNWATCHED:
		return "not watched: the vfio_mig_get_next_state collector is not attached";
	case MS_ARC_NO_NAME:
		return "not watched: the device's kernel name is unknown";
	case MS_ARC_REFERENCE:
		return "reference device: no kernel arcs";
	default:
		return "not watched";
	}
}
