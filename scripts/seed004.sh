#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Seed 004 (shared/seeds/qemu-vfio-precopy-reinit-switchover-ack.txt)
# reproduced on reference devices: one busy device whose workload makes new
# initial data during pre-copy (one REINIT of its whole 1 GiB state as soon
# as its first initial data is sent) and three idle devices, migrated with
# and without REINIT-aware switchover (migscope profile --reinit on|off), the
# same seed and settings otherwise.  Prints both runs' VM downtime and the
# busy device's own downtime (its stop, stop-copy and resume: report field
# devices[].downtime.busy_ms) and the reductions; the seed measured
# 2352 -> 1335 ms (-43 %) and 1600 -> 520 ms (-67 %).
#
# --scale N divides every size and rate by N: the times, and so the ratios,
# stay the same (arc latencies are not scaled), at 1/N of the work.
# --bench prints 'BENCH seed004_vm_downtime_reduction_pct ...' lines.
# The model and its assumptions: docs/devices.md, "Seed 004".
set -euo pipefail
MIGSCOPE=${MIGSCOPE:-build/migscope}
scale=1 bench=0
while [ $# -gt 0 ]; do
	case $1 in
	--scale) scale=$2; shift 2 ;;
	--bench) bench=1; shift ;;
	-h | --help) sed -n '3,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "seed004.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
done
case $scale in '' | *[!0-9]*) echo "seed004.sh: --scale '$scale' is not a number" >&2; exit 2 ;; esac
[ "$scale" -ge 1 ] || { echo "seed004.sh: --scale must be at least 1" >&2; exit 2; }

# sizes in KiB so that a scale divides them evenly enough
k() { echo "$(($1 / scale))K"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run() {
	"$MIGSCOPE" profile --quiet --json --seed 4 --downtime-limit 3s \
		--bandwidth "$(k $((700 * 1024)))/s" \
		--device "ref:name=busy,state=$(k $((1024 * 1024))),ws=$(k $((320 * 1024))),dirty=$(k $((600 * 1024)))/s,reinit=1,rsize=$(k $((1024 * 1024))),rgap=0,stop=40ms,load=40ms" \
		--device "ref:name=idle1,state=$(k $((200 * 1024))),init=$(k $((16 * 1024))),dirty=0" \
		--device "ref:name=idle2,state=$(k $((200 * 1024))),init=$(k $((16 * 1024))),dirty=0" \
		--device "ref:name=idle3,state=$(k $((200 * 1024))),init=$(k $((16 * 1024))),dirty=0" \
		--reinit "$1" >"$tmp/$1.json"
}
run on
run off
python3 - "$tmp/on.json" "$tmp/off.json" "$bench" <<'PY'
import json, sys

def get(path):
    d = json.load(open(path))
    m = d["migration"]
    busy = next(x for x in d["devices"] if x["name"] == "busy")
    if not m["switchover"]["converged"]:
        sys.exit("seed004.sh: %s did not converge: %s" % (path, m["switchover"]["reason"]))
    return m["downtime_ms"], busy["downtime"]["busy_ms"]

(vm_on, busy_on), (vm_off, busy_off) = get(sys.argv[1]), get(sys.argv[2])
vm_red = 100.0 * (vm_off - vm_on) / vm_off
busy_red = 100.0 * (busy_off - busy_on) / busy_off
print("seed004: VM downtime %.0f -> %.0f ms (%.1f %% less; seed: 2352 -> 1335 ms, -43 %%)"
      % (vm_off, vm_on, vm_red))
print("seed004: busy device %.0f -> %.0f ms (%.1f %% less; seed: 1600 -> 520 ms, -67 %%)"
      % (busy_off, busy_on, busy_red))
if sys.argv[3] == "1":
    print("BENCH seed004_vm_downtime_reduction_pct %.1f %% (seed 004: 43)" % vm_red)
    print("BENCH seed004_busy_device_reduction_pct %.1f %% (seed 004: 67)" % busy_red)
PY
