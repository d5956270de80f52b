// SPDX-License-Identifier: GPL-2.0-only
/*
 * The downtime profile driver (profile.h): a whole save and resume of device
 * pairs, the pre-copy iteration and its switchover decision, the data moved
 * from each source to its destination and checked at the end.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <migscope/capture.h> /* ms_crc32c */
#include <migscope/collect.h>
#include <migscope/devset.h>
#include <migscope/profile.h>
#include <migscope/ref.h>
#include <migscope/vfio_fsm.h>

#define CHUNK	   (1u << 20)
#define TRACK_PAGE 4096

struct pair {
	struct ms_device *src, *dst; /* dst == src: the device resumes its own state */
	struct ms_range track[MS_DEVSPEC_MAX_TRACK];
	uint32_t nr_track;
	int tracking;
	FILE *spool; /* loopback: the saved stream, written back on resume */
	uint64_t read, written;
	uint32_t crc_read, crc_written;
	int ack_requested, acked;
	struct ms_precopy_info pi;
	uint64_t stopcopy;
};

struct run {
	struct ms_stream *s;
	struct ms_profile_result *res;
	struct ms_clock clock;
	struct pair *pairs;
	size_t n;
	struct ms_device **all, **srcs, **dsts, **resume;
	size_t nall, ndst;
	unsigned char *buf;
	uint64_t bw, limit, duration, round;
	int no_ack;
	struct ms_collect *collect; /* the kernel's arcs of the vfio devices, or NULL */
};

static int fail(struct run *r, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct run *r, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->res->err, sizeof(r->res->err), fmt, ap);
	va_end(ap);
	return err < 0 ? err : -EIO;
}

static uint64_t now(struct run *r)
{
	return ms_clock__now(&r->clock);
}

static void pump(void *ctx, uint64_t t)
{
	struct run *r = ctx;

	ms_devs__pump(r->all, r->nall, t);
}

static void publish_switchover(struct run *r, uint32_t dev, uint32_t phase)
{
	struct ms_ev_switchover ev;

	memset(&ev, 0, sizeof(ev));
	MS_EVENT_INIT(&ev, MS_EV_SWITCHOVER, ms_ev_switchover, dev, now(r));
	ev.phase = phase;
	ms_stream__publish(r->s, &ev.hdr);
}

/* The default run: two reference devices, a moderate workload, one REINIT. */
static void default_specs(struct ms_devspec specs[2])
{
	char err[128];

	memset(specs, 0, 2 * sizeof(*specs));
	for (int i = 0; i < 2; i++) {
		specs[i].kind = MS_DEVSPEC_REF;
		ms_ref_params__defaults(&specs[i].ref);
	}
	ms_ref_params__set(&specs[1].ref, "state", "32M", err, sizeof(err));
	ms_ref_params__set(&specs[1].ref, "dirty", "8M/s", err, sizeof(err));
	ms_ref_params__set(&specs[1].ref, "ws", "256M", err, sizeof(err));
	ms_ref_params__set(&specs[1].ref, "stop", "4ms", err, sizeof(err));
	ms_ref_params__set(&specs[1].ref, "reinit", "1", err, sizeof(err));
}

static struct ms_device *open_ref(struct run *r, struct ms_ref_params *p, char *err, size_t len)
{
	if (p->iface == MS_REF_IFACE_VIRTIO)
		return ms_ref_virtio__new(p, &r->clock, err, len);
	return ms_ref__new(p, &r->clock, err, len);
}

