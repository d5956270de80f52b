// SPDX-License-Identifier: GPL-2.0-only
/*
 * QEMU's trace log: lines -> records.
 *
 * Every format is a row of one table (formats[] below), written as QEMU's own
 * format string from migration/trace-events and hw/vfio/trace-events with
 * PRIu64/PRIx64 spelled %u/%x and each conversion tagged with the slot its
 * value goes to ("%u{pre}").  An event has one row per format it has had
 * across QEMU versions; the first row that matches the whole argument text
 * wins.  Matching is linear: a %s ends at the first occurrence of the literal
 * that follows it, so a hostile line cannot make the matcher backtrack.
 *
 * A few events are parsed by labels instead (fmt == NULL): their arguments
 * are "label value" pairs in an order that has changed between releases or
 * that no released source here could confirm, and reading the labels keeps
 * them working without guessing an exact layout.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <migscope/loop.h>
#include <migscope/vfio_compat.h>
#include <migscope/vfio_fsm.h>
#include <migscope/qemu.h>
#include <migscope/pass.h>
#include <migscope/qemu_trace.h>

/* --- slots: where a captured value goes ----------------------------------- */

enum slot {
	S_DEV,	   /* vfio device name */
	S_IDSTR,   /* savevm section idstr */
	S_SECTION, /* section id */
	S_RET,
	S_TOTAL,
	S_MAX,
	S_PRE,
	S_COMPAT,
	S_POST,
	S_STOP,
	S_INIT,
	S_DIRTY,
	S_SIZE,
	S_STATE,
	S_RECOVER,
	S_TYPE,
	S_INST,
	S_VER,
	S_DUR,
	S_CKPT,
	S_OFF,
	S_PENDING,
	S_FROM,
	S_FROMNAME,
	S_TO,
	S__MAX,
};

static const char *const slot_names[S__MAX] = {
	[S_DEV] = "dev",	 [S_IDSTR] = "idstr",	[S_SECTION] = "section",
	[S_RET] = "ret",	 [S_TOTAL] = "total",	[S_MAX] = "max",
	[S_PRE] = "pre",	 [S_COMPAT] = "compat", [S_POST] = "post",
	[S_STOP] = "stop",	 [S_INIT] = "init",	[S_DIRTY] = "dirty",
	[S_SIZE] = "size",	 [S_STATE] = "state",	[S_RECOVER] = "recover",
	[S_TYPE] = "type",	 [S_INST] = "inst",	[S_VER] = "ver",
	[S_DUR] = "dur",	 [S_CKPT] = "ckpt",	[S_OFF] = "off",
	[S_PENDING] = "pending", [S_FROM] = "from",	[S_FROMNAME] = "fromname",
	[S_TO] = "to",
};

struct cap {
	const char *s; /* %s: text and length (not NUL-terminated) */
	size_t len;
	uint64_t u; /* %u, %x */
	int64_t i;  /* %d (also set for %u/%x that fit) */
	int set;
	int is_num;
};

/* --- what a row turns into ------------------------------------------------- */

enum kind {
	K_PENDING,	     /* migrate_pending*: precopy/postcopy/threshold */
	K_SYNC,		     /* migration_bitmap_sync_end: the next pending is exact */
	K_SAVE_START,	     /* savevm_section_start */
	K_SAVE_END,	     /* savevm_section_end */
	K_LOAD_HEADER,	     /* qemu_loadvm_state_section: a new section begins */
	K_LOAD_START,	     /* qemu_loadvm_state_section_startfull / _partend */
	K_LOAD_DONE,	     /* qemu_loadvm_state_post_main: the last section ended */
	K_DT_SAVE,	     /* vmstate_downtime_save */
	K_DT_LOAD,	     /* vmstate_downtime_load */
	K_DT_CHECKPOINT,     /* vmstate_downtime_checkpoint */
	K_VFIO_STATE_V1,     /* v1 device_state bits, traced after the write */
	K_VFIO_STATE_NOW,    /* the device is now in state X */
	K_VFIO_STATE_REQ,    /* QEMU asks for state X (9.1+: traced before the ioctl) */
	K_VFIO_PENDING_V1,   /* v1: the device's own pending bytes */
	K_VFIO_PRECOPY,	     /* initial and dirty pre-copy bytes */
	K_VFIO_EXACT,	     /* stop-copy size and, from 8.1, initial and dirty bytes */
	K_VFIO_STOPCOPY,     /* stop-copy size alone */
	K_VFIO_DATA,	     /* bytes read from the device (phase from its state) */
	K_VFIO_DATA_PRECOPY, /* v1 save_iterate: bytes read in pre-copy */
	K_VFIO_LOAD_DATA,    /* bytes written to the destination device */
	K_VFIO_SEEN,	     /* understood; carries nothing the stream records */
	K_LOW_PENDING,	     /* migration_thread_low_pending: the source goes to stop the VM */
	K_VM_STOPPED,	     /* migration_completion_vm_stop: the vCPUs stopped */
	K_RUNSTATE,	     /* runstate_set: finish-migrate and postmigrate bound the downtime */
};

struct format {
	const char *event;
	const char *fmt; /* NULL: parsed by labels */
	enum kind kind;
	uint8_t exact;	     /* K_PENDING: 1 for an exact query */
	const char *version; /* QEMU releases with this format (documentation) */
	/* rows parsed by labels: the labels of the USDT probe's arguments, in order */
	const char *args;
};

/*
 * The table.  Rows of one event are tried in order, so a format whose text
 * is a prefix-compatible variant of another (v1 "state %d" before v2
 * "state %s") comes first.
 */
