# SPDX-License-Identifier: GPL-2.0-only
# make bench also runs the e2e test's bench mode (agent_cpu_pct_watch: the
# agent beside a real QEMU migration, tests/unit/test_qemu_migration.c), so it
# builds that test and the guest it boots.
build-bench: $(BUILD)/san/tests/test_qemu_migration $(TEST_PROGS)