static int open_pair(struct run *r, const struct ms_profile_opts *o, const struct ms_devspec *sp,
		     size_t i)
{
	struct pair *p = &r->pairs[i];
	char err[256];

	if (sp->kind == MS_DEVSPEC_REF) {
		struct ms_ref_params sp_src = sp->ref, sp_dst;

		if (!sp_src.name[0])
			snprintf(sp_src.name, sizeof(sp_src.name), "ref%zu", i);
		if (!sp_src.seed_set)
			sp_src.seed = o->seed * 0x100000001b3ull + i + 1;
		sp_dst = sp_src;
		snprintf(sp_dst.name, sizeof(sp_dst.name), "%.*s.dst", MS_DEV_NAME_LEN - 5,
			 sp_src.name);
		sp_dst.seed = sp_src.seed ^ 0xd5a61266f0c9392cull;
		/* injected failures belong to the device they were asked for: the source */
		sp_dst.fault = MS_REF_FAULT_NONE;
		sp_dst.fail_to = MS_REF_NO_STATE;
		if (o->no_reinit)
			sp_src.v2 = sp_dst.v2 = 0;
		p->src = open_ref(r, &sp_src, err, sizeof(err));
		if (!p->src)
			return fail(r, -EINVAL, "%s", err);
		p->dst = open_ref(r, &sp_dst, err, sizeof(err));
		if (!p->dst)
			return fail(r, -EINVAL, "%s", err);
		if (sp->ref.track) {
			p->track[0].iova = sp->ref.iova;
			p->track[0].len = sp->ref.ws;
			p->nr_track = 1;
		}
		return 0;
	}
	{
		char name[MS_DEV_NAME_LEN], dname[MS_DEV_NAME_LEN];
		const struct ms_vfio_sys *sys = o->sys ? o->sys : &ms_vfio_sys_real;

		if (sp->name[0])
			snprintf(name, sizeof(name), "%s", sp->name);
		else
			snprintf(name, sizeof(name), "vfio%zu", i);
		p->src = ms_vfio__open(sp->path, name, sys, &r->clock, err, sizeof(err));
		if (!p->src)
			return fail(r, -ENODEV, "%s", err);
		if (o->no_reinit) /* the opt-in is the kernel's; the REINIT flag is ignored */
			p->src->flags &= ~MS_DEVF_PRECOPY_V2;
		if (sp->dest[0]) {
			snprintf(dname, sizeof(dname), "%.*s.dst", MS_DEV_NAME_LEN - 5, name);
			p->dst = ms_vfio__open(sp->dest, dname, sys, &r->clock, err, sizeof(err));
			if (!p->dst)
				return fail(r, -ENODEV, "%s", err);
		} else {
			p->dst = p->src;
			p->spool = tmpfile();
			if (!p->spool)
				return fail(r, -errno, "%s: failed to create the spool file: %s",
					    name, strerror(errno));
		}
		memcpy(p->track, sp->track, sp->nr_track * sizeof(sp->track[0]));
		p->nr_track = sp->nr_track;
		return 0;
	}
}

static void register_pairs(struct run *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct pair *p = &r->pairs[i];
		uint32_t next = r->s->next_dev_id;

		if (p->dst == p->src) {
			ms_dev__register(p->src, r->s, MS_ROLE_BOTH, next);
			continue;
		}
		/* ids are handed out in order: the destination will be next + 1 */
		ms_dev__register(p->src, r->s, MS_ROLE_SOURCE, next + 1);
		ms_dev__register(p->dst, r->s, MS_ROLE_DEST, p->src->id);
	}
}

static int arc_hooks_attached(const struct ms_collect *c, char *why, size_t len)
{
	const struct ms_collector_status *st;
	size_t n = ms_collect__status(c, &st);
	int need = 0;

	for (size_t i = 0; i < n; i++) {
		if (strcmp(st[i].name, "vfio_mig_get_next_state") &&
		    strcmp(st[i].name, "vfio_ioctl_enter") && strcmp(st[i].name, "vfio_ioctl_exit"))
			continue;
		if (st[i].state == MS_COLLECTOR_ATTACHED) {
			need++;
			continue;
		}
		snprintf(why, len, "%s %s: %s", st[i].name, ms_collector_state_name(st[i].state),
			 st[i].reason);
		return 0;
	}
	if (need != 3)
		snprintf(why, len, "the vfio arc programs are missing");
	return need == 3;
}

/*
 * Watch the kernel's arcs of every real VFIO device (vfio_mig_get_next_state
 * fexit) and say, per device, whether they are watched (MS_EV_ARC_WATCH)
 * before its first arc.  Only with a vfio: device; auto goes on without.
 */