static const struct format formats[] = {
	/* RAM and every other iterative section: what is still to send */
	{ "migrate_pending",
	  "pending size %u{total} max %u{max} (pre = %u{pre} compat=%u{compat} post=%u{post})",
	  K_PENDING, 0, "<= 7.2" },
	{ "migrate_pending_exact", "exact pending size %u{total} (pre = %u{pre} post=%u{post})",
	  K_PENDING, 1, "8.0 - 11.0" },
	{ "migrate_pending_exact",
	  "exact pending size %u{total} (pre = %u{pre} compat=%u{compat} post=%u{post})", K_PENDING,
	  1, "8.0 development" },
	{ "migrate_pending_exact",
	  "exact pending size %u{total} max %u{max} (pre = %u{pre} compat=%u{compat} "
	  "post=%u{post})",
	  K_PENDING, 1, "8.0 development" },
	{ "migrate_pending_exact",
	  "pending size %u{total} max %u{max} (pre = %u{pre} post=%u{post})", K_PENDING, 1,
	  "8.0 development" },
	{ "migrate_pending_estimate",
	  "estimate pending size %u{total} (pre = %u{pre} post=%u{post})", K_PENDING, 0,
	  "8.0 - 11.0" },
	{ "migrate_pending_estimate",
	  "estimate pending size %u{total} (pre = %u{pre} compat=%u{compat} post=%u{post})",
	  K_PENDING, 0, "8.0 development" },
	{ "migrate_pending_estimate",
	  "estimate pending size %u{total} max %u{max} (pre = %u{pre} compat=%u{compat} "
	  "post=%u{post})",
	  K_PENDING, 0, "8.0 development" },
	{ "migrate_pending_estimate",
	  "pending size %u{total} max %u{max} (pre = %u{pre} post=%u{post})", K_PENDING, 0,
	  "8.0 development" },
	{ "qemu_savevm_query_pending", NULL, K_PENDING, 0, "11.1+ (by labels)" },
	{ "migration_bitmap_sync_end", "dirty_pages %u{dirty}", K_SYNC, 0, "all" },
	/* the marks around QEMU's downtime clock (QEMU < 8.2 has no checkpoint there) */
	{ "migration_thread_low_pending", "%u{pending}", K_LOW_PENDING, 0, "all" },
	{ "migration_completion_vm_stop", "ret %d{ret}", K_VM_STOPPED, 0, "all" },
	{ "runstate_set", "current_run_state %d{from} (%s{fromname}) new_state %d{to} (%s{state})",
	  K_RUNSTATE, 0, "all" },

	/* savevm / loadvm sections */
	{ "savevm_section_start", "%s{idstr}, section_id %u{section}", K_SAVE_START, 0, "all" },
	{ "savevm_section_end", "%s{idstr}, section_id %u{section} -> %d{ret}", K_SAVE_END, 0,
	  "all" },
	{ "qemu_loadvm_state_section", "%u{type}", K_LOAD_HEADER, 0, "all" },
	{ "qemu_loadvm_state_section_startfull", "%u{section}(%s{idstr}) %u{inst} %u{ver}",
	  K_LOAD_START, 0, "all" },
	{ "qemu_loadvm_state_section_partend", "%u{section}", K_LOAD_START, 0, "all" },
	{ "qemu_loadvm_state_post_main", "%d{ret}", K_LOAD_DONE, 0, "all" },

	/* downtime accounting, QEMU >= 8.2 */
	{ "vmstate_downtime_save",
	  "type=%s{type} idstr=%s{idstr} instance_id=%d{inst} downtime=%d{dur}", K_DT_SAVE, 0,
	  "8.2+" },
	{ "vmstate_downtime_load",
	  "type=%s{type} idstr=%s{idstr} instance_id=%d{inst} downtime=%d{dur}", K_DT_LOAD, 0,
	  "8.2+" },
	{ "vmstate_downtime_checkpoint", "%s{ckpt}", K_DT_CHECKPOINT, 0, "8.2+" },

	/* vfio device state */
	{ "vfio_migration_set_state", " (%s{dev}) state %d{state}", K_VFIO_STATE_V1, 0,
	  "<= 7.2 (v1)" },
	{ "vfio_migration_set_state", " (%s{dev}) state %s{state}", K_VFIO_STATE_NOW, 0,
	  "8.0 - 9.0" },
	{ "vfio_migration_set_state", " (%s{dev}) new state %s{state}, recover state %s{recover}",
	  K_VFIO_STATE_REQ, 0, "9.1+" },
	{ "vfio_migration_set_device_state", " (%s{dev}) state %s{state}", K_VFIO_STATE_NOW, 0,
	  "9.1+" },

	/* vfio pending bytes */
	{ "vfio_update_pending", " (%s{dev}) pending 0x%x{size}", K_VFIO_PENDING_V1, 0,
	  "<= 7.2 (v1)" },
	/* running sums over every handler queried so far: not the device's own */
	{ "vfio_save_pending",
	  " (%s{dev}) precopy 0x%x{pre} postcopy 0x%x{post} compatible 0x%x{compat}", K_VFIO_SEEN,
	  0, "<= 7.2 (v1)" },
	{ "vfio_state_pending",
	  " (%s{dev}) precopy 0x%x{pre} postcopy 0x%x{post} compatible 0x%x{compat}", K_VFIO_SEEN,
	  0, "8.0 development" },
	{ "vfio_state_pending", " (%s{dev}) precopy 0x%x{pre} postcopy 0x%x{post}", K_VFIO_SEEN, 0,
	  "8.0 development" },
	{ "vfio_state_pending_exact",
	  " (%s{dev}) precopy 0x%x{pre} postcopy 0x%x{post} stopcopy size 0x%x{stop}", K_VFIO_EXACT,
	  0, "8.0" },
	{ "vfio_state_pending_exact",
	  " (%s{dev}) precopy 0x%x{pre} postcopy 0x%x{post} compatible 0x%x{compat} stopcopy size "
	  "0x%x{stop}",
	  K_VFIO_EXACT, 0, "8.0 development" },
	{ "vfio_state_pending_exact",
	  " (%s{dev}) precopy 0x%x{pre} postcopy 0x%x{post} stopcopy size 0x%x{stop} precopy "
	  "initial size 0x%x{init} precopy dirty size 0x%x{dirty}",
	  K_VFIO_EXACT, 0, "8.1 - 8.2" },
	{ "vfio_state_pending_exact",
	  " (%s{dev}) precopy %u{pre} postcopy %u{post} stopcopy size %u{stop} precopy initial "
	  "size %u{init} precopy dirty size %u{dirty}",
	  K_VFIO_EXACT, 0, "9.0+" },
	{ "vfio_state_pending_estimate",
	  " (%s{dev}) precopy 0x%x{pre} postcopy 0x%x{post} precopy initial size 0x%x{init} "
	  "precopy dirty size 0x%x{dirty}",
	  K_VFIO_PRECOPY, 0, "8.1 - 8.2" },
	{ "vfio_state_pending_estimate",
	  " (%s{dev}) precopy %u{pre} postcopy %u{post} precopy initial size %u{init} precopy "
	  "dirty size %u{dirty}",
	  K_VFIO_PRECOPY, 0, "9.0+" },
	{ "vfio_query_precopy_size", NULL, K_VFIO_PRECOPY, 0, "newest (by labels)",
	  "dev init dirty" },
	{ "vfio_query_stop_copy_size", NULL, K_VFIO_STOPCOPY, 0, "newest (by labels)", "dev stop" },

	/* vfio data */
	{ "vfio_save_iterate", " (%s{dev}) data_size %d{size}", K_VFIO_DATA_PRECOPY, 0,
	  "<= 7.2 (v1)" },
	{ "vfio_save_iterate",
	  " (%s{dev}) precopy initial size 0x%x{init} precopy dirty size 0x%x{dirty}",
	  K_VFIO_PRECOPY, 0, "8.1 - 8.2" },
	{ "vfio_save_iterate",
	  " (%s{dev}) precopy initial size %u{init} precopy dirty size %u{dirty}", K_VFIO_PRECOPY,
	  0, "9.0+" },
	{ "vfio_save_buffer", " (%s{dev}) Offset 0x%x{off} size 0x%x{size} pending 0x%x{pending}",
	  K_VFIO_DATA, 0, "<= 7.2 (v1)" },
	{ "vfio_save_block", " (%s{dev}) data_size %d{size}", K_VFIO_DATA, 0, "8.0+" },
	{ "vfio_save_complete_precopy", " (%s{dev})", K_VFIO_SEEN, 0, "<= 7.2 (v1)" },
	{ "vfio_save_complete_precopy", " (%s{dev}) ret %d{ret}", K_VFIO_SEEN, 0, "8.0+" },
	{ "vfio_save_complete_precopy_start", " (%s{dev})", K_VFIO_SEEN, 0, "9.2+" },
	{ "vfio_save_complete_precopy_thread_start", " (%s{dev}) idstr %s{idstr} instance %u{inst}",
	  K_VFIO_SEEN, 0, "10.0+" },
	{ "vfio_save_complete_precopy_thread_end", " (%s{dev}) ret %d{ret}", K_VFIO_SEEN, 0,
	  "10.0+" },
	{ "vfio_load_state_device_data", " (%s{dev}) Offset 0x%x{off} size 0x%x{size}",
	  K_VFIO_LOAD_DATA, 0, "<= 7.2 (v1)" },
	{ "vfio_load_state_device_data", " (%s{dev}) size 0x%x{size} ret %d{ret}", K_VFIO_LOAD_DATA,
	  0, "8.0 - 8.2" },
	{ "vfio_load_state_device_data", " (%s{dev}) size %u{size} ret %d{ret}", K_VFIO_LOAD_DATA,
	  0, "9.0+" },
};

