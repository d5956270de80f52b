/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef MIGSCOPE_VERSION_H
#define MIGSCOPE_VERSION_H

#define MS_VERSION "0.1.0"

#endif
