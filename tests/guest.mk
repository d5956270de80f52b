# SPDX-License-Identifier: GPL-2.0-only
# The multiboot guest the end-to-end migration test boots in QEMU: the host
# compiler in 32-bit freestanding mode, no libc, loaded at 1 MiB.  -n packs the
# sections so the multiboot header lands in the first 8 KiB, where QEMU looks.
GUEST := $(BUILD)/guest/guest.elf
GUEST_CFLAGS := -m32 -march=i686 -ffreestanding -fno-pie -fno-pic -fno-stack-protector \
	-fno-asynchronous-unwind-tables -nostdlib -static -O2 -Wall -Wextra \
	-Wl,-no-pie -Wl,-n -Wl,-Ttext=0x100000 -Wl,--build-id=none -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments

$(GUEST): tests/guest/guest.c tests/guest.mk
	$(call msg,GUEST,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(GUEST_CFLAGS) -o $@ $<

TEST_PROGS += $(GUEST)
