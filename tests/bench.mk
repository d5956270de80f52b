# SPDX-License-Identifier: GPL-2.0-only
# make bench also runs the e2e test's bench mode (agent_cpu_pct_watch: the
# agent beside a real QEMU migration, tests/unit/test_qemu_migration.c), so it
# builds that test and the guest it boots (named here: guest.mk, which adds it
# to TEST_PROGS, is read after this file).
build-bench: $(BUILD)/san/tests/test_qemu_migration $(BUILD)/guest/guest.elf
