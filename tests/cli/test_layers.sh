#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The layering of docs/architecture.md ("## Layers") holds: scripts/check-layers.py
# finds no upward #include and no upward call in this tree and its built objects,
# and it does find each kind of upward edge in a small tree made to have them.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${MIGSCOPE_BUILD:-build}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
CHECK=$ROOT/scripts/check-layers.py
CC=${CC:-gcc}

# this tree: the objects of src/ are built with the CLI (make test builds first)
expect_exit 0 "this tree: every edge goes down" -- python3 "$CHECK" --root "$ROOT" \
	--objects "$BUILD_DIR/obj"
expect_grep '^check-layers: every edge goes down: abi < util < stream < sources < devices < consumers < report < session < tools$' \
	"$T/out" "the order the table gives"
[ -s "$T/err" ] && { fail "stderr not empty"; head -5 "$T/err"; } || ok "no complaints"

# a tree with one upward include, one upward call and a header in no layer
R=$T/tree
mkdir -p "$R/docs" "$R/include/migscope" "$R/src/util" "$R/src/report" "$T/obj/src/util" \
	"$T/obj/src/report"
cp "$ROOT/docs/architecture.md" "$R/docs/"
printf 'int ms_report__json(void);\n' >"$R/include/migscope/report.h"
printf 'int ms_parse_u64(void);\n' >"$R/include/migscope/parse.h"
printf '/* owned by nobody */\n' >"$R/include/migscope/stray.h"
cat >"$R/src/util/up.c" <<'EOF'
#include <migscope/parse.h>
#include <migscope/report.h>
int ms_parse_u64(void) { return ms_report__json(); }
EOF
cat >"$R/src/report/r.c" <<'EOF'
#include <migscope/parse.h>
#include <migscope/report.h>
int ms_report__json(void) { return ms_parse_u64() + 1; }
EOF
for f in util/up report/r; do
	$CC -c -I"$R/include" -o "$T/obj/src/$f.o" "$R/src/$f.c" || fail "compile $f"
done
expect_exit 1 "a tree with upward edges fails" -- python3 "$CHECK" --root "$R" --objects "$T/obj"
expect_grep '^src/util/up\.c:2: includes migscope/report\.h \(report\): util -> report is upward$' \
	"$T/out" "the upward include, with file, line and layers"
expect_grep '^src/util/up\.c: calls ms_report__json \(src/report/r\.c\): util -> report is upward$' \
	"$T/out" "the upward call, with the function and where it is defined"
expect_grep '^include/migscope/stray\.h: not in the layer table' "$T/out" "a header in no layer"
expect_lines 3 "$T/out" "nothing else: the downward edges pass"

# without objects the calls cannot be checked, so the check cannot pass
expect_exit 1 "no objects" -- python3 "$CHECK" --root "$ROOT" --objects "$T/none"
expect_grep 'no objects to check the calls in \(build first\)' "$T/out" "says to build first"

# a table that is not there is a usage error, not a pass
printf '# no table here\n' >"$T/empty.md"
expect_exit 2 "no table" -- python3 "$CHECK" --root "$ROOT" --table "$T/empty.md" \
	--objects "$BUILD_DIR/obj"
expect_grep "no '## Layers' table" "$T/err" "names the missing table"
finish
