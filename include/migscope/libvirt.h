/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A libvirt domain's QEMU monitor as a QMP stream (watch --domain).
 *
 * libvirt owns the domain's QMP socket; libvirt-qemu lends it out: commands
 * through virDomainQemuMonitorCommand, events through
 * virConnectDomainQemuMonitorEventRegister.  This bridge carries both over a
 * socket pair to the same QMP client a socket uses (src/sources/qmp.c), so
 * libvirt is only a transport: a thread runs libvirt's event loop, forwards
 * each command the client writes and writes back the reply (with the
 * client's id: libvirt puts its own) and every monitor event.  libvirt
 * negotiated the monitor's capabilities when it connected, so the bridge
 * greets with query-version's answer and acknowledges qmp_capabilities
 * itself (QEMU refuses a second negotiation).  When the domain stops or the
 * connection closes, the bridge says why (ms_libvirt__error) and closes its
 * end: the client sees the end of its stream.
 *
 * Optional at build time (MS_HAVE_LIBVIRT, from pkg-config libvirt
 * libvirt-qemu); without it ms_libvirt__open fails saying so.
 */
#ifndef MIGSCOPE_LIBVIRT_H
#define MIGSCOPE_LIBVIRT_H

#include <stddef.h>

struct ms_libvirt;

/* The URI used without --connect: $LIBVIRT_DEFAULT_URI, else qemu:///system. */
const char *ms_libvirt_default_uri(void);

/*
 * Whether libvirt is compiled in, and its version ("9.0.0") in version;
 * 0, or -ENOTSUP with why filled.
 */
int ms_libvirt_compiled(char *version, size_t vlen, char *why, size_t whylen);

/* Can uri be connected to (read-only, closed again)?  0, or -errno with why filled. */
int ms_libvirt_probe(const char *uri, char *why, size_t whylen);

/*
 * Connect to uri (NULL: the default), find the running domain and start the
 * bridge.  NULL with err filled: libvirt not compiled in, the URI refused,
 * no such domain, the domain not running, the monitor refusing query-version.
 */
struct ms_libvirt *ms_libvirt__open(const char *uri, const char *domain, char *err, size_t errlen);

/* The QMP client's end of the stream: give it to ms_qmp__connect_fd (which then owns it). */
int ms_libvirt__take_fd(struct ms_libvirt *l);

const char *ms_libvirt__name(const struct ms_libvirt *l);
const char *ms_libvirt__uri(const struct ms_libvirt *l);

/* Why the bridge closed the stream (the domain stopped, the connection closed), or "". */
const char *ms_libvirt__error(struct ms_libvirt *l);

/* Stop the bridge, disconnect and free. */
void ms_libvirt__close(struct ms_libvirt *l);

#endif
