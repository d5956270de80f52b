/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef MIGSCOPE_VERSION_H
#define MIGSCOPE_VERSION_H

#define MS_VERSION "0.1.0"

/*
 * The optional features a build may have, in one place: `migscope -V` and
 * `migscope features` list them from here.  A feature that depends on a
 * library gets its MS_HAVE_<NAME> from the Makefile (-DMS_HAVE_<NAME>=1 when
 * pkg-config finds the library) and one line in MS_FEATURES below:
 *
 *	F("name", MS_HAVE_NAME, "what it enables")
 */
#if defined(__SANITIZE_ADDRESS__)
#define MS_HAVE_SANITIZERS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MS_HAVE_SANITIZERS 1
#endif
#endif
#ifndef MS_HAVE_SANITIZERS
#define MS_HAVE_SANITIZERS 0
#endif

#define MS_FEATURES(F)                                                                             \
	F("usdt", 1, "QEMU's USDT probes through libbpf (watch)")                                  \
	F("sanitizers", MS_HAVE_SANITIZERS, "built with AddressSanitizer and UBSan (tests)")

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
