#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# VM check 1, features (kernel 6.12 with VFIO, iommufd, BTF, fentry/fexit):
# every iommu, dma and vfio collector this kernel has attaches.  A collector
# that does not must say why in the verifier's or the kernel's own words, and
# is a failure here: on this kernel nothing has an excuse.  The dma
# collectors of the other kernel generation are the only ones allowed to be
# skipped ("... instead").
. /checks/lib.sh

[ -r /sys/kernel/btf/vmlinux ] || fail "no /sys/kernel/btf/vmlinux: the kernel was built without BTF"
"$MIGSCOPE" features --json >"$T/f.json" 2>"$T/err" || { show "$T/err"; fail "migscope features exited $?"; }
"$MIGSCOPE" features >"$T/f.txt" 2>&1
show "$T/f.txt" 60

jq -r '.collectors[] | select(.group != "qemu-usdt") |
	select(.state != "attached" and (.group != "dma" or (.reason | test("instead") | not))) |
	"\(.group)/\(.name) \(.state): \(.reason)"' "$T/f.json" >"$T/bad"
for g in iommu dma vfio; do
	jqt "$T/f.json" "[.collectors[] | select(.group == \"$g\")] | length > 0" ||
		echo "$g: no collector listed" >>"$T/bad"
done
jqt "$T/f.json" '[.collectors[] | select(.state != "attached" and .reason == "")] | length == 0' ||
	echo "a collector not attached has no reason" >>"$T/bad"
if [ -s "$T/bad" ]; then
	show "$T/bad"
	fail "$(wc -l <"$T/bad") collector(s) not attached; first: $(head -1 "$T/bad")"
fi
pass "$(jq -r '[.collectors[] | select(.group == "iommu" or .group == "dma" or .group == "vfio")
	| select(.state == "attached")] | length' "$T/f.json") iommu/dma/vfio collectors attached on $(uname -r)"
