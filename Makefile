# SPDX-License-Identifier: GPL-2.0-only
#
# migscope build, in the libbpf-tools manner:
#   bpf/x.bpf.c -> build/bpf/x.bpf.o -> build/bpf/x.skel.h   (clang -target bpf, bpftool)
#   src/*/*.c   -> build/libmigscope.a                        (the library every tool links)
#   tools/*.c   -> build/migscope                             (the CLI)
# and three more flavours of the same sources:
#   build/san/   AddressSanitizer + UndefinedBehaviorSanitizer, for tests/unit
#   build/fuzz/  libFuzzer + ASan + UBSan, for tests/fuzz
#   build/bench/ optimized, for tests/bench
#
# Targets: all (default), run, test, bench, fuzz, vmtest, install, clean, deps.
# install: the CLI, its man pages (generated from its --help by scripts/helpdoc.py)
# and bash completion under PREFIX (/usr/local), DESTDIR honoured.
# vmtest boots a kernel of our own under QEMU and runs tests/vm/ in it
# (scripts/vm/, docs/vm-lane.md); it is not part of test.
# Every target that builds first runs scripts/setup.sh, which installs the
# Debian packages migscope needs when they are missing (a fresh machine can
# type 'make run' or 'make test' first).  V=1 shows the commands.

BUILD ?= build
PREFIX ?= /usr/local
DESTDIR ?=
ARCH ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/ppc64le/powerpc/')
MULTIARCH := $(shell gcc -print-multiarch 2>/dev/null || echo $$(uname -m)-linux-gnu)

CC ?= gcc
CLANG ?= clang
LLVM_STRIP ?= llvm-strip
BPFTOOL ?= bpftool
FUZZ_SECONDS ?= 30

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

WARN := -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
INCLUDES := -Iinclude -I$(BUILD)/bpf
CFLAGS ?= -O2 -g
ALL_CFLAGS := $(CFLAGS) -std=gnu11 $(WARN) $(INCLUDES) -D_GNU_SOURCE -MMD -MP
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
SAN_CFLAGS := -O1 -g -std=gnu11 $(WARN) $(INCLUDES) -D_GNU_SOURCE -MMD -MP $(SAN_FLAGS)
FUZZ_CFLAGS := -O1 -g -std=gnu11 $(INCLUDES) -D_GNU_SOURCE -MMD -MP -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
LDLIBS := -lbpf -lelf -lz -ljson-c -lm -lpthread

# libvirt (watch --domain) is optional: built in when its development files are there
LIBVIRT_LIBS := $(shell pkg-config --libs libvirt libvirt-qemu 2>/dev/null)
ifneq ($(LIBVIRT_LIBS),)
LIBVIRT_CFLAGS := -DMS_HAVE_LIBVIRT $(shell pkg-config --cflags libvirt libvirt-qemu)
ALL_CFLAGS += $(LIBVIRT_CFLAGS)
SAN_CFLAGS += $(LIBVIRT_CFLAGS)
FUZZ_CFLAGS += $(LIBVIRT_CFLAGS)
LDLIBS += $(LIBVIRT_LIBS)
endif

# The kernel types the BPF programs read come from bpf/vmlinux.h, a small
# committed header that declares only the fields bpf/ uses, every struct
# marked preserve_access_index: libbpf relocates each access (CO-RE) against
# the BTF of the kernel the programs load on, so one header serves every
# kernel.  We do not generate vmlinux.h from /sys/kernel/btf/vmlinux: the
# build would then depend on the build machine's kernel (and fail where there
# is none, in containers), and a generated header plus a fallback for machines
# without BTF would be two builds of which only one is ever tested.
# Tracepoint arguments are taken as raw_tp arguments (BPF_PROG), not from
# the kernel's trace event structs, which change between kernels.
# -mcpu=v3: the live-mapping table claims and frees slots with cmpxchg and
# xchg (kernel 5.12+; the DMA tracepoints need 6.12).

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.skel.h,$(BPF_SRCS))
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -I$(BUILD)/bpf -Iinclude \
	-I/usr/include/$(MULTIARCH) -Wall -Wno-unused-function

