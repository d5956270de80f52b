#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Score migscope's convergence verdict on the corpus of real QEMU migrations
# (tests/fixtures/corpus/*, recorded by scripts/corpus/record.py).
#
#   scripts/corpus/score.sh [--bench] [CORPUS_DIR]
#
# Each run is imported (migscope import) and replayed cut at 25, 50 and 75 %
# of its time from `migrate` to the switchover or the cancel (replay --until),
# and the VM's verdict then is compared with what happened:
#   - a run that completed should be "converging", except at a mark before a
#     limit change that made it complete (outcome.json limit_change.before
#     "never"): there it should be "stalled" or "diverging";
#   - a run that never completed (cancelled) should be "stalled" or
#     "diverging" (or "converging" at a mark before a limit change whose
#     before is "completes");
#   - "unknown" is right only at a mark inside the first pass (before QEMU's
#     second dirty sync, from the source log, flagged "pass1"), where issue
#     20's rules ask for it ("unknown: before the first complete pass"), and
#     it is never a false "converging".
# The score at 50 % is given by those rules, strictly (unknown never right),
# and over the marks after the first pass.  One line per run and mark, then
# the totals; with --bench the BENCH lines.  Exit 1 when a run cannot be
# imported or replayed (the score itself is judged by the caller:
# tests/cli/test_corpus.sh).
#
# MIGSCOPE is the CLI (default build/migscope).
set -uo pipefail
MIGSCOPE=${MIGSCOPE:-build/migscope}
bench=0
if [ "${1:-}" = "--bench" ]; then
	bench=1
	shift
fi
corpus=${1:-tests/fixtures/corpus}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