const char *const ms_qemu_trace_enable[] = {
	/* a name QEMU lacks is a warning at its start, a pattern matching nothing is not */
	"migrate_pending*",
	"qemu_savevm_query_pending*",
	"migration_bitmap_sync_end",
	"migration_thread_low_pending",
	"migration_completion_vm_stop",
	"runstate_set",
	"savevm_section_start",
	"savevm_section_end",
	"qemu_loadvm_state_section*",
	"qemu_loadvm_state_post_main",
	"vmstate_downtime*",
	"vfio_migration_set_*",
	"vfio_update_pending*",
	"vfio_save_*",
	"vfio_state_pending*",
	"vfio_query_*",
	"vfio_load_state_device_data*",
	NULL,
};

/* QEMU's checkpoint names (migration.c, savevm.c), in migscope's fixed order. */
static const char *const checkpoints[] = {
	"src-downtime-start",	     "src-vm-stopped",
	"src-iterable-saved",	     "src-non-iterable-saved",
	"src-downtime-end",	     "dst-precopy-loadvm-completed",
	"dst-precopy-bh-enter",	     "dst-precopy-bh-announced",
	"dst-precopy-bh-vm-started", "dst-postcopy-bh-enter",
	"dst-postcopy-bh-announced", "dst-postcopy-bh-vm-started",
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

const char *ms_qemu_checkpoint_name(uint32_t idx)
{
	return idx < ARRAY_SIZE(checkpoints) ? checkpoints[idx] : "other";
}

uint32_t ms_qemu_checkpoint_index(const char *name, size_t len)
{
	for (uint32_t i = 0; i < ARRAY_SIZE(checkpoints); i++)
		if (strlen(checkpoints[i]) == len && !memcmp(checkpoints[i], name, len))
			return i;
	return MS_QEMU_CHECKPOINT_OTHER;
}

/* --- the matcher ------------------------------------------------------------ */

static int slot_of(const char *name, size_t len)
{
	for (int i = 0; i < S__MAX; i++)
		if (strlen(slot_names[i]) == len && !memcmp(slot_names[i], name, len))
			return i;
	return -1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Digits in base at p; *out gets the value.  Returns the end, or NULL (none, or overflow). */
static const char *scan_u64(const char *p, const char *end, unsigned int base, uint64_t *out)
{
	const char *start = p;
	uint64_t v = 0;
	int d;

	while (p < end && (d = hexval(*p)) >= 0 && (unsigned int)d < base) {
		if (v > (UINT64_MAX - (uint64_t)d) / base)
			return NULL;
		v = v * base + (uint64_t)d;
		p++;
	}
	if (p == start)
		return NULL;
	*out = v;
	return p;
}

/*
 * Match text [p, end) against fmt, filling caps.  The literal after a %s
 * (up to the next conversion or the end of fmt) is searched for; with none
 * the %s takes the rest of the line.  Returns 0 on a whole match.
 */
static int match(const char *fmt, const char *p, const char *end, struct cap *caps)
{
	while (*fmt) {
		const char *tag, *tag_end, *lit, *lit_end, *q;
		int slot, neg = 0;
		uint64_t u;
		char conv;

		if (*fmt != '%') {
			if (p == end || *p != *fmt)
				return -1;
			p++;
			fmt++;
			continue;
		}
		conv = fmt[1];
		if (fmt[2] != '{' || !(tag_end = strchr(fmt + 3, '}')))
			return -1; /* a table bug; the unit tests match every row */
		tag = fmt + 3;
		slot = slot_of(tag, (size_t)(tag_end - tag));
		if (slot < 0)
			return -1;
		fmt = tag_end + 1;
		caps[slot].set = 1;
		switch (conv) {
		case 'u':
		case 'x':
			q = scan_u64(p, end, conv == 'u' ? 10 : 16, &u);
			if (!q)
				return -1;
			caps[slot].u = u;
			caps[slot].i = u <= INT64_MAX ? (int64_t)u : INT64_MAX;
			caps[slot].is_num = 1;
			p = q;
			break;
		case 'd':
			if (p < end && *p == '-') {
				neg = 1;
				p++;
			}
			q = scan_u64(p, end, 10, &u);
			if (!q || u > (uint64_t)INT64_MAX + neg)
				return -1;
			caps[slot].i = neg ? (int64_t)(0 - u) : (int64_t)u;
			caps[slot].u = neg ? 0 : u;
			caps[slot].is_num = 1;
			p = q;
			break;
		case 's':
			lit = fmt;
			lit_end = strchr(lit, '%');
			if (!lit_end)
				lit_end = lit + strlen(lit);
			if (lit == lit_end) {
				q = end;
			} else {
				q = memmem(p, (size_t)(end - p), lit, (size_t)(lit_end - lit));
				if (!q)
					return -1;
			}
			caps[slot].s = p;
			caps[slot].len = (size_t)(q - p);
			p = q;
			break;
		default:
			return -1;
		}
	}
	return p == end ? 0 : -1;
}

/*
 * Label parsing: "word value" / "word=value" / "word = value" pairs, where a
 * value is a decimal or 0x-hex number and "size"/"bytes" take the label of
 * the word before them ("stopcopy size 123").  A leading " (name)" is the
 * device.  Unknown labels are ignored.
 */
static const struct {
	const char *word;
	enum slot slot;
} labels[] = {
	{ "pre", S_PRE },
	{ "precopy", S_PRE },
	{ "must_precopy", S_PRE },
	{ "post", S_POST },
	{ "postcopy", S_POST },
	{ "can_postcopy", S_POST },
	{ "max", S_MAX },
	{ "threshold", S_MAX },
	{ "threshold_size", S_MAX },
	{ "initial", S_INIT },
	{ "init", S_INIT },
	{ "precopy_init_size", S_INIT },
	{ "dirty", S_DIRTY },
	{ "precopy_dirty_size", S_DIRTY },
	{ "stopcopy", S_STOP },
	{ "stop_copy", S_STOP },
	{ "stop-copy", S_STOP },
	{ "stop_copy_size", S_STOP },
	{ "stopcopy_size", S_STOP },
	{ "total", S_TOTAL },
	{ "pending", S_TOTAL },
};

static int is_word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '-';
}

static int label_slot(const char *w, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(labels); i++)
		if (strlen(labels[i].word) == len && !strncasecmp(labels[i].word, w, len))
			return labels[i].slot;
	return -1;
}

