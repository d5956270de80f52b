// SPDX-License-Identifier: GPL-2.0-only
/* Parsing --device specifications and the reference device's options. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <migscope/devspec.h>
#include <migscope/parse.h>
#include <migscope/vfio_compat.h>
#include <migscope/vfio_fsm.h>

#define MS_REF_PAGE   4096ull
#define REF_STATE_MAX (16ull << 30)
#define REF_WS_MAX    (1ull << 40)

const char ms_ref_params_help[] =
    "  iface=vfio|virtio  VFIO v2 device, or virtio member device via admin commands (vfio)\n"
    "  name=NAME          device name (ref0, ref1, ...)\n"
    "  seed=N             workload seed (derived from --seed)\n"
    "  state=SIZE         device state, vfio only (64M)\n"
    "  init=SIZE          pre-copy initial bytes, vfio only; the rest of the state\n"
    "                     moves only in STOP_COPY (all of state)\n"
    "  dirty=RATE         DMA write rate; the writes also dirty device state (16M/s)\n"
    "  ws=SIZE            working set the writes land in (512M)\n"
    "  wsize=SIZE         mean DMA write size (16K)\n"
    "  iova=ADDR          IOVA of the working set (0x100000000)\n"
    "  stop=TIME          latency of stopping: -> STOP / STOP_COPY, Freeze (10ms)\n"
    "  quiesce=TIME       latency of quiescing P2P: -> RUNNING_P2P, Stop (1ms)\n"
    "  start=TIME         latency of each arc back up towards RUNNING (2ms)\n"
    "  load=TIME          latency of RESUMING -> STOP, checking the loaded state (5ms)\n"
    "  reinit=N           REINIT events during pre-copy, vfio only (0)\n"
    "  rsize=SIZE         new initial bytes per REINIT (state/4)\n"
    "  rgap=TIME          time at zero initial bytes before a REINIT (100ms)\n"
    "  hide=N             pages whose writes the DMA-unmap source never sees (0)\n"
    "  p2p=on|off         supports the P2P states (on)\n"
    "  precopy=on|off     supports PRE_COPY (on)\n"
    "  v2=on|off          supports PRECOPY_INFOv2, REINIT reporting (on)\n"
    "  track=on|off       device dirty tracking: DMA logging / write records (on)\n"
    "  vqs=N              virtqueues, virtio only (4)\n"
    "  fail=STATE         the arc into STATE fails and the device goes to ERROR\n"
    "  fault=NAME[@N]     misbehave the N-th time: read_len, corrupt, report (vfio);\n"
    "                     ctx_len, tlv, field_len, wr_count, wr_read, mode (virtio)\n";

static const char *const fault_names[MS_REF_FAULT__MAX] = {
	[MS_REF_FAULT_NONE] = "none",		[MS_REF_FAULT_READ_LEN] = "read_len",
	[MS_REF_FAULT_CORRUPT] = "corrupt",	[MS_REF_FAULT_REPORT] = "report",
	[MS_REF_FAULT_CTX_LEN] = "ctx_len",	[MS_REF_FAULT_TLV] = "tlv",
	[MS_REF_FAULT_FIELD_LEN] = "field_len", [MS_REF_FAULT_WR_COUNT] = "wr_count",
	[MS_REF_FAULT_WR_READ] = "wr_read",	[MS_REF_FAULT_MODE] = "mode",
};

/* Which options were given, for the checks that depend on the interface. */
enum {
	GIVEN_STATE = 1u << 0,
	GIVEN_INIT = 1u << 1,
	GIVEN_REINIT = 1u << 2,
	GIVEN_VQS = 1u << 3,
	GIVEN_RSIZE = 1u << 4,
};

void ms_ref_params__defaults(struct ms_ref_params *p)
{
	memset(p, 0, sizeof(*p));
	p->iface = MS_REF_IFACE_VFIO;
	p->state = 64ull << 20;
	p->dirty = 16ull << 20;
	p->ws = 512ull << 20;
	p->wsize = 16ull << 10;
	p->iova = 1ull << 32;
	p->stop_ns = 10000000;
	p->p2p_ns = 1000000;
	p->start_ns = 2000000;
	p->load_ns = 5000000;
	p->init = MS_REF_ALL;
	p->reinit_bytes = MS_REF_ALL;
	p->reinit_gap_ns = 100000000;
	p->caps = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P | VFIO_MIGRATION_PRE_COPY;
	p->v2 = 1;
	p->track = 1;
	p->vqs = 4;
	p->fail_to = MS_REF_NO_STATE;
	p->fault = MS_REF_FAULT_NONE;
	p->fault_at = 1;
}