dt_lines=() dt_out=0 dt_runs=0
runs=0 marks=0 right50=0 total50=0 false_conv=0 errors=0 right50p=0 total50p=0 right50s=0
printf '%-22s %-6s %5s %8s %-5s %-10s %-10s %s\n' RUN QEMU MARK AT_S PASS VERDICT EXPECTED OK
for d in "$corpus"/*/; do
	d=${d%/}
	name=$(basename "$d")
	o=$d/outcome.json
	[ -f "$o" ] || continue
	args=(--qmp-transcript "$d/qmp.jsonl" --record "$tmp/$name.mscap")
	[ -f "$d/src.log" ] && args+=(--qemu-log "$d/src.log")
	[ -f "$d/dst.log" ] && args+=(--dst-qemu-log "$d/dst.log")
	if ! "$MIGSCOPE" import "${args[@]}" >"$tmp/import.out" 2>"$tmp/import.err"; then
		echo "score: $name: import failed: $(head -n1 "$tmp/import.err")" >&2
		errors=$((errors + 1))
		continue
	fi
	runs=$((runs + 1))
	outcome=$(jq -r .outcome "$o")
	# the downtime of a completed run against QMP's (issue 20: within 2 ms)
	if [ "$outcome" = completed ] && "$MIGSCOPE" replay "$tmp/$name.mscap" --json >"$tmp/r.json" \
		2>/dev/null; then
		read -r dt qdt < <(jq -r '[.migration.downtime_ms // "null",
			.migration.qmp_downtime_ms // "null"] | @tsv' "$tmp/r.json")
		far=$(awk -v a="$dt" -v b="$qdt" 'BEGIN { d = a - b; if (d < 0) d = -d
			print (a == "null" || b == "null" || d > 2) ? 1 : 0 }')
		dt_runs=$((dt_runs + 1))
		dt_out=$((dt_out + far))
		dt_lines+=("$(printf 'downtime %-22s %8s ms, QMP %s ms%s' "$name" "$dt" "$qdt" \
			"$([ "$far" = 1 ] && echo ' (more than 2 ms apart)')")")
	fi
	end=$(jq -r .end_s "$o")
	qemu=$(jq -r .qemu "$o")
	change=$(jq -r '.limit_change.done_s // empty' "$o")
	before=$(jq -r '.limit_change.before // empty' "$o")
	# the end of the first pass: QEMU's second bitmap sync, from migrate
	t_migrate=$(jq -r 'select(.msg.execute == "migrate") | .t' "$d/qmp.jsonl" | head -n1)
	pass1_end=$(awk -F'[@:]' -v t0="$t_migrate" '/:migration_bitmap_sync_end/ {
		if (++n == 2) { printf "%.3f", $2 - t0; exit } }' "$d/src.log")
	pass1_end=${pass1_end:-1e9}
	for pct in 25 50 75; do
		at=$(awk -v e="$end" -v p="$pct" 'BEGIN { printf "%.3f", e * p / 100 }')
		if ! "$MIGSCOPE" replay "$tmp/$name.mscap" --until "${at}s" --json >"$tmp/r.json" \
			2>"$tmp/r.err"; then
			echo "score: $name: replay --until ${at}s failed: $(head -n1 "$tmp/r.err")" >&2
			errors=$((errors + 1))
			continue
		fi
		# the VM's verdict; the source's ram where a report has none
		verdict=$(jq -r '(.migration.convergence.verdict // empty),
			([.devices[] | select(.name == "ram" and .role == "source")
			  | .convergence.verdict][0] // empty)' "$tmp/r.json" | head -n1)
		verdict=${verdict:-none}
		completes=$([ "$outcome" = completed ] && echo 1 || echo 0)
		if [ -n "$change" ] && awk -v a="$at" -v c="$change" 'BEGIN { exit !(a < c) }'; then
			completes=$([ "$before" = completes ] && echo 1 || echo 0)
		fi
		if [ "$completes" = 1 ]; then
			expected=converging
			ok=$([ "$verdict" = converging ] && echo yes || echo no)
		else
			expected=stalled
			ok=$([ "$verdict" = stalled ] || [ "$verdict" = diverging ] && echo yes || echo no)
		fi
		# the requirement: never "converging" on a run that never completes
		if [ "$outcome" != completed ] && [ "$verdict" = converging ]; then
			false_conv=$((false_conv + 1))
			ok="no (false converging)"
		fi
		pass=$(awk -v a="$at" -v p="$pass1_end" 'BEGIN { print (a < p) ? "pass1" : "later" }')
		strict=${ok%% *}
		# inside the first pass issue 20's rules ask for unknown
		[ "$pass" = pass1 ] && [ "$verdict" = unknown ] && ok="yes (first pass)"
		marks=$((marks + 1))
		if [ "$pct" = 50 ]; then
			total50=$((total50 + 1))
			[ "${ok%% *}" = yes ] && right50=$((right50 + 1))
			[ "$strict" = yes ] && right50s=$((right50s + 1))
			if [ "$pass" = later ]; then
				total50p=$((total50p + 1))
				[ "${ok%% *}" = yes ] && right50p=$((right50p + 1))
			fi
		fi
		printf '%-22s %-6s %4s%% %8s %-5s %-10s %-10s %s\n' "$name" "$qemu" "$pct" "$at" "$pass" \
			"$verdict" "$expected" "$ok"
	done
done
printf '%s\n' "${dt_lines[@]}"
pct50=$(awk -v r="$right50" -v t="$total50" 'BEGIN { printf "%.1f", t ? 100 * r / t : 0 }')
pct50s=$(awk -v r="$right50s" -v t="$total50" 'BEGIN { printf "%.1f", t ? 100 * r / t : 0 }')
pct50p=$(awk -v r="$right50p" -v t="$total50p" 'BEGIN { printf "%.1f", t ? 100 * r / t : 0 }')
echo "score: $runs runs, $marks marks; at 50 %: $right50 of $total50 right ($pct50 %)," \
	"strictly $right50s ($pct50s %), $right50p of the $total50p after the first pass" \
	"($pct50p %); false converging on runs that never completed: $false_conv"
if [ $bench = 1 ]; then
	echo "BENCH verdict_accuracy_50pct $pct50 percent (required >= 90; $right50 of $total50" \
		"runs; unknown right only inside the first pass)"
	echo "BENCH verdict_false_converging $false_conv count (required 0; $marks marks)"
	echo "BENCH downtime_off_by_more_than_2ms $dt_out count (of $dt_runs completed runs)"
	echo "BENCH verdict_accuracy_50pct_strict $pct50s percent ($right50s of $total50 runs," \
		"unknown never right)"
	echo "BENCH verdict_accuracy_50pct_after_pass1 $pct50p percent ($right50p of the $total50p" \
		"runs whose first pass had ended at 50 %)"
fi
[ $errors -eq 0 ]
