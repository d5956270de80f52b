# SPDX-License-Identifier: GPL-2.0-only
# The USDT test binary: QEMU's probe names and argument lists through
# systemtap-sdt-dev's <sys/sdt.h>, for tests/unit/test_collect_usdt.c.
FAKE_QEMU := $(BUILD)/tests/fake_qemu

$(FAKE_QEMU): tests/usdt/fake_qemu.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O1 -g -Wall -o $@ $<

TEST_PROGS += $(FAKE_QEMU)