static int on_off(const char *v, int *out)
{
	if (!strcmp(v, "on") || !strcmp(v, "1") || !strcmp(v, "yes")) {
		*out = 1;
		return 0;
	}
	if (!strcmp(v, "off") || !strcmp(v, "0") || !strcmp(v, "no")) {
		*out = 0;
		return 0;
	}
	return -EINVAL;
}

static int valid_name(const char *v)
{
	size_t n = strlen(v);

	if (!n || n >= MS_DEV_NAME_LEN)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)v[i]) && !strchr("_.-", v[i]))
			return 0;
	return 1;
}

static int set_cap(struct ms_ref_params *p, uint32_t cap, const char *v)
{
	int on;

	if (on_off(v, &on))
		return -EINVAL;
	if (on)
		p->caps |= cap;
	else
		p->caps &= ~cap;
	return 0;
}

static int parse_fault(struct ms_ref_params *p, const char *v)
{
	char name[32];
	const char *at = strchr(v, '@');
	size_t n = at ? (size_t)(at - v) : strlen(v);
	uint64_t nth = 1;

	if (n >= sizeof(name))
		return -EINVAL;
	memcpy(name, v, n);
	name[n] = 0;
	if (at && (ms_parse_u64(at + 1, &nth) || !nth || nth > UINT32_MAX))
		return -EINVAL;
	for (unsigned int i = 0; i < MS_REF_FAULT__MAX; i++)
		if (!strcmp(name, fault_names[i])) {
			p->fault = (uint8_t)i;
			p->fault_at = (uint32_t)nth;
			return 0;
		}
	return -EINVAL;
}

int ms_ref_params__set(struct ms_ref_params *p, const char *key, const char *val, char *err,
		       size_t errlen)
{
	uint64_t v = 0;
	int r = -EINVAL, b;
	const char *what = "a value";

	if (!strcmp(key, "iface")) {
		what = "vfio or virtio";
		if (!strcmp(val, "vfio") || !strcmp(val, "virtio")) {
			p->iface = strcmp(val, "virtio") ? MS_REF_IFACE_VFIO : MS_REF_IFACE_VIRTIO;
			r = 0;
		}
	} else if (!strcmp(key, "name")) {
		what = "a name of letters, digits, '_', '.', '-' (at most 63)";
		if (valid_name(val)) {
			snprintf(p->name, sizeof(p->name), "%s", val);
			r = 0;
		}
	} else if (!strcmp(key, "seed")) {
		what = "a number";
		r = ms_parse_u64(val, &p->seed);
		p->seed_set = !r;
	} else if (!strcmp(key, "state")) {
		what = "a size";
		r = ms_parse_size(val, &p->state);
		p->given |= GIVEN_STATE;
	} else if (!strcmp(key, "init")) {
		what = "a size";
		r = ms_parse_size(val, &p->init);
		p->given |= GIVEN_INIT;
	} else if (!strcmp(key, "dirty")) {
		what = "a rate such as 40M/s";
		r = ms_parse_rate(val, &p->dirty);
	} else if (!strcmp(key, "ws")) {
		what = "a size";
		r = ms_parse_size(val, &p->ws);
	} else if (!strcmp(key, "wsize")) {
		what = "a size";
		r = ms_parse_size(val, &p->wsize);
	} else if (!strcmp(key, "iova")) {
		what = "an address";
		r = ms_parse_u64(val, &p->iova);
	} else if (!strcmp(key, "stop")) {
		what = "a time such as 10ms";
		r = ms_parse_duration(val, &p->stop_ns);
	} else if (!strcmp(key, "quiesce")) {
		what = "a time such as 1ms";
		r = ms_parse_duration(val, &p->p2p_ns);
	} else if (!strcmp(key, "start")) {
		what = "a time such as 2ms";
		r = ms_parse_duration(val, &p->start_ns);
	} else if (!strcmp(key, "load")) {
		what = "a time such as 5ms";
		r = ms_parse_duration(val, &p->load_ns);
	} else if (!strcmp(key, "reinit")) {
		what = "a number up to 1000";
		r = ms_parse_u64(val, &v);
		if (!r && v > 1000)
			r = -ERANGE;
		p->reinit = (uint32_t)v;
		p->given |= GIVEN_REINIT;
	} else if (!strcmp(key, "rsize")) {
		what = "a size";
		r = ms_parse_size(val, &p->reinit_bytes);
		p->given |= GIVEN_RSIZE;
	} else if (!strcmp(key, "rgap")) {
		what = "a time";
		r = ms_parse_duration(val, &p->reinit_gap_ns);
	} else if (!strcmp(key, "hide")) {
		what = "a number of pages";
		r = ms_parse_u64(val, &v);
		if (!r && v > 1000000)
			r = -ERANGE;
		p->hide = (uint32_t)v;
	} else if (!strcmp(key, "p2p")) {
		what = "on or off";
		r = set_cap(p, VFIO_MIGRATION_P2P, val);
	} else if (!strcmp(key, "precopy")) {
		what = "on or off";
		r = set_cap(p, VFIO_MIGRATION_PRE_COPY, val);
	} else if (!strcmp(key, "v2")) {
		what = "on or off";
		r = on_off(val, &b);
		p->v2 = b;
	} else if (!strcmp(key, "track")) {
		what = "on or off";
		r = on_off(val, &b);
		p->track = b;
	} else if (!strcmp(key, "vqs")) {
		what = "a number from 1 to 64";
		r = ms_parse_u64(val, &v);
		if (!r && (v < 1 || v > 64))
			r = -ERANGE;
		p->vqs = (uint32_t)v;
		p->given |= GIVEN_VQS;
	} else if (!strcmp(key, "fail")) {
		what = "a VFIO state such as stop_copy";
		r = ms_vfio_state_parse(val, &p->fail_to);
		if (!r && p->fail_to == VFIO_DEVICE_STATE_ERROR)
			r = -EINVAL;
	} else if (!strcmp(key, "fault")) {
		what = "read_len, corrupt, report, ctx_len, tlv, field_len, wr_count, wr_read or "
		       "mode, optionally @N";
		r = parse_fault(p, val);
	} else {
		snprintf(err, errlen, "ref: unknown option '%s'", key);
		return -EINVAL;
	}
	if (r) {
		snprintf(err, errlen, "ref: %s='%s' is not %s", key, val, what);
		return -EINVAL;
	}
	return 0;
}

