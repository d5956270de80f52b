// SPDX-License-Identifier: GPL-2.0-only
/* Shared by the QEMU sources: device ids and migration status names. */
#include <string.h>

#include <migscope/qemu.h>

uint32_t ms_qemu_device(struct ms_stream *s, uint64_t ts, uint16_t kind, uint16_t role,
			const char *name)
{
	for (uint32_t i = 0; i < s->devices->nr; i++) {
		const struct ms_device_info *d = &s->devices->dev[i];

		if (d->name[0] && d->kind == kind && d->role == role && !strcmp(d->name, name))
			return i;
	}
	return ms_stream__add_device(s, ts, kind, role, 0, MS_DEV_NONE, name);
}

uint32_t ms_qemu_vm(struct ms_stream *s, uint64_t ts, uint16_t side)
{
	if (side != MS_ROLE_DEST)
		return MS_DEV_NONE;
	return ms_qemu_device(s, ts, MS_DEV_KIND_QEMU_VM, MS_ROLE_DEST, MS_QEMU_DST_VM);
}

/* QAPI's MigrationStatus spellings */
static const char *const statuses[] = {
	[MS_MIG_NONE] = "none",
	[MS_MIG_SETUP] = "setup",
	[MS_MIG_ACTIVE] = "active",
	[MS_MIG_DEVICE] = "device",
	[MS_MIG_POSTCOPY_ACTIVE] = "postcopy-active",
	[MS_MIG_PRE_SWITCHOVER] = "pre-switchover",
	[MS_MIG_COMPLETED] = "completed",
	[MS_MIG_FAILED] = "failed",
	[MS_MIG_CANCELLING] = "cancelling",
	[MS_MIG_CANCELLED] = "cancelled",
	[MS_MIG_WAIT_UNPLUG] = "wait-unplug",
	[MS_MIG_OTHER] = "other",
};

uint32_t ms_qemu_mig_status(const char *name)
{
	for (uint32_t i = 0; i < MS_MIG_OTHER; i++)
		if (!strcmp(statuses[i], name))
			return i;
	return MS_MIG_OTHER;
}

const char *ms_qemu_mig_status_name(uint32_t status)
{
	return status <= MS_MIG_OTHER ? statuses[status] : "other";
}