static int watch_arcs(struct run *r, const struct ms_profile_opts *o)
{
	struct ms_collect_watch *w = calloc(r->nall ? r->nall : 1, sizeof(*w));
	struct ms_collect_opts co = { .arc_witness = 1 };
	char err[512] = "";
	size_t nw = 0, nvfio = 0;
	int attached = 0;

	if (!w)
		return fail(r, -ENOMEM, "failed to allocate: %s", strerror(ENOMEM));
	for (size_t i = 0; i < r->nall; i++)
		if (r->all[i]->kind == MS_DEV_KIND_VFIO) {
			nvfio++;
			if (r->all[i]->kname[0])
				w[nw++] =
				    (struct ms_collect_watch){ r->all[i]->kname, r->all[i]->id };
		}
	if (!nvfio || o->collectors == MS_PROFILE_COLLECT_OFF) {
		free(w);
		return 0;
	}
	if (nw) {
		co.watch = w;
		co.nr_watch = nw;
		r->collect = ms_collect__open(r->s, &co, err, sizeof(err));
		if (r->collect)
			attached = arc_hooks_attached(r->collect, err, sizeof(err));
	} else {
		snprintf(err, sizeof(err), "no VFIO device's kernel name is known");
	}
	free(w);
	/* a collector that loaded but did not attach has said why on its own line */
	if (!attached && !r->collect)
		snprintf(r->res->arcs_note, sizeof(r->res->arcs_note), "%s", err);
	if (o->collectors == MS_PROFILE_COLLECT_ON && !attached)
		return fail(r, -EOPNOTSUPP,
			    "--collectors on: the kernel's arcs cannot be watched: %s", err);
	for (size_t i = 0; i < r->nall; i++) {
		struct ms_device *d = r->all[i];
		struct ms_ev_arc_watch ev;

		memset(&ev, 0, sizeof(ev));
		MS_EVENT_INIT(&ev, MS_EV_ARC_WATCH, ms_ev_arc_watch, d->id, now(r));
		if (d->kind != MS_DEV_KIND_VFIO)
			ev.state = MS_ARC_REFERENCE;
		else if (!d->kname[0])
			ev.state = MS_ARC_NO_NAME;
		else
			ev.state = attached ? MS_ARC_WATCHED : MS_ARC_UNWATCHED;
		ms_stream__publish(r->s, &ev.hdr);
	}
	return 0;
}

/* Detach the witness and publish what it saw (and its totals) into the session. */
static void unwatch_arcs(struct run *r)
{
	ms_collect__close(r->collect);
	r->collect = NULL;
}

static int has_precopy(const struct pair *p)
{
	return !!(p->src->caps & VFIO_MIGRATION_PRE_COPY);
}

/* Deliver bytes to the destination (or the spool): the link time, then the write. */
static int deliver(struct run *r, struct pair *p, const void *buf, size_t n)
{
	int err;

	ms_clock__advance(&r->clock, ms_transfer_ns(n, r->bw));
	if (p->spool) {
		if (fwrite(buf, 1, n, p->spool) != n)
			return fail(r, -EIO, "%s: failed to write the spool file: %s", p->src->name,
				    strerror(errno));
		return 0;
	}
	err = ms_dev__write_all(p->dst, buf, n);
	if (err)
		return fail(r, err, "%s", p->dst->err);
	p->written += n;
	p->crc_written = ms_crc32c(p->crc_written, buf, n);
	ms_dev__publish_data(p->dst, n, MS_PHASE_RESUME);
	return 0;
}

/*
 * Move up to budget bytes of p's stream to its destination.  Returns 0 when
 * the budget is spent or the device has nothing right now, 1 at the end of
 * the stream, -errno on failure.
 */
static int move(struct run *r, struct pair *p, uint32_t phase, uint64_t budget, uint64_t *moved)
{
	while (budget) {
		size_t want = budget < CHUNK ? (size_t)budget : CHUNK;
		ssize_t n = ms_dev__read(p->src, r->buf, want);
		int err;

		if (n == -ENOMSG && phase == MS_PHASE_STOPCOPY)
			return fail(r, -EPROTO,
				    "%s: data read: ENOMSG in STOP_COPY, where only a 0 read ends "
				    "the stream",
				    p->src->name);
		if (n == -ENOMSG)
			return 0;
		if (n < 0)
			return fail(r, (int)n, "%s", p->src->err);
		if (n == 0)
			return 1;
		p->read += (uint64_t)n;
		p->crc_read = ms_crc32c(p->crc_read, r->buf, (size_t)n);
		ms_dev__publish_data(p->src, (uint64_t)n, phase);
		err = deliver(r, p, r->buf, (size_t)n);
		if (err)
			return err;
		*moved += (uint64_t)n;
		r->res->bytes_moved += (uint64_t)n;
		budget -= (uint64_t)n;
	}
	return 0;
}

