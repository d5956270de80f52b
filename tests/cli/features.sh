#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# migscope features on this kernel: the iommu and dma collectors attach, the
# vfio hooks (fentry, no VFIO here) are skipped with a reason, the QEMU USDT
# programs load and wait for a QEMU; --json says the same as the table.
set -euo pipefail
: "${MIGSCOPE:?run from scripts/run-tests.sh}"
fail() { echo "FAIL features: $*" >&2; exit 1; }

"$MIGSCOPE" features --help | grep -q '^Usage: migscope features' || fail "--help"
set +e
"$MIGSCOPE" features --bogus 2>/tmp/ms-features-$$.err; rc=$?
set -e
[ $rc -eq 2 ] || fail "an unknown option exits $rc, not 2"
grep -q "migscope features: unknown or incomplete option '--bogus'" /tmp/ms-features-$$.err ||
	fail "no one-line usage error"
rm -f /tmp/ms-features-$$.err

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP features: needs root (CAP_BPF and CAP_PERFMON)"
	exit 0
fi

json=$("$MIGSCOPE" features --json)
state() { jq -r --arg n "$1" '.collectors[] | select(.name == $n) | .state' <<<"$json"; }

# every iommu collector attaches
[ "$(jq '[.collectors[] | select(.group == "iommu")] | length' <<<"$json")" -eq 5 ] ||
	fail "not 5 iommu collectors"
jq -e '[.collectors[] | select(.group == "iommu" and .state != "attached")] | length == 0' \
	<<<"$json" >/dev/null || fail "an iommu collector is not attached"
# the dma collectors of this kernel's generation attach; the other generation says why not
for p in dma_map_sg dma_unmap_sg dma_sync_single_for_cpu dma_sync_sg_for_cpu; do
	[ "$(state $p)" = attached ] || fail "$p is $(state $p)"
done
[ "$(state dma_unmap_phys)" = attached ] || [ "$(state dma_unmap_page)" = attached ] ||
	fail "no dma unmap collector attached"
jq -e '[.collectors[] | select(.group == "dma" and .state == "skipped" and
	(.reason | test("instead") | not))] | length == 0' <<<"$json" >/dev/null ||
	fail "a dma collector was skipped for another reason than its replacement"
# the vfio hooks are skipped, each with a reason
[ "$(jq '[.collectors[] | select(.group == "vfio")] | length' <<<"$json")" -eq 6 ] ||
	fail "not 6 vfio collectors"
jq -e '[.collectors[] | select(.group == "vfio" and (.state != "skipped" or .reason == ""))]
	| length == 0' <<<"$json" >/dev/null || fail "a vfio collector is not skipped with a reason"
# QEMU's probes wait for a QEMU process
jq -e '[.collectors[] | select(.group == "qemu-usdt" and .state != "loaded")] | length == 0' \
	<<<"$json" >/dev/null || fail "a qemu-usdt collector is not loaded"
# the summary counts the list
jq -e '.summary.attached + .summary.loaded + .summary.skipped == (.collectors | length)' \
	<<<"$json" >/dev/null || fail "summary does not add up"

# the table says the same, and nothing on stderr without -v
text=$("$MIGSCOPE" features 2>/tmp/ms-features-$$.err)
[ ! -s /tmp/ms-features-$$.err ] || fail "stderr not empty: $(cat /tmp/ms-features-$$.err)"
rm -f /tmp/ms-features-$$.err
grep -Eq '^iommu +iommu_map +raw_tp/map +attached$' <<<"$text" || fail "table: iommu_map"
grep -Eq '^vfio +vfio_mig_get_next_state +fexit/vfio_mig_get_next_state +skipped +[^ ]' \
	<<<"$text" || fail "table: vfio_mig_get_next_state"
n=$(jq '.summary.attached' <<<"$json")
grep -q ": $n attached," <<<"$text" || fail "table summary"
echo "ok features"