static void match_labels(const char *p, const char *end, struct cap *caps)
{
	const char *word = NULL, *prev = NULL;
	size_t wlen = 0, plen = 0;

	if (p < end && *p == ' ')
		p++;
	if (p < end && *p == '(') {
		const char *q = memchr(p, ')', (size_t)(end - p));

		if (q) {
			caps[S_DEV].s = p + 1;
			caps[S_DEV].len = (size_t)(q - p - 1);
			caps[S_DEV].set = 1;
			p = q + 1;
		}
	}
	while (p < end) {
		const char *q = p;
		uint64_t v;

		if (is_word_char(*p)) {
			while (q < end && (is_word_char(*q) || (*q >= '0' && *q <= '9')))
				q++;
			prev = word;
			plen = wlen;
			word = p;
			wlen = (size_t)(q - p);
			p = q;
			continue;
		}
		if (*p >= '0' && *p <= '9') {
			unsigned int base = 10;
			int slot;

			if (end - p > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
				base = 16;
				p += 2;
			}
			q = scan_u64(p, end, base, &v);
			if (!q) {
				p++;
				continue;
			}
			p = q;
			if (!word)
				continue;
			slot = label_slot(word, wlen);
			if (slot < 0 && prev &&
			    ((wlen == 4 && !strncmp(word, "size", 4)) ||
			     (wlen == 5 && !strncmp(word, "bytes", 5))))
				slot = label_slot(prev, plen);
			if (slot >= 0 && !caps[slot].set) {
				caps[slot].u = v;
				caps[slot].i = v <= INT64_MAX ? (int64_t)v : INT64_MAX;
				caps[slot].set = 1;
				caps[slot].is_num = 1;
			}
			word = prev = NULL;
			continue;
		}
		p++; /* separators: space, '=', ':', ',', '(' ... */
	}
}

/* --- the source -------------------------------------------------------------- */

#define LINE_MAX_LEN 65536

struct vfio_dev {
	uint32_t id;
	int state;     /* enum vfio_device_mig_state, -1 unknown */
	int req_state; /* requested state, -1 none */
	uint64_t req_ts;
	struct ms_pass_seen pass; /* its pre-copy passes: dirty bytes rising again */
	char name[MS_NAME_MAX + 1];
};

struct ms_qemu_trace {
	struct ms_stream *s;
	struct ms_qemu_trace_opts o;
	struct ms_qemu_trace_counts n;

	/* a dirty bitmap sync was traced since the last pending sample */
	int synced;
	/* RAM's passes: each sync's pending sample is a boundary */
	struct ms_pass_seen ram_pass;

	/* the destination's section being loaded (qemu_loadvm_state_section*) */
	int load_open;
	uint32_t load_dev, load_section;
	/* section id -> idstr on the destination, from startfull */
	struct load_section {
		uint32_t section;
		uint32_t dev;
	} * loads;
	size_t nr_loads, cap_loads;

	struct vfio_dev *vfio;
	size_t nr_vfio, cap_vfio;

	/* line assembly */
	char *buf;
	size_t len;
	int overlong;

	/* the followed file */
	struct ms_loop *loop;
	char *path;
	int fd, ino_fd;
	off_t off;
	int closed;
};

struct ms_qemu_trace *ms_qemu_trace__new(struct ms_stream *s, const struct ms_qemu_trace_opts *o)
{
	struct ms_qemu_trace *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->buf = malloc(LINE_MAX_LEN);
	if (!t->buf) {
		free(t);
		return NULL;
	}
	t->s = s;
	if (o)
		t->o = *o;
	t->fd = t->ino_fd = -1;
	return t;
}

static uint64_t stream_ts(const struct ms_qemu_trace *t, uint64_t wall_ns)
{
	int64_t ts = (int64_t)wall_ns + t->o.wall_to_mono_ns;

	return ts > 0 ? (uint64_t)ts : 0;
}

static void publish(struct ms_qemu_trace *t, struct ms_event_hdr *ev)
{
	ms_stream__publish(t->s, ev);
	t->n.records++;
}

static uint32_t section_dev(struct ms_qemu_trace *t, const struct cap *c, uint16_t role,
			    uint64_t ts)
{
	char name[MS_NAME_MAX + 1];
	size_t n = c->len < MS_NAME_MAX ? c->len : MS_NAME_MAX;

	memcpy(name, c->s, n);
	name[n] = 0;
	return ms_qemu_device(t->s, ts, MS_DEV_KIND_QEMU_SECTION, role, name);
}

static int vfio_wanted(const struct ms_qemu_trace *t, const char *name)
{
	if (!t->o.vfio_devices)
		return 1;
	for (const char *const *d = t->o.vfio_devices; *d; d++)
		if (!strcmp(*d, name))
			return 1;
	return 0;
}

/* The vfio device named by c, registered on first sight; NULL if filtered out. */
static struct vfio_dev *vfio_dev(struct ms_qemu_trace *t, const struct cap *c, uint16_t role,
				 uint64_t ts)
{
	char name[MS_NAME_MAX + 1];
	size_t n = c->len < MS_NAME_MAX ? c->len : MS_NAME_MAX;
	struct vfio_dev *d;

	memcpy(name, c->s, n);
	name[n] = 0;
	for (size_t i = 0; i < t->nr_vfio; i++)
		if (!strcmp(t->vfio[i].name, name))
			return &t->vfio[i];
	if (!vfio_wanted(t, name))
		return NULL;
	if (t->nr_vfio == t->cap_vfio) {
		size_t cap = t->cap_vfio ? t->cap_vfio * 2 : 4;
		struct vfio_dev *v = realloc(t->vfio, cap * sizeof(*v));

		if (!v)
			return NULL;
		t->vfio = v;
		t->cap_vfio = cap;
	}
	d = &t->vfio[t->nr_vfio++];
	memset(d, 0, sizeof(*d));
	memcpy(d->name, name, n + 1);
	d->state = -1;
	d->req_state = -1;
	d->id = ms_qemu_device(t->s, ts, MS_DEV_KIND_QEMU_VFIO, role, name);
	return d;
}

/* QEMU's v2 state names (mig_state_to_str) are the kernel enum's: one table, in vfio_fsm.c. */
static int vfio_state_from_name(const struct cap *c)
{
	for (unsigned int i = 0; i < MS_VFIO_NR_STATES; i++) {
		const char *n = ms_vfio_state_name(i, NULL, 0);

		if (strlen(n) == c->len && !memcmp(n, c->s, c->len))
			return (int)i;
	}
	return -1;
}

