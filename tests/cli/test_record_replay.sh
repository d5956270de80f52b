#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# record -> replay: the same report live and replayed, twice, byte for byte;
# --check passes on the same report and fails with a readable diff on a changed
# one, writing --perfetto/--svg either way; captures are mode 0600; damaged captures are one-line errors.
. "$(dirname "$0")/lib.sh"

expect_exit 0 "synth --record --json" -- "$MIGSCOPE" synth --events 5000 --devices 3 --json --record "$T/s.mscap"
cp "$T/out" "$T/live.json"
[ "$(stat -c %a "$T/s.mscap")" = 600 ] && ok "capture mode 0600" || fail "capture mode $(stat -c %a "$T/s.mscap")"

expect_exit 0 "replay --json" -- "$MIGSCOPE" replay "$T/s.mscap" --json
cp "$T/out" "$T/r1.json"
expect_exit 0 "replay --json again" -- "$MIGSCOPE" replay "$T/s.mscap" --json
cmp -s "$T/out" "$T/r1.json" && ok "two replays are byte-identical" || fail "two replays differ"
cmp -s "$T/live.json" "$T/r1.json" && ok "replay equals the live report" ||
	{ fail "replay differs from live"; diff "$T/live.json" "$T/r1.json" | head; }

expect_exit 0 "--check against the same report" -- "$MIGSCOPE" replay "$T/s.mscap" --check "$T/r1.json"
expect_grep 'matches' "$T/err" "--check says it matches"

sed 's/"dma_write": [0-9]*/"dma_write": 1/' "$T/r1.json" >"$T/changed.json"
expect_exit 1 "--check catches a changed report" -- "$MIGSCOPE" replay "$T/s.mscap" --check "$T/changed.json"
expect_grep 'events.by_type.dma_write: expected 1, got [0-9]+' "$T/err" "the diff names the path and both values"

# the timeline and the plot are written with --check too, matching or not
expect_exit 0 "--check --perfetto --svg" -- "$MIGSCOPE" replay "$T/s.mscap" --check "$T/r1.json" \
	--perfetto "$T/check.trace.json" --svg "$T/check.svg"
expect_grep 'traceEvents' "$T/check.trace.json" "--check wrote the Perfetto file"
expect_grep '<svg' "$T/check.svg" "--check wrote the SVG file"
rm -f "$T/check.trace.json" "$T/check.svg"
expect_exit 1 "--check --perfetto --svg, reports differ" -- "$MIGSCOPE" replay "$T/s.mscap" \
	--check "$T/changed.json" --perfetto "$T/check.trace.json" --svg "$T/check.svg"
[ -s "$T/check.trace.json" ] && [ -s "$T/check.svg" ] && ok "files written when the check fails" ||
	fail "no files when the check fails"

echo '{"not": "a report"' >"$T/broken.json"
expect_exit 1 "--check with broken JSON" -- "$MIGSCOPE" replay "$T/s.mscap" --check "$T/broken.json"
expect_grep 'broken.json: not a readable JSON report' "$T/err" "broken expected file is named"

# a re-recorded replay is itself a faithful capture
expect_exit 0 "replay --record" -- "$MIGSCOPE" replay "$T/s.mscap" --record "$T/again.mscap" --json
expect_exit 0 "replay of the re-recording" -- "$MIGSCOPE" replay "$T/again.mscap" --json
cmp -s "$T/out" "$T/r1.json" && ok "re-recorded capture replays to the same report" || fail "re-recording changed the report"

size=$(stat -c %s "$T/s.mscap")
head -c $((size / 2)) "$T/s.mscap" >"$T/trunc.mscap"
expect_exit 1 "truncated capture" -- "$MIGSCOPE" replay "$T/trunc.mscap" --json
expect_lines 1 "$T/err" "truncated: one line"
expect_grep 'trunc.mscap: offset [0-9]+: ' "$T/err" "truncated: file and offset"
[ -s "$T/out" ] && fail "a failed replay printed a report" || ok "no report from a failed replay"

cp "$T/s.mscap" "$T/flip.mscap"
printf '\xff' | dd of="$T/flip.mscap" bs=1 seek=$((size / 3)) conv=notrunc status=none
expect_exit 1 "flipped byte" -- "$MIGSCOPE" replay "$T/flip.mscap"
expect_grep 'offset [0-9]+: (chunk checksum mismatch|record)' "$T/err" "flipped byte: checksum error"

finish