LIB_SRCS := $(wildcard src/*/*.c)
TOOL_SRCS := $(wildcard tools/*.c)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_HELPERS := $(filter-out $(UNIT_SRCS),$(wildcard tests/unit/*.c))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
BENCH_SRCS := $(wildcard tests/bench/bench_*.c)

LIB_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
TOOL_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(TOOL_SRCS))
SAN_LIB_OBJS := $(patsubst %.c,$(BUILD)/san/%.o,$(LIB_SRCS))
SAN_TOOL_OBJS := $(patsubst %.c,$(BUILD)/san/%.o,$(filter-out tools/migscope.c,$(TOOL_SRCS)))
SAN_HELPER_OBJS := $(patsubst %.c,$(BUILD)/san/%.o,$(UNIT_HELPERS))
FUZZ_LIB_OBJS := $(patsubst %.c,$(BUILD)/fuzz/%.o,$(LIB_SRCS))

LIB := $(BUILD)/libmigscope.a
SAN_LIB := $(BUILD)/san/libmigscope.a
FUZZ_LIB := $(BUILD)/fuzz/libmigscope.a
BIN := $(BUILD)/migscope
SAN_BIN := $(BUILD)/san/migscope
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/san/tests/%,$(UNIT_SRCS))
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/tests/%,$(FUZZ_SRCS))
BENCH_BINS := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))
# man pages and bash completion, generated from the CLI's own --help (one source)
MAN_STAMP := $(BUILD)/man/.stamp
COMPLETION := $(BUILD)/completion/migscope

# Extra programs the tests drive (guest kernels, USDT probe binaries) add
# themselves here from their own makefile fragments.
TEST_PROGS :=
-include tests/*.mk

.PHONY: all run test bench fuzz vmtest install clean deps build-all build-tests build-bench build-fuzz \
	build-vm
.DEFAULT_GOAL := all
# keep intermediate objects: relinking a test must not recompile it
.SECONDARY:

# --- entry points: set up first, then build in a second make so the compiler
# --- and libraries installed by setup are the ones the build sees.
all: deps
	$(Q)$(MAKE) --no-print-directory build-all

run: deps
	$(Q)$(MAKE) --no-print-directory build-all
	$(BIN) profile

test: deps
	$(Q)$(MAKE) --no-print-directory build-all build-tests build-fuzz
	$(Q)BUILD=$(BUILD) scripts/run-tests.sh

bench: deps
	$(Q)$(MAKE) --no-print-directory build-all build-bench
	$(Q)BUILD=$(BUILD) scripts/run-bench.sh

fuzz: deps
	$(Q)$(MAKE) --no-print-directory build-fuzz
	$(Q)BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/run-fuzz.sh

# VMTEST_REQUIRE=1 (CI), VMTEST_CHECKS=2,5, VMTEST_TIMEOUT=SECS: see scripts/vm/vmtest.sh
vmtest: deps
	$(Q)BUILD=$(BUILD) MAKE="$(MAKE)" scripts/vm/vmtest.sh

deps:
	$(Q)scripts/setup.sh

build-all: $(BIN) $(MAN_STAMP) $(COMPLETION)
build-tests: $(UNIT_BINS) $(SAN_BIN) $(TEST_PROGS)
build-bench: $(BENCH_BINS)
build-fuzz: $(FUZZ_BINS)
build-vm: $(BIN) $(VM_PROGS)

install: $(BIN) $(MAN_STAMP) $(COMPLETION)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/doc/migscope \
		$(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/migscope
	install -m 0644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/migscope/
	install -m 0644 $(BUILD)/man/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 $(COMPLETION) $(DESTDIR)$(PREFIX)/share/bash-completion/completions/migscope

clean:
	$(call msg,CLEAN,$(BUILD))
	$(Q)rm -rf $(BUILD)

# --- BPF ---------------------------------------------------------------------
$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) include/migscope/event.h \
		include/migscope/collect_abi.h | $(BUILD)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@

$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

# --- userspace ---------------------------------------------------------------
$(BUILD)/obj/%.o: %.c $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/san/%.o: %.c $(SKELS)
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(SAN_CFLAGS) -c $< -o $@

$(BUILD)/fuzz/%.o: %.c $(SKELS)
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(SAN_LIB): $(SAN_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_LIB): $(FUZZ_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN): $(TOOL_OBJS) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $(TOOL_OBJS) $(LIB) $(LDLIBS)

# the CLI built with the sanitizers, for the command-line tests
$(SAN_BIN): $(BUILD)/san/tools/migscope.o $(SAN_TOOL_OBJS) $(SAN_LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)

$(MAN_STAMP): $(BIN) scripts/helpdoc.py
	$(call msg,GEN-MAN,$(@D))
	$(Q)rm -rf $(@D) && mkdir -p $(@D)
	$(Q)python3 scripts/helpdoc.py man $(BIN) $(@D) && touch $@

$(COMPLETION): $(BIN) scripts/helpdoc.py
	$(call msg,GEN-COMP,$@)
	$(Q)mkdir -p $(@D)
	$(Q)python3 scripts/helpdoc.py completion $(BIN) $@.tmp && mv $@.tmp $@

# unit tests link the sanitized library, the command code (for CLI-level tests)
# and the shared test helpers
$(BUILD)/san/tests/%: $(BUILD)/san/tests/unit/%.o $(SAN_HELPER_OBJS) $(SAN_TOOL_OBJS) $(SAN_LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $< $(SAN_HELPER_OBJS) $(SAN_TOOL_OBJS) $(SAN_LIB) -lcmocka $(LDLIBS)

$(BUILD)/fuzz/tests/%: $(BUILD)/fuzz/tests/fuzz/%.o $(FUZZ_LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS)

$(BUILD)/bench/%: tests/bench/%.c $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -O2 -march=native -o $@ $< $(LIB) $(LDLIBS)

$(BUILD)/bpf:
	$(Q)mkdir -p $@

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
