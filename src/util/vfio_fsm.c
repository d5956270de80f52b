// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VFIO migration v2 next-step table.  Rows are the current state, columns
 * the requested one; an entry is the state to enter next.  The values are the
 * kernel's (vfio_from_fsm_table): they encode the shortest path that never
 * passes through a saving-group state as an interior step.  A step into a
 * state the device does not support is skipped by looking the table up again
 * from that state, which is how the kernel gives devices without P2P or
 * PRE_COPY their shorter paths.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <migscope/parse.h>
#include <migscope/vfio_fsm.h>

enum {
	ER = VFIO_DEVICE_STATE_ERROR,
	ST = VFIO_DEVICE_STATE_STOP,
	RU = VFIO_DEVICE_STATE_RUNNING,
	SC = VFIO_DEVICE_STATE_STOP_COPY,
	RE = VFIO_DEVICE_STATE_RESUMING,
	RP = VFIO_DEVICE_STATE_RUNNING_P2P,
	PC = VFIO_DEVICE_STATE_PRE_COPY,
	PP = VFIO_DEVICE_STATE_PRE_COPY_P2P,
};

/* columns in state-number order: ERROR STOP RUNNING STOP_COPY RESUMING RUNNING_P2P PRE_COPY PP */
/* clang-format off */
static const uint8_t next_table[MS_VFIO_NR_STATES][MS_VFIO_NR_STATES] = {
	[ER] = { ER, ER, ER, ER, ER, ER, ER, ER },
	[ST] = { ER, ST, RP, SC, RE, RP, RP, RP },
	[RU] = { ER, RP, RU, RP, RP, RP, PC, RP },
	[SC] = { ER, ST, ST, SC, ST, ST, ER, ER },
	[RE] = { ER, ST, ST, ST, RE, ST, ST, ST },
	[RP] = { ER, ST, RU, ST, ST, RP, RU, PP },
	[PC] = { ER, RU, RU, PP, RU, RU, PC, PP },
	[PP] = { ER, RP, RP, SC, RP, RP, PC, PP },
};
/* clang-format on */

/* The capabilities a state needs; ERROR needs everything, so it is never "supported". */
static const uint32_t state_needs[MS_VFIO_NR_STATES] = {
	[ER] = ~0u,
	[ST] = VFIO_MIGRATION_STOP_COPY,
	[RU] = VFIO_MIGRATION_STOP_COPY,
	[SC] = VFIO_MIGRATION_STOP_COPY,
	[RE] = VFIO_MIGRATION_STOP_COPY,
	[RP] = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P,
	[PC] = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_PRE_COPY,
	[PP] = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P | VFIO_MIGRATION_PRE_COPY,
};

static const char *const state_names[MS_VFIO_NR_STATES] = {
	[ER] = "ERROR",	   [ST] = "STOP",	 [RU] = "RUNNING",  [SC] = "STOP_COPY",
	[RE] = "RESUMING", [RP] = "RUNNING_P2P", [PC] = "PRE_COPY", [PP] = "PRE_COPY_P2P",
};

int ms_vfio_fsm__supported(uint32_t caps, unsigned int s)
{
	return s < MS_VFIO_NR_STATES && (state_needs[s] & caps) == state_needs[s];
}

int ms_vfio_fsm__next(uint32_t caps, unsigned int cur, unsigned int target, uint8_t *next)
{
	uint8_t n;

	if (!ms_vfio_fsm__supported(caps, cur) || !ms_vfio_fsm__supported(caps, target))
		return -EINVAL;
	n = next_table[cur][target];
	/* ERROR is never supported, so this ends on a supported state or on ERROR's row */
	while (n != ER && !ms_vfio_fsm__supported(caps, n))
		n = next_table[n][target];
	if (n == ER)
		return -EINVAL;
	*next = n;
	return 0;
}

int ms_vfio_fsm__path(uint32_t caps, unsigned int cur, unsigned int target,
		      uint8_t path[MS_VFIO_MAX_PATH])
{
	int n = 0;

	if (!ms_vfio_fsm__supported(caps, cur) || !ms_vfio_fsm__supported(caps, target))
		return -EINVAL;
	while (cur != target) {
		uint8_t next;
		int err = ms_vfio_fsm__next(caps, cur, target, &next);

		if (err)
			return err;
		/* the table has no cycles; a path longer than this is a corrupt table */
		if (n == MS_VFIO_MAX_PATH)
			return -ELOOP;
		path[n++] = next;
		cur = next;
	}
	return n;
}

const char *ms_vfio_state_name(unsigned int s, char *buf, size_t len)
{
	if (s < MS_VFIO_NR_STATES)
		return state_names[s];
	snprintf(buf, len, "state%u", s);
	return buf;
}

int ms_vfio_state_parse(const char *name, uint8_t *s)
{
	uint64_t v;

	for (unsigned int i = 0; i < MS_VFIO_NR_STATES; i++)
		if (!strcasecmp(name, state_names[i])) {
			*s = (uint8_t)i;
			return 0;
		}
	if (ms_parse_u64(name, &v) || v >= MS_VFIO_NR_STATES)
		return -EINVAL;
	*s = (uint8_t)v;
	return 0;
}

enum ms_vfio_class ms_vfio_fsm__class(unsigned int s)
{
	switch (s) {
	case RU:
	case PC:
		return MS_VFIO_CLASS_RUN;
	case RP:
	case PP:
		return MS_VFIO_CLASS_P2P;
	case ST:
	case SC:
	case RE:
		return MS_VFIO_CLASS_STOPPED;
	default:
		return MS_VFIO_CLASS_ERROR;
	}
}

int ms_vfio_fsm__saving(unsigned int s)
{
	return s == PC || s == PP || s == SC;
}