/* A pre-copy source's pre-copy info, and its switchover-ack bookkeeping. */
static int query_precopy(struct run *r, struct pair *p)
{
	int err = ms_dev__precopy_info(p->src, &p->pi);

	if (err)
		return fail(r, err, "%s", p->src->err);
	if (p->pi.flags & MS_PRECOPY_REINIT) {
		/* new initial data: the destination must load it before switchover again */
		p->acked = 0;
		if (p->dst != p->src) {
			publish_switchover(r, p->src->id, MS_SWITCHOVER_ACK_REQUESTED);
			p->ack_requested = 1;
		}
	}
	if (!p->pi.initial_bytes && !p->acked) {
		p->acked = 1;
		if (p->ack_requested)
			publish_switchover(r, p->src->id, MS_SWITCHOVER_ACKED);
	}
	return 0;
}

/*
 * Query every source as QEMU's exact pending does: the pre-copy info of those
 * in pre-copy, and the stop-copy size of all of them (a device without
 * pre-copy moves its whole state while stopped too).  Fills res->check and
 * res->converged: whether the switchover rule holds now.
 */
static int query_all(struct run *r)
{
	struct ms_switchover_check *c = &r->res->check;

	c->pending = 0;
	c->unacked = 0;
	for (size_t i = 0; i < r->n; i++) {
		struct pair *p = &r->pairs[i];
		int err;

		if (has_precopy(p)) {
			err = query_precopy(r, p);
			if (err)
				return err;
			c->unacked += !p->acked && !r->no_ack;
		}
		err = ms_dev__stopcopy_size(p->src, &p->stopcopy);
		if (err)
			return fail(r, err, "%s", p->src->err);
		ms_switchover__add(c, p->stopcopy);
	}
	r->res->converged = ms_switchover__ok(c);
	return 0;
}

static int harvest_all(struct run *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct pair *p = &r->pairs[i];

		/* a failed report is published as loss (the range counts as dirty); go on */
		if (p->tracking)
			ms_dev__harvest(p->src);
	}
	return 0;
}

/* One iteration's worth of bandwidth, shared by the devices with something pending. */
static int transfer_round(struct run *r)
{
	uint64_t budget =
	    r->bw ? (uint64_t)((unsigned __int128)r->bw * r->round / 1000000000ull) : UINT64_MAX;
	size_t left = 0;

	for (size_t i = 0; i < r->n; i++)
		if (has_precopy(&r->pairs[i]) &&
		    r->pairs[i].pi.initial_bytes + r->pairs[i].pi.dirty_bytes)
			left++;
	for (size_t i = 0; i < r->n && left; i++) {
		struct pair *p = &r->pairs[i];
		uint64_t pending = p->pi.initial_bytes + p->pi.dirty_bytes, share, moved = 0;
		int ret;

		if (!has_precopy(p) || !pending)
			continue;
		share = budget == UINT64_MAX ? pending : budget / left;
		if (share > pending)
			share = pending;
		ret = move(r, p, MS_PHASE_PRECOPY, share, &moved);
		if (ret < 0)
			return ret;
		if (budget != UINT64_MAX)
			budget -= moved < budget ? moved : budget;
		left--;
	}
	return 0;
}

/* The decision in one line: why, then the facts the rule saw. */
static void say_decision(struct run *r, uint64_t elapsed)
{
	struct ms_profile_result *res = r->res;
	char facts[200];

	ms_switchover__describe(&res->check, facts, sizeof(facts));
	switch (res->decision) {
	case MS_DECIDE_CONVERGED:
		snprintf(res->reason, sizeof(res->reason), "converged after %u round%s: %s",
			 res->rounds, res->rounds == 1 ? "" : "s", facts);
		break;
	case MS_DECIDE_FORCED:
		snprintf(res->reason, sizeof(res->reason),
			 "forced at --duration %.1f s without converging: %s",
			 (double)elapsed / 1e9, facts);
		break;
	default:
		snprintf(res->reason, sizeof(res->reason),
			 "at once, no device has pre-copy (%s): %s",
			 res->converged ? "converged" : "did not converge", facts);
		break;
	}
}

