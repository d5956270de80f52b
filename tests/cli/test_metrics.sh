#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# --events-json and --metrics on the command line: the event lines of a
# committed capture of a real QEMU 7.2 run (limits changed through a second
# monitor, cancelled), the metrics file against the JSON report, promtool on
# it, and the one-line errors (--label, --vm, --listen, a port in use).  A
# real Prometheus scraping a live watch is tests/unit/test_qemu_migration.c.
. "$(dirname "$0")/lib.sh"

CAP=tests/fuzz/corpus/capture/watch-limits-qemu-7.2.mscap

expect_exit 0 "replay --events-json -" -- "$MIGSCOPE" replay "$CAP" --events-json -
cp "$T/out" "$T/ev1"
jq -e -s 'all(.[]; .v == 1)' "$T/ev1" >/dev/null && ok "every line has v 1" || fail "a line without v 1"
[ "$(jq -r -s 'map(.kind) | unique | join(",")' "$T/ev1")" = "end,limits,status,verdict" ] &&
	ok "limits, status, verdict and end lines" || fail "kinds: $(jq -r -s 'map(.kind) | unique | join(",")' "$T/ev1")"
[ "$(jq -r 'select(.kind == "limits") | "\(.downtime_limit_ms)/\(.bandwidth_bps)"' "$T/ev1" | paste -sd' ')" = \
	"300/67108864 20/4194304 50/8388608" ] &&
	ok "the three limits in order" || fail "limits: $(jq -c 'select(.kind == "limits")' "$T/ev1")"
[ "$(jq -r 'select(.kind == "status") | .status' "$T/ev1" | paste -sd' ')" = "setup active cancelling cancelled" ] &&
	ok "each status change once" || fail "statuses: $(jq -r 'select(.kind == "status") | .status' "$T/ev1" | paste -sd' ')"
[ "$(jq -r 'select(.kind == "verdict" and .device == "ram") | "\(.was)->\(.verdict)"' "$T/ev1" | paste -sd' ')" = \
	"null->unknown unknown->stalled" ] && ok "ram: unknown, then stalled" ||
	fail "ram's verdicts: $(jq -c 'select(.kind == "verdict")' "$T/ev1")"
# the last verdict line of the VM is the report's verdict
expect_exit 0 "replay --json" -- "$MIGSCOPE" replay "$CAP" --json
[ "$(jq -r 'select(.kind == "verdict" and .device == null) | .verdict' "$T/ev1" | tail -1)" = \
	"$(jq -r .migration.convergence.verdict "$T/out")" ] && ok "the VM's last verdict is the report's" ||
	fail "the VM's last verdict line differs from the report"
[ "$(tail -1 "$T/ev1" | jq -r '.kind')" = end ] && ok "the end line last" || fail "no end line last"
expect_exit 0 "replay --events-json - again" -- "$MIGSCOPE" replay "$CAP" --events-json -
cmp -s "$T/out" "$T/ev1" && ok "the same lines twice" || fail "the lines differ between replays"
expect_exit 0 "--events-json FILE beside --json" -- "$MIGSCOPE" replay "$CAP" --events-json "$T/ev2" --json
cmp -s "$T/ev2" "$T/ev1" && ok "a file gets the same lines" || fail "the file's lines differ"
jq -e .schema_version "$T/out" >/dev/null && ok "the report still on stdout" || fail "no report"
expect_exit 2 "--events-json - with --json" -- "$MIGSCOPE" replay "$CAP" --events-json - --json
expect_exit 1 "--events-json onto a full disk" -- "$MIGSCOPE" replay "$CAP" --events-json /dev/full
expect_grep '^migscope: /dev/full: failed to write: No space left on device$' "$T/err" "one line says so"
expect_exit 1 "--events-json into no directory" -- "$MIGSCOPE" replay "$CAP" --events-json "$T/no/ev"
expect_grep "$T/no/ev: failed to create" "$T/err" "the error names the file"

