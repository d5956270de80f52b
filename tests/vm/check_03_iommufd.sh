#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# VM check 3, iommufd dirty tracking (kernel 6.12 with IOMMUFD_TEST): migscope's
# own iommufd source (src/sources/iommufd.c) tracks a HWPT allocated with
# IOMMU_HWPT_ALLOC_DIRTY_TRACKING on the test mock, while tests/vm/vm_iommufd.c
# dirties known IOPTEs through IOMMU_TEST_OP_DIRTY (2 KiB mock pages).
#   a. the source reads 2 KiB bitmap pages; `migscope bitmap --json --ranges`
#      reports exactly the 4 KiB pages dirtied, none missing, none extra;
#   b. the same read at 4 KiB pages (the kernel converts) gives the same pages;
#   c. with the BPF collectors running, the iova_bitmap_set fentry sees the
#      same pages and the cross-source check (iommufd against hw_dirty) shows
#      0 discrepancies;
#   d. with a 4 KiB ring and 256 IOPTEs apart (one record each), records are
#      lost: the dirty set is widened (loss:ringbuf_drop), never short.
#   e. reads the real kernel refuses widen the whole range.
# Runs without VT-d: see below.
# vmtest-boot: no-iommu
. /checks/lib.sh

[ -c /dev/iommu ] || skip "no /dev/iommu: the kernel has no IOMMUFD"
# 6.12 probes a device without a firmware node with the first such IOMMU
# registered (__iommu_probe_device: "only one of Intel, AMD, ... can be
# present"): beside VT-d the mock device gets VT-d's ops, has no IOMMU, and
# IOMMU_TEST_OP_MOCK_DOMAIN fails with EINVAL.  vmtest boots a second time
# without VT-d for this check.
if ls /sys/class/iommu 2>/dev/null | grep -q '^dmar'; then
	skip "VT-d is on, and 6.12 cannot probe IOMMUFD_TEST's mock device beside it (vmtest runs this check in a boot without VT-d)"
fi

# probe OPTS...: run vm_iommufd into $T/$1.mscap and $T/$1.expect, and the
# capture's bitmap report into $T/$1.json
probe() {
	n=$1
	shift
	/usr/bin/vm_iommufd --record "$T/$n.mscap" --expect "$T/$n.expect" "$@" >"$T/$n.out" 2>&1
	rc=$?
	show "$T/$n.out"
	[ $rc -eq 77 ] && skip "$(tail -1 "$T/$n.out" | sed 's/^vm_iommufd: //')"
	[ $rc -eq 0 ] || fail "$n: $(tail -1 "$T/$n.out" | sed 's/^vm_iommufd: //')"
	"$MIGSCOPE" bitmap "$T/$n.mscap" --json --ranges >"$T/$n.json" 2>"$T/$n.err" ||
		{ show "$T/$n.err"; fail "$n: migscope bitmap exited $?"; }
	"$MIGSCOPE" bitmap "$T/$n.mscap" --ranges | sed 's/^/  | /'
}

# exact NAME: the dirty ranges reported are those expected, and nothing was widened
exact() {
	jq -r '.devices[0].ranges[] | "\(.iova) \(.length)"' "$T/$1.json" >"$T/$1.got"
	if ! cmp -s "$T/$1.expect" "$T/$1.got"; then
		say "expected:"; show "$T/$1.expect"; say "reported:"; show "$T/$1.got"
		fail "$1: migscope reported other pages than the mock dirtied"
	fi
	jqt "$T/$1.json" '.devices[0].dirty.widened | length == 0' ||
		fail "$1: pages were widened: $(jq -c '.devices[0].dirty.widened' "$T/$1.json")"
	say "$1: $(wc -l <"$T/$1.expect") dirty ranges, $(jq '.devices[0].dirty.distinct_pages' \
		"$T/$1.json") pages, exactly those dirtied"
}

probe a --page-size 2048
exact a
probe b --page-size 4096
exact b

probe c --page-size 2048 --bpf
exact c
jqt "$T/c.json" '.devices[0].dirty.sources.hw_dirty.records > 0' ||
	fail "c: the iova_bitmap_set fentry made no records for the device"