int ms_ref_params__check(const struct ms_ref_params *p, char *err, size_t errlen)
{
	const char *n = p->name[0] ? p->name : "ref";
	int virtio = p->iface == MS_REF_IFACE_VIRTIO;

#define BAD(...)                                                                                   \
	do {                                                                                       \
		int _k = snprintf(err, errlen, "%s: ", n);                                         \
		snprintf(err + (_k > 0 && (size_t)_k < errlen ? _k : 0),                           \
			 errlen - (_k > 0 && (size_t)_k < errlen ? (size_t)_k : 0), __VA_ARGS__);  \
		return -EINVAL;                                                                    \
	} while (0)

	if (!(p->caps & VFIO_MIGRATION_STOP_COPY))
		BAD("a migratable device supports STOP_COPY");
	if (virtio && (p->given & (GIVEN_STATE | GIVEN_INIT | GIVEN_REINIT | GIVEN_RSIZE)))
		BAD("state=, init=, reinit= and rsize= apply to iface=vfio (a virtio device's "
		    "state is its device context)");
	if (!virtio && (p->given & GIVEN_VQS))
		BAD("vqs= applies to iface=virtio");
	if (!virtio) {
		if (p->state < MS_REF_PAGE || p->state % MS_REF_PAGE || p->state > REF_STATE_MAX)
			BAD("state=%llu must be a multiple of 4K from 4K to 16G",
			    (unsigned long long)p->state);
		if (p->init != MS_REF_ALL && (p->init > p->state || p->init % MS_REF_PAGE))
			BAD("init=%llu must be a multiple of 4K up to state=%llu",
			    (unsigned long long)p->init, (unsigned long long)p->state);
		if (p->reinit_bytes != MS_REF_ALL && p->reinit_bytes > p->state)
			BAD("rsize=%llu is more than state=%llu",
			    (unsigned long long)p->reinit_bytes, (unsigned long long)p->state);
		if (p->reinit && !(p->caps & VFIO_MIGRATION_PRE_COPY))
			BAD("reinit= needs precopy=on");
	}
	if (p->ws < MS_REF_PAGE || p->ws % MS_REF_PAGE || p->ws > REF_WS_MAX)
		BAD("ws=%llu must be a multiple of 4K from 4K to 1T", (unsigned long long)p->ws);
	if (p->wsize < MS_REF_PAGE || p->wsize > p->ws)
		BAD("wsize=%llu must be from 4K to ws", (unsigned long long)p->wsize);
	if (p->iova % MS_REF_PAGE || p->iova + p->ws < p->iova)
		BAD("iova=0x%llx must be 4K-aligned with the working set below 2^64",
		    (unsigned long long)p->iova);
	if (p->hide > p->ws / MS_REF_PAGE)
		BAD("hide=%u is more than the %llu pages of the working set", p->hide,
		    (unsigned long long)(p->ws / MS_REF_PAGE));
	if (p->fail_to != MS_REF_NO_STATE && !ms_vfio_fsm__supported(p->caps, p->fail_to))
		BAD("fail= names a state this device does not have");
	if (p->fault != MS_REF_FAULT_NONE) {
		int vfio_fault = p->fault == MS_REF_FAULT_READ_LEN ||
				 p->fault == MS_REF_FAULT_CORRUPT ||
				 p->fault == MS_REF_FAULT_REPORT;

		if (vfio_fault == virtio)
			BAD("fault=%s applies to iface=%s", fault_names[p->fault],
			    vfio_fault ? "vfio" : "virtio");
	}
#undef BAD
	return 0;
}

