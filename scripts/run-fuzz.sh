#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Run each libFuzzer target for FUZZ_SECONDS, seeded from tests/fuzz/corpus/<name>/
# (committed seeds) into a working corpus under build/.  Exit 1 on any crash.
set -euo pipefail
BUILD=${BUILD:-build}
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
status=0
for f in "$BUILD"/fuzz/tests/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	corpus=$BUILD/fuzz/corpus/$name
	mkdir -p "$corpus" "$BUILD/fuzz/crashes"
	seeds=tests/fuzz/corpus/${name#fuzz_}
	echo "# $name: ${FUZZ_SECONDS}s"
	if ! "$f" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
		-artifact_prefix="$BUILD/fuzz/crashes/$name-" "$corpus" \
		$( [ -d "$seeds" ] && echo "$seeds" ) 2>"$BUILD/fuzz/$name.log"; then
		echo "FAIL $name: see $BUILD/fuzz/$name.log and $BUILD/fuzz/crashes/"
		tail -n 30 "$BUILD/fuzz/$name.log"
		status=1
	else
		grep -E 'stat::number_of_executed_units|cov:' "$BUILD/fuzz/$name.log" | tail -n 2 | sed 's/^/  /'
	fi
done
exit $status
