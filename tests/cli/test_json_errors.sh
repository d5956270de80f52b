#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# -V and errors under --json: one JSON error object on stdout from one place
# (tools/cli.c, cli_finish()), the one-line error still on stderr, the exit
# status unchanged.
. "$(dirname "$0")/lib.sh"

# expect_error_json CODE KIND COMMAND MESSAGE-PATTERN DESCRIPTION
expect_error_json() {
	local code=$1 kind=$2 cmd=$3 pat=$4 what=$5
	if ! jq -e --argjson code "$code" --arg kind "$kind" --arg cmd "$cmd" --arg pat "$pat" '
		(keys == ["error"]) and .error.exit == $code and .error.kind == $kind and
		(.error.command // "") == $cmd and (.error.message | test($pat))' \
		"$T/out" >/dev/null; then
		fail "$what: not the error object wanted:"; head -20 "$T/out"
	else
		ok "$what"
	fi
	[ "$(jq -s length "$T/out")" = 1 ] && ok "$what: one JSON document" ||
		fail "$what: stdout is not one JSON document"
	expect_lines 1 "$T/err" "$what: one line on stderr too"
	expect_grep "$pat" "$T/err" "$what: stderr says the same"
}

expect_exit 0 "-V" -- "$MIGSCOPE" -V
expect_grep '^migscope [0-9]+\.[0-9]+\.[0-9]+$' "$T/out" "-V: the version"
expect_grep '^libbpf v[0-9]+\.[0-9]+ \(built with v[0-9]+\.[0-9]+\)$' "$T/out" "-V: libbpf's version"
# the tests run the sanitized build, so this feature must say so
expect_grep '^features: .*\+sanitizers' "$T/out" "-V: the compiled-in features, sanitizers on"
expect_exit 0 "-V --json" -- "$MIGSCOPE" -V --json
if jq -e '(.version | test("^[0-9]+\\.[0-9]+")) and (.libbpf_major >= 1) and
	(.libbpf_minor | type == "number") and .features.sanitizers == true and
	(.features | to_entries | all(.value | type == "boolean"))' "$T/out" >/dev/null; then
	ok "-V --json: version, libbpf, features"
else
	fail "-V --json:"; cat "$T/out"
fi
# the text and the JSON list the same features
text=$(sed -n 's/^features: //p' <("$MIGSCOPE" -V) | tr ' ' '\n' | sed 's/^[+-]//' | sort)
json=$(jq -r '.features | keys[]' "$T/out" | sort)
[ "$text" = "$json" ] && ok "-V: the same features in text and JSON" ||
	fail "-V: features differ: text '$text', JSON '$json'"

# usage errors
expect_exit 2 "usage error: bad value" -- "$MIGSCOPE" synth --events 12x --json
expect_error_json 2 usage synth "events: '12x' is not a number" "usage error: bad value"
jq -e '.error.help == "migscope synth --help"' "$T/out" >/dev/null &&
	ok "usage error: where the help is" || fail "usage error: no help key"
expect_exit 2 "usage error: unknown command" -- "$MIGSCOPE" --json frobnicate
expect_error_json 2 usage "" "unknown command 'frobnicate'" "usage error: unknown command"
expect_exit 2 "usage error: missing argument" -- "$MIGSCOPE" replay --json
expect_error_json 2 usage replay "missing capture FILE" "usage error: missing argument"

# runtime error: a file that is not there
expect_exit 1 "runtime error: missing file" -- "$MIGSCOPE" replay "$T/none.mscap" --json
expect_error_json 1 runtime replay "none.mscap: failed to open capture: No such file" \
	"runtime error: missing file"

# capture errors: not a capture; a capture damaged inside
echo "this is not a capture" >"$T/text.mscap"
expect_exit 1 "capture error: not a capture" -- "$MIGSCOPE" replay "$T/text.mscap" --json
expect_error_json 1 runtime replay "text.mscap: offset 0: not a migscope capture" \
	"capture error: not a capture"
"$MIGSCOPE" synth --events 20000 --quiet --record "$T/s.mscap" >/dev/null 2>&1 ||
	fail "synth --record failed"
size=$(stat -c %s "$T/s.mscap")
# flip a byte in the middle of the first chunk: damage, not a cut
printf '\xff' | dd of="$T/s.mscap" bs=1 seek=$((size / 2)) conv=notrunc status=none
expect_exit 1 "capture error: damaged capture" -- "$MIGSCOPE" replay "$T/s.mscap" --json
expect_error_json 1 runtime replay "s.mscap: offset [0-9]+" "capture error: damaged capture"

# without --json: the stderr line only, stdout empty
expect_exit 1 "no --json: no object" -- "$MIGSCOPE" replay "$T/none.mscap"
[ -s "$T/out" ] && fail "no --json: stdout not empty" || ok "no --json: stdout empty"

# a JSON result that reports the failure itself is the one document (capture check)
expect_exit 1 "capture check --json of damage" -- "$MIGSCOPE" capture check "$T/s.mscap" --json
jq -e '.verdict == "damaged" and (has("error") | not)' "$T/out" >/dev/null &&
	ok "capture check --json: its own result, no second object" ||
	{ fail "capture check --json:"; head "$T/out"; }
finish
