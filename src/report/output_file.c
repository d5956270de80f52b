// SPDX-License-Identifier: GPL-2.0-only
/* Report files (--perfetto, --svg): analyze, create, write, and say what failed where. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "report_telemetry.h"

int ms_report__write_file(const struct ms_view *s, const char *path, ms_report_writer fn, char *err,
			  size_t errlen)
{
	struct ms_tm_report r;
	FILE *f;
	int ret = 0;

	if (ms_telemetry__analyze(s->telemetry, s->devices, &r)) {
		ms_tm_report__free(&r);
		snprintf(err, errlen, "%s: failed to analyze the session: %s", path,
			 strerror(ENOMEM));
		return -ENOMEM;
	}
	f = fopen(path, "w");
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: failed to create: %s", path, strerror(errno));
	} else {
		fn(f, s, &r);
		if (ferror(f))
			ret = -EIO;
		if (fclose(f) && !ret)
			ret = -errno;
		if (ret)
			snprintf(err, errlen, "%s: failed to write: %s", path, strerror(-ret));
	}
	ms_tm_report__free(&r);
	return ret;
}
