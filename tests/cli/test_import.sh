#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# migscope import on a real QEMU 7.2 migration (tests/fixtures/qemu-7.2-tcg-converging) and a
# real QEMU 10.0.2 one (tests/fixtures/corpus/q10-converge-8m): the capture replays to QEMU's own
# numbers; the transcript's "in"/"out" spelling reads as "send"/"recv" does; bad lines are
# counted, skipped and named; usage and file errors are one line; replay --until cuts the run.
. "$(dirname "$0")/lib.sh"
F=tests/fixtures/qemu-7.2-tcg-converging
C=tests/fixtures/corpus/q10-converge-8m

expect_exit 0 "import --help" -- "$MIGSCOPE" import --help
expect_grep 'Examples:' "$T/out" "--help has examples"
expect_grep '"in"/"out"' "$T/out" "--help documents both transcript spellings"

# QEMU 7.2: both logs and the transcript
expect_exit 0 "import the 7.2 fixture" -- "$MIGSCOPE" import --qemu-log $F/qemu-src.log \
	--dst-qemu-log $F/qemu-dst.log --qmp-transcript $F/qmp-src.jsonl --record "$T/72.mscap" --json
cp "$T/out" "$T/72-summary.json"
[ "$(jq -r .qemu_version "$T/72-summary.json")" = 7.2.22 ] && ok "summary: QEMU 7.2.22" ||
	fail "summary version $(jq -r .qemu_version "$T/72-summary.json")"
[ "$(jq '[.inputs[] | select(.input == "qmp")][0].bad_lines' "$T/72-summary.json")" = 0 ] &&
	ok "no bad transcript lines" || fail "bad lines in the fixture transcript"
[ "$(jq '[.inputs[] | select(.input == "source")][0].used' "$T/72-summary.json")" -gt 50 ] &&
	ok "source log lines used" || fail "source log: $(jq -c .inputs "$T/72-summary.json")"
[ "$(jq '[.inputs[] | select(.input == "destination")][0].used' "$T/72-summary.json")" -gt 50 ] &&
	ok "destination log lines used" || fail "destination log: $(jq -c .inputs "$T/72-summary.json")"
[ "$(stat -c %a "$T/72.mscap")" = 600 ] && ok "capture mode 0600" || fail "capture mode"
expect_exit 0 "replay the import" -- "$MIGSCOPE" replay "$T/72.mscap" --json
cp "$T/out" "$T/72.json"
# the fixture's README: completed, QMP downtime 2 ms, total 791 ms, 4 dirty syncs; limit 300 ms
jq -e '.session.source == "import" and .migration.status == "completed" and
	.migration.qmp_downtime_ms == 2 and .migration.qmp_total_ms == 791 and
	.migration.downtime_limit_ms == 300' "$T/72.json" >/dev/null &&
	ok "7.2: completed, QMP 2 ms of 791 ms, limit 300 ms from migrate-set-parameters" ||
	fail "7.2 report: $(jq -c '.migration | {status, qmp_downtime_ms, qmp_total_ms, downtime_limit_ms}' "$T/72.json")"
# migscope's downtime from QEMU's events, within 2 ms of QMP's (issue 20)
jq -e '.migration.downtime_ms != null and (.migration.downtime_ms - 2 | fabs) <= 2' "$T/72.json" \
	>/dev/null && ok "7.2: downtime from the logs within 2 ms of QMP" ||
	fail "7.2: downtime $(jq .migration.downtime_ms "$T/72.json") ms, QMP 2 ms"
jq -e '[.devices[] | select(.name == "ram" and .role == "destination")] | length == 1' \
	"$T/72.json" >/dev/null && ok "the destination's sections come from its log" ||
	fail "no destination ram"
expect_exit 0 "replay again" -- "$MIGSCOPE" replay "$T/72.mscap" --json
cmp -s "$T/out" "$T/72.json" && ok "replay is byte-identical" || fail "two replays differ"

# "in"/"out" (either perspective) reads as "send"/"recv"
for map in 's/"dir": "send"/"dir": "in"/; s/"dir": "recv"/"dir": "out"/' \
	's/"dir": "send"/"dir": "out"/; s/"dir": "recv"/"dir": "in"/'; do
	sed "$map" $F/qmp-src.jsonl >"$T/inout.jsonl"
	expect_exit 0 "import with in/out" -- "$MIGSCOPE" import --qemu-log $F/qemu-src.log \
		--dst-qemu-log $F/qemu-dst.log --qmp-transcript "$T/inout.jsonl" --record "$T/io.mscap"
	expect_exit 0 "replay it" -- "$MIGSCOPE" replay "$T/io.mscap" --json
	jq -S 'del(.session.host, .session.started)' "$T/out" >"$T/a.json"
	jq -S 'del(.session.host, .session.started)' "$T/72.json" >"$T/b.json"
	cmp -s "$T/a.json" "$T/b.json" && ok "in/out gives the same report ($map)" ||
		{ fail "in/out changed the report"; diff "$T/a.json" "$T/b.json" | head -5; }
done

# the transcript alone: QMP's ram.remaining stands in for the log's pending bytes, as in watch
expect_exit 0 "import the transcript alone" -- "$MIGSCOPE" import --qmp-transcript $F/qmp-src.jsonl \
	--record "$T/qmp-only.mscap"
expect_exit 0 "replay it" -- "$MIGSCOPE" replay "$T/qmp-only.mscap" --json
jq -e '.migration.status == "completed" and .migration.qmp_downtime_ms == 2 and
	.events.by_type.qemu_pending > 0 and .events.by_type.qemu_section == null' "$T/out" >/dev/null &&
	ok "transcript alone: completed, pending bytes from query-migrate" ||
	fail "transcript alone: $(jq -c '[.migration.status, .events.by_type]' "$T/out")"

