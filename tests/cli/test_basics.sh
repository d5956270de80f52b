#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The CLI contract: help, version, usage errors (exit 2, one line), runtime
# errors (exit 1, one line naming what and where).
. "$(dirname "$0")/lib.sh"

expect_exit 0 "--version prints the version" -- "$MIGSCOPE" --version
expect_grep '^migscope [0-9]+\.[0-9]+' "$T/out" "version line"

expect_exit 0 "--help lists the commands" -- "$MIGSCOPE" --help
expect_grep 'replay' "$T/out" "help names replay"

expect_exit 2 "no command is a usage error" -- "$MIGSCOPE"
expect_exit 2 "unknown command is a usage error" -- "$MIGSCOPE" frobnicate
expect_lines 1 "$T/err" "unknown command: one line"
expect_grep "unknown command 'frobnicate'" "$T/err" "unknown command is named"
expect_exit 2 "unknown global option is a usage error" -- "$MIGSCOPE" --frob

# every command: --help with usage and examples
for cmd in $("$MIGSCOPE" --help | awk '/^Commands:/{on=1;next} /^$/{on=0} on{print $1}'); do
	expect_exit 0 "$cmd --help" -- "$MIGSCOPE" "$cmd" --help
	expect_grep '^Usage: migscope '"$cmd" "$T/out" "$cmd --help has usage"
	expect_grep '^Examples:' "$T/out" "$cmd --help has examples"
	expect_exit 2 "$cmd with a bad option" -- "$MIGSCOPE" "$cmd" --no-such-option
	expect_lines 1 "$T/err" "$cmd bad option: one line"
done

expect_exit 2 "replay without a file" -- "$MIGSCOPE" replay
expect_exit 2 "synth --events not a number" -- "$MIGSCOPE" synth --events 12x
expect_grep "events: '12x'" "$T/err" "the bad value is named"

expect_exit 1 "replay of a missing file" -- "$MIGSCOPE" replay "$T/none.mscap"
expect_lines 1 "$T/err" "missing file: one line"
expect_grep "none.mscap: failed to open capture" "$T/err" "missing file is named"

echo "this is not a capture" >"$T/text.mscap"
expect_exit 1 "replay of a text file" -- "$MIGSCOPE" replay "$T/text.mscap"
expect_grep 'text.mscap: offset 0: not a migscope capture' "$T/err" "not a capture: file and offset"

finish
