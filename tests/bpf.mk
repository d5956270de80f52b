# SPDX-License-Identifier: GPL-2.0-only
# Test-only BPF objects (tests/bpf/*.bpf.c) built to skeletons beside the
# collectors', for the unit tests and benchmarks that drive the collectors
# with bpf_prog_test_run (tests/bpf/kmem.h).
TEST_BPF_SRCS := $(wildcard tests/bpf/*.bpf.c)
TEST_SKELS := $(patsubst tests/bpf/%.bpf.c,$(BUILD)/bpf/%.skel.h,$(TEST_BPF_SRCS))

$(BUILD)/bpf/%.bpf.o: tests/bpf/%.bpf.c | $(BUILD)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@

$(patsubst tests/unit/%.c,$(BUILD)/san/tests/unit/%.o,$(wildcard tests/unit/*.c)): $(TEST_SKELS)
$(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(wildcard tests/bench/*.c)): $(TEST_SKELS) $(SKELS)
