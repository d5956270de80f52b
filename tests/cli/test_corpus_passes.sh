#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The verdict pass by pass on the corpus of real migrations (tests/fixtures/corpus, QEMU 7.2.22
# and 10.0.2 under TCG): each run is replayed cut 5 ms after each of the RAM's pass boundaries
# (QEMU's dirty syncs, from the report's pass_list) and judged there (docs/telemetry.md,
# "Verdicts"):
#   - inside the first pass (before its second sync) the VM's verdict is unknown, saying so;
#   - a run that never completes (cancelled) is never converging, after any sync;
#   - the completing runs whose second pass left clearly less than the first at a flat dirty
#     rate (converge-16m, converge-24m, converge-many, on both QEMUs) are converging from the end
#     of that pass, two passes before the old rule would say it.
. "$(dirname "$0")/lib.sh"
CORPUS=tests/fixtures/corpus

# verdict CAPTURE SECONDS: the VM's verdict and reason, one line
verdict() {
	"$MIGSCOPE" replay "$1" --until "${2}s" --json 2>"$T/err" |
		jq -r '.migration.convergence | "\(.verdict) \(.reason)"'
}

runs=0
for d in "$CORPUS"/*/; do
	d=${d%/}
	name=$(basename "$d")
	[ -f "$d/outcome.json" ] || continue
	args=(--qmp-transcript "$d/qmp.jsonl" --qemu-log "$d/src.log" --record "$T/$name.mscap")
	[ -f "$d/dst.log" ] && args+=(--dst-qemu-log "$d/dst.log")
	if ! "$MIGSCOPE" import "${args[@]}" >/dev/null 2>"$T/err"; then
		fail "$name: import: $(head -n1 "$T/err")"
		continue
	fi
	runs=$((runs + 1))
	outcome=$(jq -r .outcome "$d/outcome.json")
	"$MIGSCOPE" replay "$T/$name.mscap" --json >"$T/r.json" 2>/dev/null
	mapfile -t bounds < <(jq -r '[.devices[] | select(.name == "ram" and .role == "source")][0]
		.convergence.pass_list[].t_ms' "$T/r.json")
	[ "${#bounds[@]}" -ge 2 ] || { fail "$name: ${#bounds[@]} pass boundaries"; continue; }
	# inside the first pass: halfway between the setup sync and the next
	mid=$(awk -v a="${bounds[0]}" -v b="${bounds[1]}" 'BEGIN { printf "%.3f", (a + b) / 2000 }')
	v=$(verdict "$T/$name.mscap" "$mid")
	case "$v" in
	"unknown ram: no complete pass yet"*) ;;
	*) fail "$name at ${mid} s, inside the first pass: $v" ;;
	esac
	conv_after=
	for i in "${!bounds[@]}"; do
		at=$(awk -v t="${bounds[$i]}" 'BEGIN { printf "%.3f", (t + 5) / 1000 }')
		v=$(verdict "$T/$name.mscap" "$at")
		if [ "$outcome" != completed ] && [ "${v%% *}" = converging ]; then
			fail "$name ($outcome) converging after sync $((i + 1)), at $at s: $v"
		fi
		[ "$i" = 2 ] && conv_after=${v%% *}
	done
	case "$name" in
	q*-converge-16m | q*-converge-24m | q*-converge-many)
		[ "$conv_after" = converging ] && ok "$name: converging from the end of its second pass" ||
			fail "$name: $conv_after at the end of its second pass, want converging"
		;;
	esac
done
[ "$runs" -ge 22 ] && ok "$runs runs judged after every sync; none that never completes converging" ||
	fail "$runs runs judged, want the corpus's 22"
finish
