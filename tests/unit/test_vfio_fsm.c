// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VFIO v2 state table, every (current, target) cell, for every capability
 * combination.  The expected paths are written out by hand from the kernel's
 * list of combination transitions (the comment above vfio_from_fsm_table in
 * drivers/vfio/vfio_main.c) and its rule that unsupported states are skipped,
 * not computed from the table under test.
 */
#include <errno.h>
#include <string.h>

#include <migscope/vfio_fsm.h>

#include "testutil.h"

#define SC_  VFIO_MIGRATION_STOP_COPY
#define P2P_ VFIO_MIGRATION_P2P
#define PRE_ VFIO_MIGRATION_PRE_COPY

/* Rows and columns in state-number order: ERROR STOP RUNNING STOP_COPY RESUMING RUNNING_P2P
 * PRE_COPY PRE_COPY_P2P */
typedef const char *table_t[MS_VFIO_NR_STATES][MS_VFIO_NR_STATES];
#define X "x" /* not allowed: -EINVAL */
#define ROW_X                                                                                      \
	{                                                                                          \
		X, X, X, X, X, X, X, X                                                             \
	}

/* clang-format off */
static const table_t all_caps = {
	ROW_X,
	{ X, "", "RP RU", "SC", "RE", "RP", "RP RU PC", "RP PP" },
	{ X, "RP ST", "", "RP ST SC", "RP ST RE", "RP", "PC", "RP PP" },
	{ X, "ST", "ST RP RU", "", "ST RE", "ST RP", X, X },
	{ X, "ST", "ST RP RU", "ST SC", "", "ST RP", "ST RP RU PC", "ST RP PP" },
	{ X, "ST", "RU", "ST SC", "ST RE", "", "RU PC", "PP" },
	{ X, "RU RP ST", "RU", "PP SC", "RU RP ST RE", "RU RP", "", "PP" },
	{ X, "RP ST", "RP RU", "SC", "RP ST RE", "RP", "PC", "" },
};

static const table_t no_p2p = {
	ROW_X,
	{ X, "", "RU", "SC", "RE", X, "RU PC", X },
	{ X, "ST", "", "ST SC", "ST RE", X, "PC", X },
	{ X, "ST", "ST RU", "", "ST RE", X, X, X },
	{ X, "ST", "ST RU", "ST SC", "", X, "ST RU PC", X },
	ROW_X,
	{ X, "RU ST", "RU", "SC", "RU ST RE", X, "", X },
	ROW_X,
};

static const table_t no_precopy = {
	ROW_X,
	{ X, "", "RP RU", "SC", "RE", "RP", X, X },
	{ X, "RP ST", "", "RP ST SC", "RP ST RE", "RP", X, X },
	{ X, "ST", "ST RP RU", "", "ST RE", "ST RP", X, X },
	{ X, "ST", "ST RP RU", "ST SC", "", "ST RP", X, X },
	{ X, "ST", "RU", "ST SC", "ST RE", "", X, X },
	ROW_X,
	ROW_X,
};

static const table_t stop_copy_only = {
	ROW_X,
	{ X, "", "RU", "SC", "RE", X, X, X },
	{ X, "ST", "", "ST SC", "ST RE", X, X, X },
	{ X, "ST", "ST RU", "", "ST RE", X, X, X },
	{ X, "ST", "ST RU", "ST SC", "", X, X, X },
	ROW_X,
	ROW_X,
	ROW_X,
};

static const table_t nothing = {
	ROW_X, ROW_X, ROW_X, ROW_X, ROW_X, ROW_X, ROW_X, ROW_X,
};

/* clang-format on */

static uint8_t abbrev(const char *s)
{
	static const char *const a[] = { "ER", "ST", "RU", "SC", "RE", "RP", "PC", "PP" };

	for (uint8_t i = 0; i < 8; i++)
		if (!strncmp(s, a[i], 2))
			return i;
	fail_msg("bad abbreviation '%s'", s);
	return 0;
}