/*
 * Pre-copy until the switchover rule holds (switchover.h): every round
 * harvests the dirty reports, queries every source and, unless the rule holds,
 * moves one round's worth of bandwidth.  A run that does not converge (a
 * stop-copy size larger than the limit lets through, however long pre-copy
 * runs) is forced over at --duration, as an operator would force it, and the
 * reason says it did not converge.
 */
static int precopy(struct run *r)
{
	uint64_t start = now(r);
	int any = 0, ret;

	for (size_t i = 0; i < r->n; i++)
		any |= has_precopy(&r->pairs[i]);
	if (!any) {
		/* nothing to iterate: one query, so the decision says what must move */
		ret = query_all(r);
		if (ret)
			return ret;
		r->res->decision = MS_DECIDE_NO_PRECOPY;
		say_decision(r, 0);
		return 0;
	}
	for (;;) {
		uint64_t round_start = now(r);

		r->res->rounds++;
		harvest_all(r);
		ret = query_all(r);
		if (ret)
			return ret;
		if (r->res->converged) {
			/* QEMU's final query at switchover: a REINIT since calls it off */
			ret = query_all(r);
			if (ret)
				return ret;
			if (r->res->converged) {
				r->res->decision = MS_DECIDE_CONVERGED;
				say_decision(r, now(r) - start);
				return 0;
			}
		} else if (now(r) - start >= r->duration) {
			r->res->decision = MS_DECIDE_FORCED;
			say_decision(r, now(r) - start);
			return 0;
		}
		ret = transfer_round(r);
		if (ret)
			return ret;
		ms_clock__advance_to(&r->clock, round_start + r->round);
	}
}

static int stop_copy(struct run *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct pair *p = &r->pairs[i];
		uint64_t moved = 0;
		int ret = ms_dev__stopcopy_size(p->src, &p->stopcopy);

		if (ret)
			return fail(r, ret, "%s", p->src->err);
		ret = move(r, p, MS_PHASE_STOPCOPY, UINT64_MAX, &moved);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Loopback devices load their own spooled stream once they are RESUMING. */
static int replay_spools(struct run *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct pair *p = &r->pairs[i];
		size_t n;

		if (!p->spool)
			continue;
		rewind(p->spool);
		while ((n = fread(r->buf, 1, CHUNK, p->spool)) > 0) {
			int err = ms_dev__write_all(p->dst, r->buf, n);

			if (err)
				return fail(r, err, "%s", p->dst->err);
			p->written += n;
			p->crc_written = ms_crc32c(p->crc_written, r->buf, n);
			ms_dev__publish_data(p->dst, n, MS_PHASE_RESUME);
		}
		if (ferror(p->spool))
			return fail(r, -EIO, "%s: failed to read the spool file", p->src->name);
	}
	return 0;
}

static int goto_all(struct run *r, struct ms_device **devs, size_t n, uint8_t target,
		    uint8_t rollback)
{
	int err =
	    ms_devset__goto(devs, n, NULL, target, rollback, r->res->err, sizeof(r->res->err));

	return err;
}

/* After a failure: every device back to RUNNING, sources first (the VM runs there). */
/*
 * After a failure: every device back to RUNNING (a device in ERROR or RESUMING
 * by reset first, the only way out of those), and the error line says whether
 * that worked, as a failed arc's does.
 */
static void recover(struct run *r)
{
	struct ms_device **sets[2] = { r->srcs, r->dsts };
	size_t ns[2] = { r->n, r->ndst };
	size_t used = strlen(r->res->err);
	char err[512] = "", why[512];

	for (size_t i = 0; i < r->n; i++)
		if (r->pairs[i].tracking) {
			ms_dev__track_stop(r->pairs[i].src);
			r->pairs[i].tracking = 0;
		}
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < ns[k]; i++) {
			uint8_t st = sets[k][i]->state;

			if ((st == VFIO_DEVICE_STATE_ERROR || st == VFIO_DEVICE_STATE_RESUMING) &&
			    ms_dev__reset(sets[k][i]) && !err[0])
				snprintf(err, sizeof(err), "%s", sets[k][i]->err);
		}
		if (ms_devset__goto(sets[k], ns[k], NULL, VFIO_DEVICE_STATE_RUNNING,
				    MS_DEVSET_NO_ROLLBACK, why, sizeof(why)) &&
		    !err[0])
			snprintf(err, sizeof(err), "%s", why);
	}
	/* an arc's failure has said it already (ms_devset__goto rolls back itself) */
	if (strstr(r->res->err, "rolled back to") || strstr(r->res->err, "rollback to"))
		return;
	if (err[0])
		snprintf(r->res->err + used, sizeof(r->res->err) - used,
			 "; rollback to RUNNING failed: %s", err);
	else
		snprintf(r->res->err + used, sizeof(r->res->err) - used,
			 "; every device rolled back to RUNNING");
}

