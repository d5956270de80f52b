// SPDX-License-Identifier: GPL-2.0-only
/* QEMU's state and checkpoint names (see qemu_names.h). */
#include <string.h>

#include <migscope/qemu_names.h>

/* by enum vfio_device_mig_state value */
static const char *const states[] = {
	"ERROR",    "STOP",	   "RUNNING",  "STOP_COPY",
	"RESUMING", "RUNNING_P2P", "PRE_COPY", "PRE_COPY_P2P",
};

/* QEMU's checkpoints, in the order a migration passes them; indexes never change */
static const char *const checkpoints[] = {
	"src-downtime-start",		"src-vm-stopped",
	"src-iterable-saved",		"src-non-iterable-saved",
	"dst-precopy-loadvm-completed", "dst-precopy-bh-enter",
	"dst-precopy-bh-announced",	"dst-precopy-bh-vm-started",
	"dst-postcopy-bh-enter",	"dst-postcopy-bh-announced",
	"dst-postcopy-bh-vm-started",
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static int lookup(const char *const *tab, unsigned int n, const char *name)
{
	for (unsigned int i = 0; i < n; i++)
		if (!strcmp(tab[i], name))
			return (int)i;
	return -1;
}

int ms_qemu_vfio_state(const char *name)
{
	return lookup(states, ARRAY_SIZE(states), name);
}

const char *ms_qemu_vfio_state_name(unsigned int state)
{
	return state < ARRAY_SIZE(states) ? states[state] : NULL;
}

int ms_qemu_checkpoint(const char *name)
{
	return lookup(checkpoints, ARRAY_SIZE(checkpoints), name);
}

const char *ms_qemu_checkpoint_name(unsigned int i)
{
	return i < ARRAY_SIZE(checkpoints) ? checkpoints[i] : NULL;
}
