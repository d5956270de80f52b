# SPDX-License-Identifier: GPL-2.0-only
# The VM lane's guest programs (tests/vm/*.c): built against the plain
# (non-sanitized) library, like build/migscope, because they run inside the
# VM's initramfs, which carries no sanitizer runtime.  `make test` builds them
# too, so they cannot rot while the lane is not run; `make vmtest` runs them.
VM_SRCS := $(wildcard tests/vm/*.c)
VM_PROGS := $(patsubst tests/vm/%.c,$(BUILD)/vm/%,$(VM_SRCS))

$(BUILD)/vm/%: tests/vm/%.c $(LIB)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

TEST_PROGS += $(VM_PROGS)