# bad lines: counted, skipped, the first one named; the rest still imported
{
	head -n 3 $F/qmp-src.jsonl
	echo 'not json at all'
	echo '{"dir": "send", "t": 1795391031.89, "msg": {"return": {}}}'
	echo '{"dir": "sideways", "t": 1795391031.89, "msg": {"return": {}}}'
	echo '{"dir": "recv", "t": "soon", "msg": {}}'
	echo '{"dir": "recv", "t": 1795391031.89, "msg": [1]} trailing'
	tail -n +4 $F/qmp-src.jsonl
} >"$T/bad.jsonl"
expect_exit 0 "import with bad lines" -- "$MIGSCOPE" import --qemu-log $F/qemu-src.log \
	--qmp-transcript "$T/bad.jsonl" --record "$T/bad.mscap" --json
expect_lines 1 "$T/err" "one line about them"
expect_grep 'bad.jsonl: 5 bad lines skipped \(first: line 4: not a JSON object\)' "$T/err" \
	"the count and the first bad line's number"
[ "$(jq '[.inputs[] | select(.input == "qmp")][0] | [.bad_lines, .first_bad_line] | join(",")' \
	-r "$T/out")" = "5,4" ] && ok "--json: bad_lines 5, first_bad_line 4" || fail "summary: $(cat "$T/out")"
expect_exit 0 "replay it" -- "$MIGSCOPE" replay "$T/bad.mscap" --json
jq -e '.migration.status == "completed" and .migration.qmp_downtime_ms == 2' "$T/out" >/dev/null &&
	ok "the good lines still make the run" || fail "bad lines lost the run"

# QEMU 10.0.2: the 8.2+ events give the downtime; QMP's numbers come through
D=$(jq -r .qmp_downtime_ms $C/outcome.json)
expect_exit 0 "import a 10.0 run" -- "$MIGSCOPE" import --qemu-log $C/src.log --dst-qemu-log \
	$C/dst.log --qmp-transcript $C/qmp.jsonl --record "$T/10.mscap" --json
[ "$(jq -r .qemu_version "$T/out")" = 10.0.2 ] && ok "summary: QEMU 10.0.2" || fail "not 10.0.2"
expect_exit 0 "replay it" -- "$MIGSCOPE" replay "$T/10.mscap" --json
cp "$T/out" "$T/10.json"
jq -e --argjson d "$D" '.migration.status == "completed" and .migration.qmp_downtime_ms == $d and
	(.migration.downtime_ms - $d | fabs) <= 2' "$T/10.json" >/dev/null &&
	ok "10.0: completed, downtime within 2 ms of QMP's $D ms" ||
	fail "10.0: $(jq -c '.migration | {status, downtime_ms, qmp_downtime_ms}' "$T/10.json")"
jq -e '.events.by_type.qemu_downtime > 0' "$T/10.json" >/dev/null &&
	ok "10.0: vmstate_downtime checkpoints imported" || fail "no qemu_downtime records"
# read from QEMU's own marks: the table says so once, not "after X and by X"
expect_exit 0 "replay it as a table" -- "$MIGSCOPE" replay "$T/10.mscap"
expect_grep "downtime read from src-downtime-start to src-downtime-end, where QEMU marks its start" \
	"$T/out" "10.0: the downtime is read where QEMU marks it"

# replay --until: the run as it stood mid-way, still active then
expect_exit 0 "replay --until 300ms" -- "$MIGSCOPE" replay "$T/72.mscap" --until 300ms --json
jq -e '.migration.status == "active" and .migration.qmp_downtime_ms == null' "$T/out" >/dev/null &&
	ok "--until 300ms: active, no downtime yet" ||
	fail "--until: $(jq -c '.migration | {status, qmp_downtime_ms}' "$T/out")"
n_cut=$(jq .events.total "$T/out")
n_all=$(jq .events.total "$T/72.json")
[ "$n_cut" -lt "$n_all" ] && ok "--until keeps fewer records ($n_cut of $n_all)" ||
	fail "--until kept $n_cut of $n_all"
expect_exit 2 "--until nonsense" -- "$MIGSCOPE" replay "$T/72.mscap" --until soon
expect_grep "until: 'soon' is not a duration" "$T/err" "--until error names the value"

# usage and file errors: one line, exit 2 or 1
expect_exit 2 "no --record" -- "$MIGSCOPE" import --qemu-log $F/qemu-src.log
expect_grep 'record OUT.mscap is required' "$T/err" "says --record is required"
expect_exit 2 "no input" -- "$MIGSCOPE" import --record "$T/x.mscap"
expect_grep 'qemu-log or --qmp-transcript is required' "$T/err" "says an input is required"
expect_exit 2 "unknown option" -- "$MIGSCOPE" import --frobnicate
expect_exit 1 "missing log" -- "$MIGSCOPE" import --qemu-log "$T/none.log" --record "$T/x.mscap"
expect_lines 1 "$T/err" "missing log: one line"
expect_grep 'none.log: failed to open: No such file' "$T/err" "missing log: names the file"
printf 'hello\nworld\n' >"$T/empty.log"
expect_exit 1 "nothing to import" -- "$MIGSCOPE" import --qemu-log "$T/empty.log" --record "$T/x.mscap"
expect_grep 'nothing to import' "$T/err" "says there is nothing to import"

finish
