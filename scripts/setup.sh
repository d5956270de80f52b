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
	man-db groff-base          # tests/cli/test_manpages: man -l and groff -ww check the pages
	libcap2-bin                # tests/cli/test_features_caps: setcap on the binary
	libvirt-dev                # watch --domain (libvirt-qemu monitor passthrough)
	libvirt-daemon-driver-qemu # tests/cli/test_libvirt.sh: a real libvirtd runs a domain
	libvirt-clients            # virsh, for that test
	make gcc
)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing+=("$p")
done
# The second real QEMU (10.0 from backports, unpacked beside 7.2, nothing
# installed) for the end-to-end test and the corpus; a machine without it
# skips those tests' 10.0 half, saying so.
qemu10() {
	[ "$(id -u)" -eq 0 ] || return 0
	"$(dirname "$0")/qemu10.sh" --check >/dev/null ||
		"$(dirname "$0")/qemu10.sh" >/dev/null ||
		echo "setup: QEMU 10.0 not fetched (scripts/qemu10.sh); its tests will skip" >&2
}

if [ ${#missing[@]} -eq 0 ]; then
	qemu10
	exit 0
fi

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
qemu10
echo "setup: done"
