#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# migscope features on this kernel: the iommu and dma collectors attach, the
# vfio hooks (fentry refused, no VFIO here) are skipped with a reason, the
# QEMU USDT programs load and wait for a QEMU; --json says what the table says.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP test_features: needs root (CAP_BPF and CAP_PERFMON)"
	exit 0
fi

# expect_jq FILTER DESCRIPTION: FILTER is true of $T/out
expect_jq() {
	local args=()
	[ "$1" = --slurpfile ] && { args=("$1" "$2" "$3"); shift 3; }
	if jq -e "${args[@]}" "$1" "$T/out" >/dev/null; then ok "$2"; else fail "$2: not ($1)"; fi
}

expect_exit 0 "features --json" -- "$MIGSCOPE" features --json
cp "$T/out" "$T/json"
expect_jq '[.collectors[] | select(.group == "iommu")] | length == 5' "five iommu collectors"
expect_jq '[.collectors[] | select(.group == "iommu" and .state != "attached")] | length == 0' \
	"every iommu collector attached"
for p in dma_map_sg dma_unmap_sg dma_sync_single_for_cpu dma_sync_sg_for_cpu; do
	expect_jq ".collectors[] | select(.name == \"$p\") | .state == \"attached\"" "$p attached"
done
expect_jq '[.collectors[] | select((.name == "dma_unmap_phys" or .name == "dma_unmap_page")
	and .state == "attached")] | length == 1' "one generation of dma unmap attached"
expect_jq '[.collectors[] | select(.group == "dma" and .state == "skipped"
	and (.reason | test("instead") | not))] | length == 0' \
	"dma collectors are only skipped for the other kernel generation"
expect_jq '[.collectors[] | select(.group == "vfio")] | length == 6' "six vfio collectors"
expect_jq '[.collectors[] | select(.group == "vfio" and (.state != "skipped" or .reason == ""))]
	| length == 0' "every vfio collector skipped, with a reason"
expect_jq '[.collectors[] | select(.group == "qemu-usdt" and .state != "loaded")] | length == 0' \
	"the QEMU probes loaded, waiting for a QEMU"
expect_jq '.summary.attached + .summary.loaded + .summary.skipped == (.collectors | length)' \
	"the summary adds up"

"$MIGSCOPE" -V --json >"$T/version.json" 2>/dev/null
expect_jq --slurpfile v "$T/version.json" '.compiled_in == $v[0].features' \
	"the compiled-in features are -V's"
expect_jq '.bpf_usable and ([.privileges[] | select(.need == "required")] | length == 2)' \
	"root: BPF usable, two capabilities required"

expect_exit 0 "features (table)" -- "$MIGSCOPE" features
expect_lines 0 "$T/err" "nothing on stderr without -v"
expect_grep '^iommu +iommu_map +raw_tp/map +attached$' "$T/out" "table: iommu_map attached"
expect_grep '^vfio +vfio_mig_get_next_state +fexit/vfio_mig_get_next_state +skipped +[^ ]' \
	"$T/out" "table: vfio_mig_get_next_state skipped with its reason"
expect_grep ": $(jq .summary.attached "$T/json") attached, " "$T/out" "table summary"
expect_grep '^CAP_BPF +present ' "$T/out" "table: CAP_BPF present"
expect_grep '^Compiled in: .*[+-]usdt' "$T/out" "table: the compiled-in features"

# libvirt (watch --domain): built in or not, and a URI nobody serves, each said with why
# (a daemon that answers: tests/cli/test_libvirt.sh)
LIBVIRT_DEFAULT_URI="qemu:///session?socket=$T/none" "$MIGSCOPE" features --json >"$T/out" 2>/dev/null
expect_jq '.libvirt.available == false and (.libvirt.reason | test("built without libvirt|failed to connect to libvirt at qemu:///session\\?socket=.*/none"))' \
	"libvirt unavailable, with the reason"
LIBVIRT_DEFAULT_URI="qemu:///session?socket=$T/none" "$MIGSCOPE" features >"$T/out" 2>/dev/null
expect_grep '^libvirt( [0-9.]+)?: unavailable: ' "$T/out" "table: the libvirt line"

expect_exit 0 "features -v" -- "$MIGSCOPE" -v features
expect_grep '^libbpf: ' "$T/err" "-v shows libbpf's messages"
finish