/* v1 device_state bits: RUNNING 1, SAVING 2, RESUMING 4. */
static int vfio_state_from_v1(int64_t bits)
{
	switch (bits) {
	case 0:
		return VFIO_DEVICE_STATE_STOP;
	case 1:
		return VFIO_DEVICE_STATE_RUNNING;
	case 2:
		return VFIO_DEVICE_STATE_STOP_COPY;
	case 3:
		return VFIO_DEVICE_STATE_PRE_COPY;
	case 4:
		return VFIO_DEVICE_STATE_RESUMING;
	default:
		return VFIO_DEVICE_STATE_ERROR;
	}
}

/* The device reached state 'to' at ts: one arc from its previous state. */
static void vfio_arc(struct ms_qemu_trace *t, struct vfio_dev *d, int to, uint64_t ts)
{
	struct ms_ev_dev_state ev = { 0 };

	MS_EVENT_INIT(&ev, MS_EV_DEV_STATE, ms_ev_dev_state, d->id, ts);
	ev.domain = MS_DOMAIN_VFIO;
	/* QEMU starts every device RUNNING; a first arc we did not see began there */
	ev.from = (uint8_t)(d->state >= 0 ? d->state : VFIO_DEVICE_STATE_RUNNING);
	ev.to = (uint8_t)to;
	if (d->req_state >= 0) {
		ev.dur_ns = ts >= d->req_ts ? ts - d->req_ts : 0;
		/* a device that ended elsewhere than asked was put in its recover state */
		ev.err = d->req_state == to ? 0 : -EIO;
	}
	d->state = to;
	d->req_state = -1;
	publish(t, &ev.hdr);
}

static uint32_t vfio_phase(const struct vfio_dev *d)
{
	if (d->state == VFIO_DEVICE_STATE_STOP_COPY)
		return MS_PHASE_STOPCOPY;
	if (d->state == VFIO_DEVICE_STATE_RESUMING)
		return MS_PHASE_RESUME;
	return MS_PHASE_PRECOPY;
}

static void publish_precopy(struct ms_qemu_trace *t, struct vfio_dev *d, uint64_t init,
			    uint64_t dirty, uint64_t ts)
{
	struct ms_ev_precopy ev = { 0 };
	struct ms_ev_pass pass;

	MS_EVENT_INIT(&ev, MS_EV_PRECOPY, ms_ev_precopy, d->id, ts);
	ev.initial_bytes = init;
	ev.dirty_bytes = dirty;
	publish(t, &ev.hdr);
	if (ms_pass__precopy(&d->pass, d->id, ts, init, dirty, 0, &pass))
		publish(t, &pass.hdr);
}

static void publish_stopcopy(struct ms_qemu_trace *t, const struct vfio_dev *d, uint64_t bytes,
			     uint64_t ts)
{
	struct ms_ev_stopcopy_size ev = { 0 };

	MS_EVENT_INIT(&ev, MS_EV_STOPCOPY_SIZE, ms_ev_stopcopy_size, d->id, ts);
	ev.bytes = bytes;
	publish(t, &ev.hdr);
}

static void publish_data(struct ms_qemu_trace *t, const struct vfio_dev *d, uint64_t bytes,
			 uint32_t phase, uint64_t ts)
{
	struct ms_ev_data ev = { 0 };

	MS_EVENT_INIT(&ev, MS_EV_DATA, ms_ev_data, d->id, ts);
	ev.bytes = bytes;
	ev.phase = phase;
	publish(t, &ev.hdr);
}

static void publish_section(struct ms_qemu_trace *t, uint32_t dev, uint32_t section, uint32_t phase,
			    int32_t ret, uint64_t ts)
{
	struct ms_ev_qemu_section ev = { 0 };

	MS_EVENT_INIT(&ev, MS_EV_QEMU_SECTION, ms_ev_qemu_section, dev, ts);
	ev.section_id = section;
	ev.phase = phase;
	ev.ret = ret;
	publish(t, &ev.hdr);
}

static void publish_mark(struct ms_qemu_trace *t, uint32_t mark, int32_t arg, uint64_t ts)
{
	struct ms_ev_qemu_mark ev = { 0 };

	MS_EVENT_INIT(&ev, MS_EV_QEMU_MARK, ms_ev_qemu_mark, MS_DEV_NONE, ts);
	ev.mark = mark;
	ev.arg = arg;
	publish(t, &ev.hdr);
}

static void publish_runstate(struct ms_qemu_trace *t, uint32_t running, uint64_t ts)
{
	struct ms_ev_runstate ev = { 0 };

	MS_EVENT_INIT(&ev, MS_EV_RUNSTATE, ms_ev_runstate, ms_qemu_vm(t->s, ts, t->o.side), ts);
	ev.running = running;
	publish(t, &ev.hdr);
}

/* The destination finished the section it was loading (a new one begins, or all are done). */
static void load_close(struct ms_qemu_trace *t, int32_t ret, uint64_t ts)
{
	if (!t->load_open)
		return;
	t->load_open = 0;
	publish_section(t, t->load_dev, t->load_section, MS_SECTION_LOAD_END, ret, ts);
}

static int load_remember(struct ms_qemu_trace *t, uint32_t section, uint32_t dev)
{
	for (size_t i = 0; i < t->nr_loads; i++)
		if (t->loads[i].section == section) {
			t->loads[i].dev = dev;
			return 0;
		}
	if (t->nr_loads == t->cap_loads) {
		size_t cap = t->cap_loads ? t->cap_loads * 2 : 16;
		struct load_section *l = realloc(t->loads, cap * sizeof(*l));

		if (!l)
			return -ENOMEM;
		t->loads = l;
		t->cap_loads = cap;
	}
	t->loads[t->nr_loads].section = section;
	t->loads[t->nr_loads].dev = dev;
	t->nr_loads++;
	return 0;
}

static uint32_t load_lookup(const struct ms_qemu_trace *t, uint32_t section)
{
	for (size_t i = 0; i < t->nr_loads; i++)
		if (t->loads[i].section == section)
			return t->loads[i].dev;
	return MS_DEV_NONE;
}

static uint32_t u32_of(const struct cap *c)
{
	return c->u > UINT32_MAX ? UINT32_MAX : (uint32_t)c->u;
}

static int32_t s32_of(const struct cap *c)
{
	if (c->i > INT32_MAX)
		return INT32_MAX;
	if (c->i < INT32_MIN)
		return INT32_MIN;
	return (int32_t)c->i;
}

