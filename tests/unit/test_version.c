// SPDX-License-Identifier: GPL-2.0-only
/*
 * The compile-time feature list (include/migscope/version.h): MS_ON() tells a
 * feature macro the Makefile defined (-DMS_HAVE_X) from one it did not, so a
 * feature is one line in MS_FEATURES whether or not its library was found.
 */
#include <string.h>

#define MS_HAVE_TEST_ON	 1 /* as -DMS_HAVE_TEST_ON defines it */
#define MS_HAVE_TEST_OFF 0
#include <migscope/version.h>

#include "testutil.h"

static void ms_on_is_1_for_a_defined_feature_and_0_otherwise(void **state)
{
	(void)state;
	assert_int_equal(MS_ON(MS_HAVE_TEST_ON), 1);
	assert_int_equal(MS_ON(MS_HAVE_TEST_OFF), 0);
	assert_int_equal(MS_ON(MS_HAVE_NOT_DEFINED_ANYWHERE), 0);
	/* a constant expression: usable in a static initializer */
	static const int on[] = { MS_ON(MS_HAVE_TEST_ON), MS_ON(MS_HAVE_NOT_DEFINED_ANYWHERE) };
	assert_int_equal(on[0] + on[1], 1);
}

static void the_list_names_each_feature_once_and_the_sanitizers_of_this_build(void **state)
{
	(void)state;
	assert_true(MS_NR_FEATURES >= 2);
	for (size_t i = 0; i < MS_NR_FEATURES; i++) {
		assert_non_null(ms_features[i].name);
		assert_true(ms_features[i].what && ms_features[i].what[0]);
		for (size_t j = i + 1; j < MS_NR_FEATURES; j++)
			assert_string_not_equal(ms_features[i].name, ms_features[j].name);
		/* the unit tests are built with ASan */
		if (!strcmp(ms_features[i].name, "sanitizers"))
			assert_int_equal(ms_features[i].on, 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ms_on_is_1_for_a_defined_feature_and_0_otherwise),
		cmocka_unit_test(the_list_names_each_feature_once_and_the_sanitizers_of_this_build),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
