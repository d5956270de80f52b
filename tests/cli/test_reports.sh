#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# --perfetto and --svg: written live and by replay, byte-identical both ways;
# the SVG is well-formed XML (xmllint); unwritable paths are one-line errors;
# the progress line appears on a terminal only, and never with --quiet.
. "$(dirname "$0")/lib.sh"

expect_exit 0 "synth --perfetto --svg --record" -- "$MIGSCOPE" synth --events 20000 --devices 2 \
	--perfetto "$T/live.json" --svg "$T/live.svg" --record "$T/s.mscap"
expect_grep '^\{"displayTimeUnit":"ms",.*"traceEvents":\[' "$T/live.json" "trace-event JSON header"
expect_grep '"ph":"X".*"cat":"arc"' "$T/live.json" "device arcs are slices"
expect_grep '"ph":"C","pid":1,"tid":0,"name":"synth0 pending bytes"' "$T/live.json" "pending bytes counter"
if xmllint --noout "$T/live.svg" 2>"$T/xml"; then ok "the SVG is well-formed XML"; else
	fail "xmllint rejects the SVG"; head -5 "$T/xml"; fi
expect_grep 'synth0 <tspan' "$T/live.svg" "the SVG has a panel per device"

expect_exit 0 "replay --perfetto --svg" -- "$MIGSCOPE" replay "$T/s.mscap" \
	--perfetto "$T/replay.json" --svg "$T/replay.svg"
cmp -s "$T/live.json" "$T/replay.json" && ok "replayed trace equals the live one" ||
	fail "replayed Perfetto trace differs"
cmp -s "$T/live.svg" "$T/replay.svg" && ok "replayed plot equals the live one" ||
	fail "replayed SVG differs"

# the profile's report outputs replay the same way
expect_exit 0 "profile --perfetto --svg --record" -- "$MIGSCOPE" profile --quiet --json \
	--perfetto "$T/p.json" --svg "$T/p.svg" --record "$T/p.mscap"
cp "$T/out" "$T/p.report"
expect_exit 0 "replay of the profile" -- "$MIGSCOPE" replay "$T/p.mscap" --json \
	--perfetto "$T/p2.json" --svg "$T/p2.svg"
cmp -s "$T/out" "$T/p.report" && ok "profile: replayed JSON equals the live one" ||
	fail "profile: replayed JSON differs"
cmp -s "$T/p.json" "$T/p2.json" && cmp -s "$T/p.svg" "$T/p2.svg" &&
	ok "profile: replayed trace and plot equal the live ones" ||
	fail "profile: replayed trace or plot differs"
if xmllint --noout "$T/p.svg" 2>"$T/xml"; then ok "the profile's SVG is well-formed"; else
	fail "xmllint rejects the profile's SVG"; head -5 "$T/xml"; fi

expect_exit 1 "--svg into a missing directory" -- "$MIGSCOPE" replay "$T/s.mscap" --svg "$T/no/p.svg"
expect_lines 1 "$T/err" "unwritable SVG: one line"
expect_grep 'no/p.svg: failed to create: No such file or directory' "$T/err" "unwritable SVG is named"
expect_exit 1 "--perfetto into a missing directory" -- "$MIGSCOPE" replay "$T/s.mscap" --perfetto "$T/no/t.json"
expect_grep 'no/t.json: failed to create' "$T/err" "unwritable trace is named"
expect_exit 2 "--svg without a file" -- "$MIGSCOPE" synth --svg

# the progress line: drawn and erased on a terminal (script gives one), not on a pipe
esc=$'\033\[K'
script -qc "$MIGSCOPE synth --events 20000" /dev/null >"$T/tty" 2>&1
grep -q "$esc" "$T/tty" && ok "progress line on a terminal" || fail "no progress line on a terminal"
grep -q "synth0" "$T/tty" && ok "progress names the devices" || fail "progress without devices"
script -qc "$MIGSCOPE synth --events 20000 --quiet" /dev/null >"$T/quiet" 2>&1
grep -q "$esc" "$T/quiet" && fail "progress line despite --quiet" || ok "--quiet: no progress line"
"$MIGSCOPE" synth --events 20000 >"$T/pipe" 2>&1
grep -q "$esc" "$T/pipe" && fail "progress line on a pipe" || ok "no progress line on a pipe"

finish
