#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Print the QEMU options that make QEMU write the trace log `migscope watch
# --qemu-log FILE` reads: the log file, wall-clock stamps, and one -trace per
# event pattern migscope parses.  The patterns are read from the table in
# src/sources/qemu_trace.c (ms_qemu_trace_enable), so they cannot drift.
#
#   scripts/qemu-trace-args.sh /var/log/vm1-trace.log
#   qemu-system-x86_64 ... $(scripts/qemu-trace-args.sh --unquoted /tmp/t.log)
set -euo pipefail
set -f # the patterns are globs for QEMU, not for this shell
quote="'"
if [ "${1:-}" = "--unquoted" ]; then
	quote=""
	shift
fi
if [ $# -ne 1 ] || [ "${1:0:1}" = "-" ]; then
	echo "usage: $0 [--unquoted] LOGFILE" >&2
	exit 2
fi
src="$(dirname "$0")/../src/sources/qemu_trace.c"
patterns=$(sed -n '/^const char \*const ms_qemu_trace_enable\[\] = {/,/^};/p' "$src" |
	grep -o '"[^"]*"' | tr -d '"')
[ -n "$patterns" ] || { echo "$0: no trace patterns found in $src" >&2; exit 1; }
printf -- '-D %s -msg timestamp=on' "$1"
for p in $patterns; do
	printf -- ' -trace %senable=%s%s' "$quote" "$p" "$quote"
done
printf '\n'