static int parse_track(const char *v, struct ms_range *r)
{
	char buf[64];
	char *plus;
	size_t n = strlen(v);
	uint64_t iova, len;

	if (n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, v, n + 1);
	plus = strchr(buf, '+');
	if (!plus)
		return -EINVAL;
	*plus = 0;
	if (ms_parse_u64(buf, &iova) || ms_parse_size(plus + 1, &len) || !len || iova + len < iova)
		return -EINVAL;
	r->iova = iova;
	r->len = len;
	return 0;
}

static int parse_vfio(const char *rest, struct ms_devspec *out, char *err, size_t errlen)
{
	char buf[1024];
	char *save = NULL, *tok;
	size_t n = strlen(rest);
	int first = 1;

	if (n >= sizeof(buf)) {
		snprintf(err, errlen, "vfio: specification is longer than %zu bytes",
			 sizeof(buf) - 1);
		return -EINVAL;
	}
	memcpy(buf, rest, n + 1);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save), first = 0) {
		char *eq = strchr(tok, '=');

		if (first) {
			if (eq || strlen(tok) >= sizeof(out->path)) {
				snprintf(err, errlen, "vfio: '%s' is not a device path", tok);
				return -EINVAL;
			}
			snprintf(out->path, sizeof(out->path), "%s", tok);
			continue;
		}
		if (!eq) {
			snprintf(err, errlen, "vfio: option '%s' has no value", tok);
			return -EINVAL;
		}
		*eq++ = 0;
		if (!strcmp(tok, "dest") && strlen(eq) && strlen(eq) < sizeof(out->dest)) {
			snprintf(out->dest, sizeof(out->dest), "%s", eq);
		} else if (!strcmp(tok, "name") && valid_name(eq)) {
			snprintf(out->name, sizeof(out->name), "%s", eq);
		} else if (!strcmp(tok, "track") && out->nr_track < MS_DEVSPEC_MAX_TRACK &&
			   !parse_track(eq, &out->track[out->nr_track])) {
			out->nr_track++;
		} else if (!strcmp(tok, "dest") || !strcmp(tok, "name") || !strcmp(tok, "track")) {
			snprintf(err, errlen, "vfio: %s='%s' is not valid%s", tok, eq,
				 !strcmp(tok, "track") ? " (IOVA+LEN, at most 16)" : "");
			return -EINVAL;
		} else {
			snprintf(err, errlen, "vfio: unknown option '%s' (dest, name, track)", tok);
			return -EINVAL;
		}
	}
	if (!out->path[0]) {
		snprintf(err, errlen, "vfio: no device path (vfio:/dev/vfio/devices/vfioN)");
		return -EINVAL;
	}
	return 0;
}

static int parse_ref(const char *rest, struct ms_devspec *out, char *err, size_t errlen)
{
	char buf[1024];
	char *save = NULL, *tok;
	size_t n = strlen(rest);

	if (n >= sizeof(buf)) {
		snprintf(err, errlen, "ref: specification is longer than %zu bytes",
			 sizeof(buf) - 1);
		return -EINVAL;
	}
	memcpy(buf, rest, n + 1);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq) {
			snprintf(err, errlen, "ref: option '%s' has no value (key=value)", tok);
			return -EINVAL;
		}
		*eq = 0;
		if (ms_ref_params__set(&out->ref, tok, eq + 1, err, errlen))
			return -EINVAL;
	}
	snprintf(out->name, sizeof(out->name), "%s", out->ref.name);
	return ms_ref_params__check(&out->ref, err, errlen);
}

int ms_devspec__parse(const char *spec, struct ms_devspec *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	ms_ref_params__defaults(&out->ref);
	if (!strcmp(spec, "ref") || !strncmp(spec, "ref:", 4)) {
		out->kind = MS_DEVSPEC_REF;
		return parse_ref(spec[3] ? spec + 4 : "", out, err, errlen);
	}
	if (!strncmp(spec, "vfio:", 5)) {
		out->kind = MS_DEVSPEC_VFIO;
		return parse_vfio(spec + 5, out, err, errlen);
	}
	snprintf(err, errlen, "'%s' is not a device: use ref[:options] or vfio:PATH", spec);
	return -EINVAL;
}
