#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# record -> replay: the same report live and replayed, twice, byte for byte;
# --check passes on the same report and fails with a readable diff on a changed
# one, writing --perfetto/--svg either way; captures are mode 0600; damaged captures are one-line errors;
# a capture cut short replays its prefix with exit 3 (QEMU-free: synth); capture check/repair; rotation.
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

# a pipe ("-" is standard input): read a chunk at a time, the same report as the file
cat "$T/s.mscap" | "$MIGSCOPE" replay - --json >"$T/pipe.json" 2>"$T/err" &&
	cmp -s "$T/pipe.json" "$T/r1.json" && ok "replay - of a pipe equals replay of the file" ||
	{ fail "replay - of a pipe"; diff "$T/pipe.json" "$T/r1.json" | head; cat "$T/err"; }
"$MIGSCOPE" synth --events 5000 --devices 3 --record /dev/fd/3 3>&1 >/dev/null --quiet |
	"$MIGSCOPE" bitmap - >"$T/pipe.txt" 2>"$T/err" && grep -q '^synth2 ' "$T/pipe.txt" &&
	ok "synth --record /dev/fd/3 | bitmap -" || { fail "synth | bitmap -"; cat "$T/err"; }
head -c 20000 "$T/s.mscap" | "$MIGSCOPE" replay - >/dev/null 2>"$T/err"
[ $? = 3 ] && grep -q 'stdin: offset [0-9]*: .*replayed the valid prefix' "$T/err" &&
	ok "a pipe cut short replays its prefix, exit 3" || { fail "a pipe cut short"; cat "$T/err"; }

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
expect_exit 3 "truncated capture: its valid prefix, exit 3" -- "$MIGSCOPE" replay "$T/trunc.mscap" --json
expect_lines 1 "$T/err" "truncated: one warning line"
expect_grep 'warning: .*trunc.mscap: offset [0-9]+: .*replayed the valid prefix: [0-9]+ records, [0-9.]+ s of stream time' \
	"$T/err" "truncated: file, offset, records and time covered"
grep -q '"complete": false' "$T/out" && ok "the salvaged report says the session is not complete" ||
	fail "salvaged report claims a complete session"

expect_exit 3 "capture check of the cut file" -- "$MIGSCOPE" capture check "$T/trunc.mscap" --json
grep -q '"verdict": "cut short"' "$T/out" && ok "check: cut short" || fail "check verdict"
expect_exit 0 "capture check of the complete file" -- "$MIGSCOPE" capture check "$T/s.mscap"
expect_grep 'complete' "$T/out" "check: complete"
expect_exit 0 "capture repair" -- "$MIGSCOPE" capture repair "$T/trunc.mscap" -o "$T/fixed.mscap"
expect_exit 0 "the repaired capture replays as complete" -- "$MIGSCOPE" replay "$T/fixed.mscap" --json
[ "$(stat -c %a "$T/fixed.mscap")" = 600 ] && ok "repaired capture mode 0600" || fail "repaired mode"
expect_exit 2 "repair without -o" -- "$MIGSCOPE" capture repair "$T/trunc.mscap"
expect_exit 2 "--record-sync 0" -- "$MIGSCOPE" synth --events 10 --record "$T/x.mscap" --record-sync 0
expect_grep 'record-sync' "$T/err" "bad --record-sync is named"
expect_exit 2 "--record-max-size without --record" -- "$MIGSCOPE" synth --events 10 --record-max-size 4M

# rotation: numbered parts under the size, replayed as one
expect_exit 0 "synth --record-max-size 1M" -- "$MIGSCOPE" synth --events 60000 --devices 3 --json \
	--record "$T/rot.mscap" --record-max-size 1M
cp "$T/out" "$T/rot-live.json"
[ -f "$T/rot.mscap.1" ] && [ -f "$T/rot.mscap.2" ] && ok "rotated into parts" || fail "no parts"
big=$(stat -c %s "$T"/rot.mscap* | sort -n | tail -1)
[ "$big" -le 1048576 ] && ok "every part within 1M" || fail "a part of $big bytes"
expect_exit 0 "replay of a rotated capture" -- "$MIGSCOPE" replay "$T/rot.mscap" --json
cmp -s "$T/out" "$T/rot-live.json" && ok "rotated parts replay as the live report" ||
	{ fail "rotated replay differs"; diff "$T/rot-live.json" "$T/out" | head; }

cp "$T/s.mscap" "$T/flip.mscap"
printf '\xff' | dd of="$T/flip.mscap" bs=1 seek=$((size / 3)) conv=notrunc status=none
expect_exit 1 "flipped byte" -- "$MIGSCOPE" replay "$T/flip.mscap"
expect_grep 'offset [0-9]+: (chunk checksum mismatch|record)' "$T/err" "flipped byte: checksum error"
expect_exit 1 "capture check of the damaged file" -- "$MIGSCOPE" capture check "$T/flip.mscap"
expect_grep 'damaged' "$T/out" "check: damaged"
expect_exit 1 "repair refuses damage inside the prefix" -- "$MIGSCOPE" capture repair "$T/flip.mscap" -o "$T/f2.mscap"
expect_exit 0 "repair --force keeps what is before it" -- "$MIGSCOPE" capture repair "$T/flip.mscap" -o "$T/f2.mscap" --force

finish
