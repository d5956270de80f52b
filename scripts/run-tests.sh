#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Run every test: the cmocka unit tests (sanitized) and the shell tests of the
# CLI (tests/cli/test_*.sh, run with $MIGSCOPE = the sanitized CLI), and every
# fuzz target over its committed seed corpus.  One summary line per test and a
# total; exit 1 on any failure.
set -uo pipefail
BUILD=${BUILD:-build}
export MIGSCOPE=${MIGSCOPE:-$BUILD/san/migscope}
export MIGSCOPE_BUILD=$BUILD
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
logdir=$BUILD/test-logs
mkdir -p "$logdir"

pass=0 fail=0 failed=()
run() {
	local name=$1; shift
	local log=$logdir/${name//\//-}.log start end
	start=$(date +%s.%N)
	if "$@" >"$log" 2>&1; then
		pass=$((pass + 1)); status=ok
	else
		fail=$((fail + 1)); status=FAIL; failed+=("$name")
	fi
	end=$(date +%s.%N)
	# cmocka's own counts, and every skip with its reason, in the summary
	local detail
	detail=$(grep -Eo '\[  PASSED  \] [0-9]+ test' "$log" | tail -1 | grep -Eo '[0-9]+' || true)
	printf '%-4s %-36s %6.2fs %s\n' "$status" "$name" "$(awk -v a="$start" -v b="$end" 'BEGIN{print b-a}')" \
		"${detail:+($detail passed)}"
	grep -h '^SKIP' "$log" | sed 's/^/       /' || true
	[ $status = FAIL ] && tail -n 40 "$log" | sed 's/^/     | /'
	return 0
}

for t in "$BUILD"/san/tests/test_*; do
	[ -x "$t" ] || continue
	run "$(basename "$t")" "$t"
done
for t in tests/cli/test_*.sh; do
	[ -f "$t" ] || continue
	run "cli/$(basename "$t" .sh)" bash "$t"
done

# every fuzz target over its committed seeds (and any crash reproducers kept
# there): a regression check, not fuzzing; 'make fuzz' explores further
for f in "$BUILD"/fuzz/tests/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	seeds=tests/fuzz/corpus/${name#fuzz_}
	[ -d "$seeds" ] || continue
	run "seeds/$name" "$f" -runs=0 "$seeds"
done

echo "tests: $pass passed, $fail failed"
[ $fail -eq 0 ] || { echo "failed: ${failed[*]}"; exit 1; }