static void check_table(uint32_t caps, const table_t *t)
{
	for (unsigned int cur = 0; cur < MS_VFIO_NR_STATES; cur++)
		for (unsigned int tgt = 0; tgt < MS_VFIO_NR_STATES; tgt++) {
			const char *want = (*t)[cur][tgt];
			uint8_t path[MS_VFIO_MAX_PATH], next;
			int n = ms_vfio_fsm__path(caps, cur, tgt, path);

			if (!strcmp(want, X)) {
				if (n != -EINVAL)
					fail_msg("caps 0x%x %u -> %u: got %d arcs, want -EINVAL",
						 caps, cur, tgt, n);
				assert_int_equal(ms_vfio_fsm__next(caps, cur, tgt, &next), -EINVAL);
				continue;
			}
			{
				int want_n = 0;
				const char *p = want;

				for (; *p; p += p[2] ? 3 : 2) {
					if (want_n >= n || path[want_n] != abbrev(p))
						fail_msg(
						    "caps 0x%x %u -> %u: arc %d is %d, want %.2s",
						    caps, cur, tgt, want_n,
						    want_n < n ? path[want_n] : -1, p);
					want_n++;
				}
				if (n != want_n)
					fail_msg("caps 0x%x %u -> %u: %d arcs, want %d (%s)", caps,
						 cur, tgt, n, want_n, want);
			}
			/* next() is the first step, and every step is one arc */
			assert_int_equal(ms_vfio_fsm__next(caps, cur, tgt, &next), 0);
			assert_int_equal(next, n ? path[0] : tgt);
			for (int i = 0, from = cur; i < n; from = path[i++]) {
				assert_int_equal(ms_vfio_fsm__next(caps, from, path[i], &next), 0);
				assert_int_equal(next, path[i]);
			}
		}
}

static void every_cell_with_p2p_and_precopy_matches_the_kernel(void **state)
{
	check_table(SC_ | P2P_ | PRE_, &all_caps);
}

static void every_cell_without_p2p_skips_the_p2p_states(void **state)
{
	check_table(SC_ | PRE_, &no_p2p);
}

static void every_cell_without_precopy_has_no_precopy_states(void **state)
{
	check_table(SC_ | P2P_, &no_precopy);
}

static void every_cell_with_stop_copy_only_is_the_basic_machine(void **state)
{
	check_table(SC_, &stop_copy_only);
}

static void without_stop_copy_no_state_is_usable(void **state)
{
	check_table(0, &nothing);
	check_table(P2P_ | PRE_, &nothing);
}

/* A path enters the saving group only as its last step, unless it starts inside it (one data
 * session). */
static void saving_group_states_are_interior_only_within_one_session(void **state)
{
	uint32_t combos[] = { SC_, SC_ | P2P_, SC_ | PRE_, SC_ | P2P_ | PRE_ };

	for (size_t c = 0; c < 4; c++)
		for (unsigned int a = 0; a < MS_VFIO_NR_STATES; a++)
			for (unsigned int b = 0; b < MS_VFIO_NR_STATES; b++) {
				uint8_t path[MS_VFIO_MAX_PATH];
				int n = ms_vfio_fsm__path(combos[c], a, b, path);

				for (int i = 0; i + 1 < n; i++)
					if (!ms_vfio_fsm__saving(a) || !ms_vfio_fsm__saving(b))
						assert_false(ms_vfio_fsm__saving(path[i]));
			}
}

static void state_names_parse_back_and_unknown_numbers_are_named(void **state)
{
	char b[16];
	uint8_t s;

	for (unsigned int i = 0; i < MS_VFIO_NR_STATES; i++) {
		assert_int_equal(ms_vfio_state_parse(ms_vfio_state_name(i, b, sizeof(b)), &s), 0);
		assert_int_equal(s, i);
	}
	assert_int_equal(ms_vfio_state_parse("stop_copy", &s), 0);
	assert_int_equal(s, VFIO_DEVICE_STATE_STOP_COPY);
	assert_int_equal(ms_vfio_state_parse("9", &s), -EINVAL);
	assert_int_equal(ms_vfio_state_parse("flying", &s), -EINVAL);
	assert_string_equal(ms_vfio_state_name(9, b, sizeof(b)), "state9");
	assert_int_equal(ms_vfio_fsm__class(VFIO_DEVICE_STATE_PRE_COPY_P2P), MS_VFIO_CLASS_P2P);
	assert_int_equal(ms_vfio_fsm__class(VFIO_DEVICE_STATE_RESUMING), MS_VFIO_CLASS_STOPPED);
	assert_int_equal(ms_vfio_fsm__class(VFIO_DEVICE_STATE_PRE_COPY), MS_VFIO_CLASS_RUN);
	assert_int_equal(ms_vfio_fsm__class(42), MS_VFIO_CLASS_ERROR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_cell_with_p2p_and_precopy_matches_the_kernel),
		cmocka_unit_test(every_cell_without_p2p_skips_the_p2p_states),
		cmocka_unit_test(every_cell_without_precopy_has_no_precopy_states),
		cmocka_unit_test(every_cell_with_stop_copy_only_is_the_basic_machine),
		cmocka_unit_test(without_stop_copy_no_state_is_usable),
		cmocka_unit_test(saving_group_states_are_interior_only_within_one_session),
		cmocka_unit_test(state_names_parse_back_and_unknown_numbers_are_named),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
