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
# the agent's CPU beside a real QEMU 7.2 migration: the e2e test's bench mode, the optimized CLI
echo "# agent_cpu_pct_watch (tests/unit/test_qemu_migration.c, MIGSCOPE_BENCH=1)"
MIGSCOPE_BENCH=1 MIGSCOPE=$BUILD/migscope "$BUILD"/san/tests/test_qemu_migration \
	>"$BUILD/agent-cpu.txt" 2>&1 || status=1
grep -E '^(#|BENCH)|SKIPPED|FAILED|skip' "$BUILD/agent-cpu.txt" || true
# seed 004 reproduced on reference devices (docs/devices.md, "Seed 004")
echo "# scripts/seed004.sh"
MIGSCOPE=$BUILD/migscope scripts/seed004.sh --bench || status=1
# the verdict scored on the corpora of real QEMU migrations: under KVM (tests/fixtures/corpus-kvm,
# where QEMU measures the guest's dirty rate: issue 20's figures) and under TCG (tests/fixtures/corpus,
# the passes alone: the names + _tcg)
echo "# corpus verdict score under KVM (scripts/corpus/score.sh tests/fixtures/corpus-kvm)"
MIGSCOPE=$BUILD/migscope scripts/corpus/score.sh --bench tests/fixtures/corpus-kvm \
	>"$BUILD/corpus-kvm-score.txt" || status=1
grep -E '^(score:|BENCH)' "$BUILD/corpus-kvm-score.txt"
echo "# corpus verdict score under TCG (scripts/corpus/score.sh tests/fixtures/corpus)"
MIGSCOPE=$BUILD/migscope scripts/corpus/score.sh --bench >"$BUILD/corpus-score.txt" || status=1
grep -E '^(score:|BENCH)' "$BUILD/corpus-score.txt" | sed 's/^BENCH \([a-z0-9_]*\)/BENCH \1_tcg/'
exit $status
