#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Install the Debian packages migscope builds and tests with, when missing.
# Fast when everything is there (one dpkg query), so every make target runs it.
set -euo pipefail

# one package per line, with what needs it
PACKAGES=(
	clang llvm                 # BPF programs, libFuzzer
	libbpf-dev bpftool         # skeletons, loading
	libelf-dev zlib1g-dev      # libbpf's dependencies
	libjson-c-dev              # reports, QMP
	libcmocka-dev              # unit tests
	libxml2-utils              # xmllint checks the --svg plot in tests/cli
	libclang-rt-14-dev         # sanitizer and libFuzzer runtimes for clang
	pkg-config
	systemtap-sdt-dev          # <sys/sdt.h> for the USDT test binary
	jq                         # tests/cli: checking --json output
	python3                    # tests/reader: the independent capture reader
	qemu-system-x86            # the end-to-end migration test (migscope watch)
	make gcc
)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
	SUDO=()
elif command -v sudo >/dev/null; then
	SUDO=(sudo)
else
	echo "setup: missing packages (${missing[*]}); run as root: apt-get install ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