# --metrics: the text format for *.prom, OpenMetrics otherwise; values are the report's
expect_exit 0 "replay --metrics x.prom" -- "$MIGSCOPE" replay "$CAP" --json --metrics "$T/m.prom" \
	--vm vm1 --label namespace=prod
cp "$T/out" "$T/report.json"
if command -v promtool >/dev/null; then
	promtool check metrics <"$T/m.prom" >"$T/lint" 2>&1 && ok "promtool check metrics passes" ||
		{ fail "promtool check metrics"; head -5 "$T/lint"; }
else
	echo "skip: promtool is not installed (scripts/setup.sh installs prometheus)"
fi
got=$(awk '/^migscope_device_pending_bytes\{device="ram",driver="qemu-section",kind="precopy_initial",vm="vm1",namespace="prod"\}/ {print $2}' "$T/m.prom")
want=$(jq -r '.devices[] | select(.name == "ram") | .convergence.initial_bytes' "$T/report.json")
[ -n "$got" ] && [ "$got" = "$want" ] && ok "ram's pending bytes are the report's ($got)" || fail "pending $got, report $want"
got=$(awk '/^migscope_migration_downtime_limit_seconds/ {print $2}' "$T/m.prom")
[ "$got" = 0.05 ] && [ "$(jq -r .migration.downtime_limit_ms "$T/report.json")" = 50 ] &&
	ok "the limit in force, in seconds" || fail "limit $got"
[ "$(grep -c '^migscope_migration_convergence{migscope_migration_convergence="stalled",vm="vm1",namespace="prod"} 1$' "$T/m.prom")" = 1 ] &&
	ok "the VM's StateSet is stalled" || fail "no stalled state set"
expect_exit 0 "profile --metrics x.om" -- "$MIGSCOPE" profile --quiet --metrics "$T/p.om"
[ "$(tail -1 "$T/p.om")" = "# EOF" ] && grep -q '^# TYPE migscope_build info$' "$T/p.om" &&
	ok "OpenMetrics: info type, # EOF" || fail "not OpenMetrics"
ls -a "$T" | grep -q 'tmp' && fail "a temporary file was left" || ok "no temporary file left"

expect_exit 2 "--label with a reserved name" -- "$MIGSCOPE" replay "$CAP" --metrics "$T/x.prom" --label __name__=x
expect_grep 'names starting with __ are reserved' "$T/err" "says why"
expect_exit 2 "--label clashing with ours" -- "$MIGSCOPE" replay "$CAP" --metrics "$T/x.prom" --label device=x
expect_exit 2 "--label that is not K=V" -- "$MIGSCOPE" replay "$CAP" --metrics "$T/x.prom" --label nothing
expect_exit 2 "--vm without --metrics" -- "$MIGSCOPE" replay "$CAP" --vm vm1
expect_exit 1 "--metrics into no directory" -- "$MIGSCOPE" replay "$CAP" --metrics "$T/no/m.prom"
expect_grep "$T/no/m.prom: failed to create" "$T/err" "the error names the file"

expect_exit 2 "watch --listen without a port" -- "$MIGSCOPE" watch --qmp "$T/none.qmp" --listen 127.0.0.1
expect_grep "^migscope watch: --listen: '127.0.0.1' is not ADDR:PORT" "$T/err" "one line says what"
expect_exit 2 "watch --listen with a host name" -- "$MIGSCOPE" watch --qmp "$T/none.qmp" --listen example.com:80
# a port someone holds: refused before QMP is tried
python3 -c 'import socket,sys,time
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(1); print(s.getsockname()[1], flush=True); time.sleep(30)' >"$T/port" &
holder=$!
for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
expect_exit 1 "watch --listen on a port in use" -- "$MIGSCOPE" watch --qmp "$T/none.qmp" --listen "127.0.0.1:$(cat "$T/port")"
expect_grep "failed to listen on 127.0.0.1:[0-9]+: Address already in use" "$T/err" "one line says so"
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
finish
