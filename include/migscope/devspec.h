/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * --device specifications:
 *
 *   ref[:key=value,...]            a reference device (options: ms_ref_params_help)
 *   vfio:PATH[,dest=PATH][,name=NAME][,track=IOVA+LEN]...
 *
 * PATH is a VFIO device cdev (/dev/vfio/devices/vfioN), a PCI address
 * (0000:3b:00.1, found through sysfs) or a group with the device's name in it:
 * /dev/vfio/12@0000:3b:00.1, or /dev/vfio/3@UUID for an mdev.
 * Without dest= the device resumes its own saved state (loopback).
 */
#ifndef MIGSCOPE_DEVSPEC_H
#define MIGSCOPE_DEVSPEC_H

#include <stddef.h>
#include <stdint.h>

#include <migscope/event.h>
#include <migscope/ref.h>

#define MS_DEVSPEC_PATH_MAX  256
#define MS_DEVSPEC_MAX_TRACK 16

enum ms_devspec_kind {
	MS_DEVSPEC_REF = 0,
	MS_DEVSPEC_VFIO = 1,
};

struct ms_devspec {
	enum ms_devspec_kind kind;
	struct ms_ref_params ref; /* kind REF */
	char path[MS_DEVSPEC_PATH_MAX];
	char dest[MS_DEVSPEC_PATH_MAX]; /* "" : loopback */
	char name[MS_DEV_NAME_LEN];
	struct ms_range track[MS_DEVSPEC_MAX_TRACK];
	uint32_t nr_track;
};

/* 0, or -EINVAL with a one-line error naming the option. */
int ms_devspec__parse(const char *spec, struct ms_devspec *out, char *err, size_t errlen);

#endif