static int verify(struct run *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct pair *p = &r->pairs[i];
		uint32_t a, b;

		if (p->read != p->written || p->crc_read != p->crc_written)
			return fail(
			    r, -EIO,
			    "%s: %llu bytes read (crc32c 0x%08x), %llu written to %s (0x%08x)",
			    p->src->name, (unsigned long long)p->read, p->crc_read,
			    (unsigned long long)p->written, p->dst->name, p->crc_written);
		if (p->src->ops->state_digest && p->dst->ops->state_digest && p->src != p->dst) {
			if (p->src->ops->state_digest(p->src, &a))
				return fail(r, -EIO, "%s", p->src->err);
			if (p->dst->ops->state_digest(p->dst, &b))
				return fail(r, -EIO, "%s", p->dst->err);
			if (a != b)
				return fail(r, -EIO,
					    "%s: device state digest 0x%08x, %s has 0x%08x",
					    p->src->name, a, p->dst->name, b);
		}
	}
	r->res->verified = 1;
	return 0;
}

static int migrate(struct run *r)
{
	int err;

	for (size_t i = 0; i < r->n; i++) {
		struct pair *p = &r->pairs[i];

		if (!p->nr_track || !(p->src->flags & MS_DEVF_DIRTY_TRACK))
			continue;
		err = ms_dev__track_start(p->src, p->track, p->nr_track, TRACK_PAGE);
		if (err)
			return fail(r, err, "%s", p->src->err);
		p->tracking = 1;
	}
	/* the destination waits in RESUMING and loads pre-copy data as it comes */
	err = goto_all(r, r->dsts, r->ndst, VFIO_DEVICE_STATE_RESUMING, VFIO_DEVICE_STATE_RUNNING);
	if (err)
		return err;
	for (size_t i = 0; i < r->n; i++) {
		struct pair *p = &r->pairs[i];

		if (has_precopy(p) && p->dst != p->src) {
			publish_switchover(r, p->src->id, MS_SWITCHOVER_ACK_REQUESTED);
			p->ack_requested = 1;
		}
	}
	{
		uint8_t targets[r->n];

		for (size_t i = 0; i < r->n; i++)
			targets[i] = has_precopy(&r->pairs[i]) ? VFIO_DEVICE_STATE_PRE_COPY
							       : VFIO_DEVICE_STATE_RUNNING;
		err = ms_devset__goto(r->srcs, r->n, targets, 0, VFIO_DEVICE_STATE_RUNNING,
				      r->res->err, sizeof(r->res->err));
		if (err)
			return err;
	}
	err = precopy(r);
	if (err)
		return err;

	publish_switchover(r, MS_DEV_NONE, MS_SWITCHOVER_DECIDED);
	err = goto_all(r, r->srcs, r->n, VFIO_DEVICE_STATE_STOP_COPY, VFIO_DEVICE_STATE_RUNNING);
	if (err)
		return err;
	/* stopped devices write nothing more: the last report closes the dirty set */
	for (size_t i = 0; i < r->n; i++) {
		struct pair *p = &r->pairs[i];

		if (!p->tracking)
			continue;
		ms_dev__harvest(p->src);
		ms_dev__track_stop(p->src);
		p->tracking = 0;
	}
	err = stop_copy(r);
	if (err)
		return err;
	err = goto_all(r, r->srcs, r->n, VFIO_DEVICE_STATE_STOP, VFIO_DEVICE_STATE_RUNNING);
	if (err)
		return err;

	/* loopback devices start their load now that their save is over */
	for (size_t i = 0; i < r->n; i++) {
		struct pair *p = &r->pairs[i];

		if (p->spool && ms_dev__goto(p->src, VFIO_DEVICE_STATE_RESUMING))
			return fail(r, -EIO, "%s", p->src->err);
	}
	err = replay_spools(r);
	if (err)
		return err;
	err = goto_all(r, r->resume, r->n, VFIO_DEVICE_STATE_RUNNING, VFIO_DEVICE_STATE_RUNNING);
	if (err)
		return err;
	publish_switchover(r, MS_DEV_NONE, MS_SWITCHOVER_DONE);
	return verify(r);
}

