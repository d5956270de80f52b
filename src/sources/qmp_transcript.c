// SPDX-License-Identifier: GPL-2.0-only
/*
 * A QMP transcript's lines: {"dir": D, "t": EPOCH_SECONDS, "msg": {...}}.
 * migscope import and its fuzz target read them here; the messages then go
 * to the QMP client (ms_qmp__sent / ms_qmp__received).
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include <json-c/json.h>

#include <migscope/qmp.h>

static int is_command(struct json_object *msg)
{
	return json_object_object_get_ex(msg, "execute", NULL) ||
	       json_object_object_get_ex(msg, "exec-oob", NULL);
}

int ms_qmp_transcript_line(const char *line, size_t len, struct ms_qmp_line *out)
{
	struct json_tokener *tok;
	struct json_object *o, *v, *msg;
	const char *dir, *why;
	size_t end;
	double t;
	int sent;

	memset(out, 0, sizeof(*out));
	if (len > INT32_MAX) {
		out->why = "a line longer than 2 GiB";
		return -EINVAL;
	}
	tok = json_tokener_new();
	if (!tok) {
		out->why = "out of memory";
		return -ENOMEM;
	}
	o = json_tokener_parse_ex(tok, line, (int)len);
	end = json_tokener_get_parse_end(tok);
	/* one object, and nothing after it but blanks */
	if (o && end < len && strspn(line + end, " \t\r") < len - end) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		out->why = "not a JSON object";
		return -EINVAL;
	}
	why = "no \"dir\" string";
	if (!json_object_object_get_ex(o, "dir", &v) || !json_object_is_type(v, json_type_string))
		goto bad;
	dir = json_object_get_string(v);
	why = "no \"t\" number";
	if (!json_object_object_get_ex(o, "t", &v) ||
	    !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
		goto bad;
	t = json_object_get_double(v);
	/* seconds since the epoch that fit the stream's nanoseconds */
	why = "\"t\" is not seconds since the epoch";
	if (!isfinite(t) || t <= 0 || t >= 1.8e10)
		goto bad;
	why = "no \"msg\" object";
	if (!json_object_object_get_ex(o, "msg", &msg) ||
	    !json_object_is_type(msg, json_type_object))
		goto bad;
	sent = is_command(msg);
	if (!strcmp(dir, "send") || !strcmp(dir, "recv")) {
		why = sent ? "a command marked \"recv\"" : "a reply or event marked \"send\"";
		if (sent != (dir[0] == 's'))
			goto bad;
	} else if (strcmp(dir, "in") && strcmp(dir, "out")) {
		/* in/out: either perspective is read right, the message says which way it went */
		why = "\"dir\" is not send, recv, in or out";
		goto bad;
	}
	out->msg = json_object_get(msg);
	out->sent = sent;
	/*
	 * To the microsecond, as QEMU's own stamps: a double holds epoch seconds
	 * to about 0.25 us, so nanoseconds from it would be noise (and a
	 * .894822 could come out as .894821999).
	 */
	out->wall_ns = (uint64_t)llround(t * 1e6) * 1000;
	json_object_put(o);
	return 0;
bad:
	out->why = why;
	json_object_put(o);
	return -EINVAL;
}