/* Turn one matched row into records.  Returns -1 when the values do not make sense. */
static int handle(struct ms_qemu_trace *t, const struct format *f, struct cap *c, uint64_t ts)
{
	struct vfio_dev *d = NULL;
	int st;

	switch (f->kind) {
	case K_PENDING: {
		struct ms_ev_qemu_pending ev = { 0 };
		uint64_t pre;

		if (c[S_PRE].set)
			pre = c[S_PRE].u + (c[S_COMPAT].set ? c[S_COMPAT].u : 0);
		else if (c[S_TOTAL].set)
			pre = c[S_TOTAL].u -
			      (c[S_POST].set && c[S_POST].u <= c[S_TOTAL].u ? c[S_POST].u : 0);
		else
			return -1;
		MS_EVENT_INIT(
		    &ev, MS_EV_QEMU_PENDING, ms_ev_qemu_pending,
		    ms_qemu_device(t->s, ts, MS_DEV_KIND_QEMU_SECTION, MS_ROLE_SOURCE, "ram"), ts);
		ev.precopy = pre;
		ev.postcopy = c[S_POST].set ? c[S_POST].u : 0;
		ev.threshold = c[S_MAX].set ? c[S_MAX].u : MS_STAT_UNSET;
		/* right after a sync the count is the dirty set itself, whatever the event */
		ev.exact = f->exact || t->synced;
		ev.origin = t->o.usdt ? MS_PENDING_USDT : MS_PENDING_TRACE;
		publish(t, &ev.hdr);
		if (t->synced) {
			struct ms_ev_pass pass;

			/*
			 * What the sync left ends one pass and is the next one's work.
			 * QEMU's dirty_pages count is per second, not per pass: the
			 * telemetry derives the pass's dirty bytes instead.
			 */
			ms_pass__boundary(&t->ram_pass, ev.hdr.dev, MS_PASS_QEMU_SYNC, ts, pre,
					  MS_STAT_UNSET, 0, &pass);
			publish(t, &pass.hdr);
		}
		t->synced = 0;
		return 0;
	}
	case K_SYNC:
		t->synced = 1;
		return 0;
	case K_LOW_PENDING:
		publish_mark(t, MS_MARK_LOW_PENDING, 0, ts);
		return 0;
	case K_VM_STOPPED:
		publish_mark(t, MS_MARK_VM_STOPPED, s32_of(&c[S_RET]), ts);
		return 0;
	case K_RUNSTATE:
		/* the destination resumes the VM: the end of the guest's downtime */
		if (t->o.side == MS_ROLE_DEST) {
			if (c[S_STATE].len == 7 && !memcmp(c[S_STATE].s, "running", 7))
				publish_runstate(t, 1, ts);
			return 0;
		}
		/* only the source's two transitions around its downtime clock are marks */
		if (c[S_STATE].len == 14 && !memcmp(c[S_STATE].s, "finish-migrate", 14))
			publish_mark(t, MS_MARK_FINISH_MIGRATE, 0, ts);
		else if (c[S_STATE].len == 11 && !memcmp(c[S_STATE].s, "postmigrate", 11))
			publish_mark(t, MS_MARK_POSTMIGRATE, 0, ts);
		return 0;
	case K_SAVE_START:
	case K_SAVE_END:
		publish_section(
		    t, section_dev(t, &c[S_IDSTR], MS_ROLE_SOURCE, ts), u32_of(&c[S_SECTION]),
		    f->kind == K_SAVE_START ? MS_SECTION_SAVE_START : MS_SECTION_SAVE_END,
		    c[S_RET].set ? s32_of(&c[S_RET]) : 0, ts);
		return 0;
	case K_LOAD_HEADER:
		load_close(t, 0, ts);
		return 0;
	case K_LOAD_START: {
		uint32_t dev;

		load_close(t, 0, ts);
		if (c[S_IDSTR].set) {
			dev = section_dev(t, &c[S_IDSTR], MS_ROLE_DEST, ts);
			if (load_remember(t, u32_of(&c[S_SECTION]), dev))
				return -1;
		} else {
			dev = load_lookup(t, u32_of(&c[S_SECTION]));
			if (dev == MS_DEV_NONE)
				return -1; /* a part of a section whose start we never saw */
		}
		t->load_open = 1;
		t->load_dev = dev;
		t->load_section = u32_of(&c[S_SECTION]);
		publish_section(t, dev, t->load_section, MS_SECTION_LOAD_START, 0, ts);
		return 0;
	}
	case K_LOAD_DONE:
		load_close(t, s32_of(&c[S_RET]), ts);
		return 0;
	case K_DT_SAVE:
	case K_DT_LOAD:
	case K_DT_CHECKPOINT: {
		struct ms_ev_qemu_downtime ev = { 0 };
		uint32_t dev = MS_DEV_NONE;

		if (f->kind != K_DT_CHECKPOINT) {
			if (c[S_DUR].i < 0)
				return -1;
			dev = section_dev(t, &c[S_IDSTR],
					  f->kind == K_DT_SAVE ? MS_ROLE_SOURCE : MS_ROLE_DEST, ts);
		}
		MS_EVENT_INIT(&ev, MS_EV_QEMU_DOWNTIME, ms_ev_qemu_downtime, dev, ts);
		if (f->kind == K_DT_CHECKPOINT) {
			ev.kind = MS_DOWNTIME_CHECKPOINT;
			ev.checkpoint = ms_qemu_checkpoint_index(c[S_CKPT].s, c[S_CKPT].len);
		} else {
			ev.kind = f->kind == K_DT_SAVE ? MS_DOWNTIME_SAVE : MS_DOWNTIME_LOAD;
			/* QEMU measures it in microseconds */
			ev.dur_ns = (uint64_t)c[S_DUR].i * 1000;
		}
		publish(t, &ev.hdr);
		return 0;
	}
	default:
		break;
	}

	/* the vfio rows: every one names its device first */
	if (!c[S_DEV].set || !c[S_DEV].len)
		return -1;
	switch (f->kind) {
	case K_VFIO_STATE_V1:
	case K_VFIO_STATE_NOW:
	case K_VFIO_STATE_REQ:
		st = f->kind == K_VFIO_STATE_V1 ? vfio_state_from_v1(c[S_STATE].i)
						: vfio_state_from_name(&c[S_STATE]);
		if (st < 0)
			return -1;
		d = vfio_dev(t, &c[S_DEV],
			     st == VFIO_DEVICE_STATE_RESUMING ? MS_ROLE_DEST : MS_ROLE_SOURCE, ts);
		if (!d)
			return 0;
		if (f->kind == K_VFIO_STATE_REQ) {
			/* 9.1+ traces no completion when the state does not change */
			if (st != d->state) {
				d->req_state = st;
				d->req_ts = ts;
			}
			return 0;
		}
		vfio_arc(t, d, st, ts);
		return 0;
	case K_VFIO_LOAD_DATA:
		d = vfio_dev(t, &c[S_DEV], MS_ROLE_DEST, ts);
		if (d && (!c[S_RET].set || c[S_RET].i >= 0))
			publish_data(t, d, c[S_SIZE].u, MS_PHASE_RESUME, ts);
		return 0;
	default:
		break;
	}
	d = vfio_dev(t, &c[S_DEV], MS_ROLE_SOURCE, ts);
	if (!d)
		return 0;
	switch (f->kind) {
	case K_VFIO_PENDING_V1:
		if (d->state == VFIO_DEVICE_STATE_STOP_COPY)
			publish_stopcopy(t, d, c[S_SIZE].u, ts);
		else
			publish_precopy(t, d, 0, c[S_SIZE].u, ts);
		return 0;
	case K_VFIO_PRECOPY:
		if (!c[S_INIT].set || !c[S_DIRTY].set)
			return -1;
		publish_precopy(t, d, c[S_INIT].u, c[S_DIRTY].u, ts);
		return 0;
	case K_VFIO_EXACT:
	case K_VFIO_STOPCOPY:
		if (!c[S_STOP].set)
			return -1;
		publish_stopcopy(t, d, c[S_STOP].u, ts);
		if (c[S_INIT].set && c[S_DIRTY].set)
			publish_precopy(t, d, c[S_INIT].u, c[S_DIRTY].u, ts);
		return 0;
	case K_VFIO_DATA:
	case K_VFIO_DATA_PRECOPY:
		if (c[S_SIZE].i < 0)
			return -1;
		publish_data(t, d, c[S_SIZE].u,
			     f->kind == K_VFIO_DATA ? vfio_phase(d) : MS_PHASE_PRECOPY, ts);
		return 0;
	default:
		return 0; /* K_VFIO_SEEN */
	}
}

