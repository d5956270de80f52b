#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Run every benchmark.  Each prints lines 'BENCH <name> <value> <unit> ...'
# with its baseline, measured in the same run, on the same line.
set -euo pipefail
BUILD=${BUILD:-build}
export MIGSCOPE_BUILD=$BUILD
status=0
for b in "$BUILD"/bench/bench_*; do
	[ -x "$b" ] || continue
	echo "# $(basename "$b")"
	"$b" || status=1
done
# the verdict scored on the corpus of real QEMU migrations (tests/fixtures/corpus)
echo "# corpus verdict score (scripts/corpus/score.sh)"
MIGSCOPE=$BUILD/migscope scripts/corpus/score.sh --bench >"$BUILD/corpus-score.txt" || status=1
grep -E '^(score:|BENCH)' "$BUILD/corpus-score.txt"
exit $status