jqt "$T/c.json" '.devices[0].dirty.sources.hw_dirty.pages == .devices[0].dirty.sources.iommufd.pages' ||
	fail "c: iova_bitmap_set saw $(jq '.devices[0].dirty.sources.hw_dirty.pages' "$T/c.json") pages, the source read $(jq '.devices[0].dirty.sources.iommufd.pages' "$T/c.json")"
pairs=$(jq '[.devices[0].dirty.discrepancies[] | select(.reported_by == "iommufd" or .missed_by == "iommufd")] | length' "$T/c.json")
[ "$pairs" -ge 2 ] || fail "c: the cross-source check did not compare iommufd with hw_dirty"
jqt "$T/c.json" '[.devices[0].dirty.discrepancies[].pages] | add == 0' ||
	fail "c: discrepancies: $(jq -c '.devices[0].dirty.discrepancies' "$T/c.json")"
say "c: iova_bitmap_set: $(jq '.devices[0].dirty.sources.hw_dirty.records' "$T/c.json") records, same pages, 0 discrepancies"

probe d --page-size 2048 --bpf --ring-bytes 4096 --pattern many
jqt "$T/d.json" '[.devices[0].dirty.widened[] | select(.cause == "loss:ringbuf_drop")] | length > 0' ||
	fail "d: no ring buffer loss with a 4 KiB ring (widened: $(jq -c '.devices[0].dirty.widened' "$T/d.json"))"
# every page dirtied is in the reported set (the set is wider: never short)
jq -r '.devices[0].ranges[] | "\(.iova) \(.length)"' "$T/d.json" >"$T/d.got"
covered() { # IOVA: inside a reported range
	while read -r gi gl; do
		[ "$1" -ge $((gi)) ] && [ "$1" -lt $((gi + gl)) ] && return 0
	done <"$T/d.got"
	return 1
}
while read -r ei el; do
	p=0
	while [ $p -lt "$el" ]; do
		covered $((ei + p)) || fail "d: page $(printf 0x%x $((ei + p))) was dirtied but not reported"
		p=$((p + 4096))
	done
done <"$T/d.expect"
say "d: $(awk '{ n += $2 / 4096 } END { print n }' "$T/d.expect") pages dirtied, $(jq '.devices[0].dirty.distinct_pages' "$T/d.json") reported ($(jq -r '[.devices[0].dirty.widened[] | "\(.cause) \(.pages)"] | join(", ")' "$T/d.json") pages widened; iova_bitmap_set records kept: $(jq '.devices[0].dirty.sources.hw_dirty.records // 0' "$T/d.json"), pages they missed: $(jq '[.devices[0].dirty.discrepancies[] | select(.missed_by == "hw_dirty") | .pages] | add // 0' "$T/d.json"))"

# e. observing a HWPT whose tracking nobody enabled: the real kernel refuses
#    the reads (EINVAL, as the unit tests' fake does); the source widens the
#    whole range (loss:report_error) and says why
probe e --page-size 2048 --observe
grep -q 'failed to read the dirty bitmap of 0x1000000+0x400000 at 2048-byte pages: Invalid argument' "$T/e.out" ||
	fail "e: the refused read was not reported as EINVAL on the range"
jqt "$T/e.json" '[.devices[0].dirty.widened[] | select(.cause == "loss:report_error")] | length > 0' ||
	fail "e: a refused read did not widen (widened: $(jq -c '.devices[0].dirty.widened' "$T/e.json"))"
jqt "$T/e.json" '.devices[0].dirty.distinct_pages == 1024' ||
	fail "e: $(jq '.devices[0].dirty.distinct_pages' "$T/e.json") pages reported, not all 1024 tracked"
say "e: reads refused (EINVAL): all 1024 pages widened, loss:report_error"

pass "the iommufd source reports exactly the mock's dirty pages at 2 KiB and 4 KiB bitmap pages; iova_bitmap_set agrees (0 discrepancies); ring loss and refused reads widen"