/* --- line prefixes -------------------------------------------------------------- */

static int digits(const char *p, const char *end, int n, unsigned int *out)
{
	unsigned int v = 0;

	if (end - p < n)
		return -1;
	for (int i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (unsigned int)(p[i] - '0');
	}
	*out = v;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (no time zone, no libc). */
static int64_t days_from_civil(int64_t y, unsigned int m, unsigned int d)
{
	int64_t era;
	unsigned int yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned int)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/*
 * "2025-09-10T14:05:23.123456Z " (or +hh:mm / -hh:mm / +hhmm instead of Z;
 * the fraction is optional).  Returns the text after the space, or NULL.
 */
static const char *parse_iso8601(const char *p, const char *end, uint64_t *wall_ns)
{
	unsigned int y, mo, d, h, mi, s, oh, om;
	uint64_t frac = 0, scale = 1000000000ull;
	int64_t secs, off = 0;

	if (digits(p, end, 4, &y) || end - p < 19 || p[4] != '-' || digits(p + 5, end, 2, &mo) ||
	    p[7] != '-' || digits(p + 8, end, 2, &d) || p[10] != 'T' ||
	    digits(p + 11, end, 2, &h) || p[13] != ':' || digits(p + 14, end, 2, &mi) ||
	    p[16] != ':' || digits(p + 17, end, 2, &s))
		return NULL;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
		return NULL;
	p += 19;
	if (p < end && *p == '.') {
		p++;
		if (p == end || *p < '0' || *p > '9')
			return NULL;
		while (p < end && *p >= '0' && *p <= '9') {
			if (scale > 1) {
				scale /= 10;
				frac += (uint64_t)(*p - '0') * scale;
			}
			p++;
		}
	}
	if (p < end && *p == 'Z') {
		p++;
	} else if (p < end && (*p == '+' || *p == '-')) {
		int sign = *p == '-' ? -1 : 1;

		if (digits(p + 1, end, 2, &oh))
			return NULL;
		p += 3;
		if (p < end && *p == ':')
			p++;
		if (digits(p, end, 2, &om) || oh > 23 || om > 59)
			return NULL;
		p += 2;
		off = sign * (int64_t)(oh * 3600 + om * 60);
	} else {
		return NULL;
	}
	if (p == end || *p != ' ')
		return NULL;
	secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - off;
	if (secs < 0)
		return NULL;
	*wall_ns = (uint64_t)secs * 1000000000ull + frac;
	return p + 1;
}

/* "tid@sec.usec:" -> the text after the colon, or NULL. */
static const char *parse_tid_prefix(const char *p, const char *end, uint64_t *wall_ns)
{
	uint64_t tid, sec, usec;
	const char *q = scan_u64(p, end, 10, &tid), *frac;

	if (!q || q == end || *q != '@')
		return NULL;
	q = scan_u64(q + 1, end, 10, &sec);
	if (!q || q == end || *q != '.' || sec > UINT64_MAX / 1000000000ull - 1)
		return NULL;
	frac = q + 1;
	q = scan_u64(frac, end, 10, &usec);
	/* QEMU prints %06zu microseconds */
	if (!q || q - frac != 6 || q == end || *q != ':')
		return NULL;
	*wall_ns = sec * 1000000000ull + usec * 1000;
	return q + 1;
}

static int is_event_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

int ms_qemu_trace_line_time(const char *line, size_t len, uint64_t *wall_ns)
{
	const char *end = line + len;

	return parse_tid_prefix(line, end, wall_ns) || parse_iso8601(line, end, wall_ns) ? 0 :
											       -1;
}

void ms_qemu_trace__line(struct ms_qemu_trace *t, const char *line, size_t len)
{
	const char *end = line + len, *p, *name, *args;
	uint64_t wall_ns;
	size_t name_len;
	int known = 0;

	t->n.lines++;
	/* a CR before the newline, and the trailing space of events without arguments */
	while (end > line && (end[-1] == '\r' || end[-1] == ' '))
		end--;
	p = parse_tid_prefix(line, end, &wall_ns);
	if (!p)
		p = parse_iso8601(line, end, &wall_ns);
	if (!p) {
		t->n.not_trace++;
		return;
	}
	name = p;
	while (p < end && is_event_char(*p))
		p++;
	name_len = (size_t)(p - name);
	if (!name_len || (p < end && *p != ' ')) {
		/* "2025-...Z qemu-system-x86_64: terminating on signal 15": a message */
		t->n.not_trace++;
		return;
	}
	args = p < end ? p + 1 : end;
	if (t->o.not_before_wall_ns && wall_ns < t->o.not_before_wall_ns) {
		t->n.stale++;
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(formats); i++) {
		const struct format *f = &formats[i];
		struct cap caps[S__MAX];

		if (strlen(f->event) != name_len || memcmp(f->event, name, name_len))
			continue;
		known = 1;
		memset(caps, 0, sizeof(caps));
		if (f->fmt) {
			if (match(f->fmt, args, end, caps))
				continue;
		} else {
			match_labels(args, end, caps);
		}
		if (handle(t, f, caps, stream_ts(t, wall_ns)))
			continue;
		t->n.accepted++;
		return;
	}
	if (known)
		t->n.malformed++;
	else
		t->n.unknown++;
}

/*
 * A probe's arguments against a row: fmt's conversions (or the row's args
 * labels) in order, %s for a string, the others for a number.  Returns 0
 * when count and kinds agree.
 */
static int positional(const struct format *f, unsigned int nargs, const int64_t *args,
		      const char *const *strs, struct cap *caps)
{
	const char *p = f->fmt ? f->fmt : f->args;
	unsigned int k = 0;

	if (!p)
		return -1; /* parsed by labels, and nobody knows the probe's argument order */
	while (*p) {
		const char *tag, *tag_end;
		int slot, is_str;

		if (f->fmt) {
			p = strchr(p, '%');
			if (!p)
				break;
			is_str = p[1] == 's';
			tag = p + 3;
			tag_end = strchr(tag, '}');
		} else {
			while (*p == ' ')
				p++;
			if (!*p)
				break;
			tag = p;
			tag_end = tag + strcspn(tag, " ");
			is_str = -1; /* the device is a string, the sizes numbers */
		}
		if (!tag_end || k == nargs)
			return -1;
		slot = slot_of(tag, (size_t)(tag_end - tag));
		if (slot < 0)
			return -1;
		if (is_str < 0)
			is_str = slot == S_DEV;
		if (is_str != (strs[k] != NULL))
			return -1;
		caps[slot].set = 1;
		if (is_str) {
			caps[slot].s = strs[k];
			caps[slot].len = strlen(strs[k]);
		} else {
			caps[slot].i = args[k];
			caps[slot].u = (uint64_t)args[k];
			caps[slot].is_num = 1;
		}
		k++;
		p = f->fmt ? tag_end + 1 : tag_end;
	}
	if (k != nargs)
		return -1;
	/*
	 * Text tells the 8.0-development layouts of the pending events apart by
	 * their words; numbers alone do by the total being the sum of its parts.
	 */
	if (f->kind == K_PENDING && caps[S_TOTAL].set && caps[S_PRE].set &&
	    caps[S_TOTAL].u != caps[S_PRE].u + (caps[S_COMPAT].set ? caps[S_COMPAT].u : 0) +
				   (caps[S_POST].set ? caps[S_POST].u : 0))
		return -1;
	return 0;
}

void ms_qemu_trace__probe(struct ms_qemu_trace *t, uint64_t ts_ns, const char *event,
			  unsigned int nargs, const int64_t *args, const char *const *strs)
{
	int known = 0;

	for (size_t i = 0; i < ARRAY_SIZE(formats); i++) {
		const struct format *f = &formats[i];
		struct cap caps[S__MAX];

		if (strcmp(f->event, event))
			continue;
		known = 1;
		memset(caps, 0, sizeof(caps));
		if (positional(f, nargs, args, strs, caps) || handle(t, f, caps, ts_ns))
			continue;
		t->n.accepted++;
		return;
	}
	if (known)
		t->n.malformed++;
	else
		t->n.unknown++;
}

void ms_qemu_trace__feed(struct ms_qemu_trace *t, const char *buf, size_t len)
{
	while (len) {
		const char *nl = memchr(buf, '\n', len);
		size_t n = nl ? (size_t)(nl - buf) : len;

		if (!t->overlong) {
			if (t->len + n > LINE_MAX_LEN) {
				t->overlong = 1;
				t->len = 0;
			} else {
				memcpy(t->buf + t->len, buf, n);
				t->len += n;
			}
		}
		if (!nl)
			return;
		if (t->overlong) {
			/* no QEMU trace line is this long: count it, keep going */
			t->n.lines++;
			t->n.malformed++;
			t->overlong = 0;
		} else {
			ms_qemu_trace__line(t, t->buf, t->len);
		}
		t->len = 0;
		buf = nl + 1;
		len -= n + 1;
	}
}

/* --- following the file ------------------------------------------------------------ */

static void read_available(struct ms_qemu_trace *t)
{
	char buf[16384];
	struct stat st;
	ssize_t n;

	if (t->fd < 0)
		return;
	/* QEMU opens its log with "w": a restarted QEMU truncates it */
	if (!fstat(t->fd, &st) && st.st_size < t->off) {
		lseek(t->fd, 0, SEEK_SET);
		t->off = 0;
		t->len = 0;
		t->overlong = 0;
	}
	while ((n = read(t->fd, buf, sizeof(buf))) > 0) {
		t->off += n;
		ms_qemu_trace__feed(t, buf, (size_t)n);
	}
}

static int on_inotify(void *ctx, uint32_t events)
{
	struct ms_qemu_trace *t = ctx;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int reopen = 0;
	ssize_t n;

	while ((n = read(t->ino_fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)p;

			if (e->mask & (IN_MOVE_SELF | IN_DELETE_SELF | IN_IGNORED))
				reopen = 1;
			p += sizeof(*e) + e->len;
		}
	}
	read_available(t);
	if (reopen) {
		/* the file was replaced (log rotation, a new QEMU): follow the new one */
		int fd = open(t->path, O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			close(t->fd);
			t->fd = fd;
			t->off = 0;
			t->len = 0;
			inotify_add_watch(t->ino_fd, t->path,
					  IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF);
			read_available(t);
		}
	}
	return 0;
}

int ms_qemu_trace__follow(struct ms_qemu_trace *t, const char *path, struct ms_loop *loop,
			  char *err, size_t errlen)
{
	int ret;

	t->path = strdup(path);
	if (!t->path) {
		snprintf(err, errlen, "qemu log %s: %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	t->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (t->fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "qemu log %s: failed to open: %s", path, strerror(errno));
		return ret;
	}
	t->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (t->ino_fd < 0 ||
	    inotify_add_watch(t->ino_fd, path,
			      IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF) < 0) {
		ret = -errno;
		snprintf(err, errlen, "qemu log %s: failed to watch: %s", path, strerror(errno));
		return ret;
	}
	ret = ms_loop__add_fd(loop, t->ino_fd, 0x001 /* EPOLLIN */, on_inotify, t);
	if (ret) {
		snprintf(err, errlen, "qemu log %s: failed to watch: %s", path, strerror(-ret));
		return ret;
	}
	t->loop = loop;
	read_available(t);
	return 0;
}

void ms_qemu_trace__drain(struct ms_qemu_trace *t)
{
	read_available(t);
}

void ms_qemu_trace__close(struct ms_qemu_trace *t, uint64_t ts_ns)
{
	struct ms_ev_source_stats ev = { 0 };

	if (t->closed)
		return;
	t->closed = 1;
	read_available(t);
	if (t->len && !t->overlong)
		ms_qemu_trace__line(t, t->buf, t->len);
	t->len = 0;
	MS_EVENT_INIT(&ev, MS_EV_SOURCE_STATS, ms_ev_source_stats, MS_DEV_NONE, ts_ns);
	ev.source = t->o.usdt ? MS_SOURCE_USDT : MS_SOURCE_QEMU_LOG;
	ev.accepted = t->n.accepted;
	ev.skipped = t->n.not_trace + t->n.unknown + t->n.stale;
	ev.errors = t->n.malformed;
	publish(t, &ev.hdr);
}

const struct ms_qemu_trace_counts *ms_qemu_trace__counts(const struct ms_qemu_trace *t)
{
	return &t->n;
}

void ms_qemu_trace__free(struct ms_qemu_trace *t)
{
	if (!t)
		return;
	if (t->loop && t->ino_fd >= 0)
		ms_loop__del_fd(t->loop, t->ino_fd);
	if (t->ino_fd >= 0)
		close(t->ino_fd);
	if (t->fd >= 0)
		close(t->fd);
	free(t->path);
	free(t->loads);
	free(t->vfio);
	free(t->buf);
	free(t);
}
