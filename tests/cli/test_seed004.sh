#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Seed 004 reproduced (scripts/seed004.sh, at 1/16 of the sizes: the same
# times): REINIT-aware switchover must cut the VM downtime and the busy
# device's own downtime in the seed's direction and rough size (seed: -43 %
# and -67 %; accepted: within 10 points), and both runs must have converged.
. "$(dirname "$0")/lib.sh"

expect_exit 0 "scripts/seed004.sh" -- env MIGSCOPE="$MIGSCOPE" scripts/seed004.sh --scale 16 --bench
cat "$T/out"
vm=$(awk '$2 == "seed004_vm_downtime_reduction_pct" { print $3 }' "$T/out")
busy=$(awk '$2 == "seed004_busy_device_reduction_pct" { print $3 }' "$T/out")
within() { awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v != "" && v >= lo && v <= hi) }'; }
within "$vm" 33 53 && ok "VM downtime reduction $vm % is the seed's 43 % within 10 points" ||
	fail "VM downtime reduction '$vm' %, seed 43 %"
within "$busy" 57 77 && ok "busy device reduction $busy % is the seed's 67 % within 10 points" ||
	fail "busy device reduction '$busy' %, seed 67 %"
expect_grep 'VM downtime [0-9]+ -> [0-9]+ ms' "$T/out" "both runs' VM downtime shown"

expect_exit 2 "profile --reinit maybe" -- "$MIGSCOPE" profile --reinit maybe
expect_grep "reinit: 'maybe' is not on or off" "$T/err" "a bad --reinit is named"
finish
