# SPDX-License-Identifier: GPL-2.0-only
# Shared by the command-line tests: $MIGSCOPE is the CLI under test (the
# sanitized build when run by scripts/run-tests.sh), T a scratch directory.
set -uo pipefail
MIGSCOPE=${MIGSCOPE:-build/san/migscope}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
failures=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

# expect_exit CODE DESCRIPTION -- command...: run, keep stdout/stderr in $T/out, $T/err
expect_exit() {
	local want=$1 what=$2; shift 3
	"$@" >"$T/out" 2>"$T/err"
	local got=$?
	if [ "$got" -ne "$want" ]; then
		fail "$what: exit $got, want $want"; sed 's/^/    err: /' "$T/err" | head -5
	else
		ok "$what"
	fi
}

# expect_grep PATTERN FILE DESCRIPTION
expect_grep() {
	if grep -qE -- "$1" "$2"; then ok "$3"; else fail "$3: no /$1/ in $2:"; head -5 "$2"; fi
}

# expect_lines N FILE DESCRIPTION: exactly N lines
expect_lines() {
	local n; n=$(wc -l <"$2")
	if [ "$n" -eq "$1" ]; then ok "$3"; else fail "$3: $n lines, want $1"; head -5 "$2"; fi
}

finish() {
	[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
	exit 0
}