static void close_all(struct run *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct pair *p = &r->pairs[i];

		if (p->spool)
			fclose(p->spool);
		if (p->dst && p->dst != p->src)
			ms_dev__close(p->dst);
		if (p->src)
			ms_dev__close(p->src);
	}
	free(r->pairs);
	free(r->all);
	free(r->buf);
}

int ms_profile__run(struct ms_stream *s, const struct ms_profile_opts *o,
		    struct ms_profile_result *res)
{
	struct ms_devspec defaults[2];
	const struct ms_devspec *specs = o->specs;
	size_t n = o->nr_specs;
	struct run r;
	int virtual_clock = 1, err;

	memset(res, 0, sizeof(*res));
	memset(&r, 0, sizeof(r));
	if (!specs || !n) {
		default_specs(defaults);
		specs = defaults;
		n = 2;
	}
	for (size_t i = 0; i < n; i++)
		if (specs[i].kind == MS_DEVSPEC_VFIO)
			virtual_clock = 0;
	r.s = s;
	r.res = res;
	r.n = n;
	if (virtual_clock)
		ms_clock__init_virtual(&r.clock, MS_CLOCK_VIRTUAL_START);
	else
		ms_clock__init_monotonic(&r.clock);
	r.limit = o->downtime_limit_ns ? o->downtime_limit_ns : MS_PROFILE_DEFAULT_LIMIT_NS;
	r.bw = o->bandwidth_bps ? o->bandwidth_bps : virtual_clock ? MS_PROFILE_DEFAULT_BPS : 0;
	res->check.bps = r.bw;
	res->check.limit_ns = r.limit;
	res->check.threshold = ms_switchover_threshold(r.bw, r.limit);
	r.duration = o->duration_ns ? o->duration_ns : MS_PROFILE_DEFAULT_DURATION_NS;
	r.round = o->round_ns ? o->round_ns : MS_PROFILE_DEFAULT_ROUND_NS;
	r.no_ack = o->no_ack;
	r.pairs = calloc(n, sizeof(*r.pairs));
	r.all = calloc(5 * n, sizeof(*r.all));
	r.buf = malloc(CHUNK);
	if (!r.pairs || !r.all || !r.buf) {
		err = fail(&r, -ENOMEM, "failed to allocate the profile: %s", strerror(ENOMEM));
		close_all(&r);
		return err;
	}
	/* the session starts before the devices are opened: opening takes time too */
	ms_stream__begin(s, now(&r), MS_SESSION_PROFILE, r.limit, r.bw, TRACK_PAGE);
	r.srcs = r.all + 2 * n;
	r.dsts = r.all + 3 * n;
	r.resume = r.all + 4 * n;
	for (size_t i = 0; i < n; i++) {
		err = open_pair(&r, o, &specs[i], i);
		if (err) {
			res->end_ns = now(&r);
			close_all(&r);
			return err;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct pair *p = &r.pairs[i];

		r.all[r.nall++] = p->src;
		if (p->dst != p->src) {
			r.all[r.nall++] = p->dst;
			r.dsts[r.ndst++] = p->dst;
		}
		r.srcs[i] = p->src;
		r.resume[i] = p->dst;
	}
	res->pairs = (uint32_t)n;
	register_pairs(&r);
	err = watch_arcs(&r, o);
	if (err) {
		unwatch_arcs(&r);
		res->end_ns = now(&r);
		close_all(&r);
		return err;
	}
	r.clock.pump = pump;
	r.clock.pump_ctx = &r;
	err = migrate(&r);
	if (err)
		recover(&r);
	unwatch_arcs(&r);
	res->end_ns = now(&r);
	r.clock.pump = NULL;
	close_all(&r);
	return err;
}
