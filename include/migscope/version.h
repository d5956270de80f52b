/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef MIGSCOPE_VERSION_H
#define MIGSCOPE_VERSION_H

#define MS_VERSION "0.1.0"

/*
 * The optional features a build may have, in one place: `migscope -V` and
 * `migscope features` list them from here.  A feature that depends on a
 * library gets -DMS_HAVE_<NAME> from the Makefile when pkg-config finds the
 * library (the code tests it with #ifdef) and one line in MS_FEATURES below:
 *
 *	F("name", MS_ON(MS_HAVE_NAME), "what it enables")
 */

/*
 * MS_ON(MS_HAVE_X): 1 when MS_HAVE_X is defined as 1 (-DMS_HAVE_X), else 0,
 * as an expression.  A defined one expands to 1 first, and ms_on_1 puts a
 * 0 and a comma ahead of the 1 ms_on_b adds, so the second argument picked is
 * that 1; an undefined name pastes into ms_on_MS_HAVE_X, no macro, and the
 * second argument is the 0.
 */
#define ms_on_1		     0,
#define ms_second(a, b, ...) b
#define ms_on_b(pasted)	     ms_second(pasted 1, 0, 0)
#define ms_on_a(x)	     ms_on_b(ms_on_##x)
#define MS_ON(x)	     ms_on_a(x)

#if defined(__SANITIZE_ADDRESS__)
#define MS_HAVE_SANITIZERS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MS_HAVE_SANITIZERS 1
#endif
#endif

#define MS_FEATURES(F)                                                                             \
	F("usdt", 1, "QEMU's USDT probes through libbpf (watch)")                                  \
	F("libvirt", MS_ON(MS_HAVE_LIBVIRT), "watch --domain through libvirt-qemu")               \
	F("sanitizers", MS_ON(MS_HAVE_SANITIZERS), "built with AddressSanitizer and UBSan (tests)")

struct ms_feature {
	const char *name;
	int on;
	const char *what;
};

#define MS_FEATURE_ENTRY(n, on, what) { n, on, what },
static const struct ms_feature ms_features[]
    __attribute__((unused)) = { MS_FEATURES(MS_FEATURE_ENTRY) };
#undef MS_FEATURE_ENTRY
#define MS_NR_FEATURES (sizeof(ms_features) / sizeof(ms_features[0]))

#endif
