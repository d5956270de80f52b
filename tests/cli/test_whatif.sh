#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# replay's what-if on a recorded profile (reference devices, virtual clock):
# the text and JSON outputs, the recorded setting predicting itself, a setting
# the recording cannot answer, and the errors.  Accuracy against live runs is
# tests/unit/test_whatif.c.
. "$(dirname "$0")/lib.sh"

DEVS=(--device ref:state=32M,dirty=8M/s,ws=128M --device ref:state=8M,dirty=1M/s,ws=32M,reinit=1)
expect_exit 0 "profile --record" -- "$MIGSCOPE" profile --quiet --json --bandwidth 16M/s \
	--downtime-limit 300ms "${DEVS[@]}" --record "$T/p.mscap"
cp "$T/out" "$T/live.json"

expect_exit 0 "what-if at the recorded setting" -- "$MIGSCOPE" replay "$T/p.mscap" --downtime-limit 300ms --json
python3 - "$T/out" "$T/live.json" <<'PY' && ok "the recorded setting predicts the recording" || fail "recorded setting mispredicted"
import json, sys
w, l = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert w["answerable"] is True
assert abs(w["predicted"]["downtime_ms"] - l["migration"]["downtime_ms"]) < 0.01
assert abs(w["predicted"]["decided_at_ms"] - w["recorded"]["decided_at_ms"]) < 0.01
assert len(w["devices"]) == 2 and all("predicted" in d for d in w["devices"])
PY

expect_exit 0 "what-if text" -- "$MIGSCOPE" replay "$T/p.mscap" --downtime-limit 1s --bandwidth 24M/s
expect_grep '^what if: 24.00 MiB/s, downtime limit 1000 ms' "$T/out" "the settings are shown"
expect_grep '^VM downtime +[0-9.]+ ms +[0-9.]+ ms' "$T/out" "recorded and predicted VM downtime"
expect_grep 'assumes: pre-copy replayed at the new bandwidth' "$T/out" "another bandwidth says what it assumes"

expect_exit 0 "a setting past the recorded rounds" -- "$MIGSCOPE" replay "$T/p.mscap" --downtime-limit 20ms --json
grep -q '"answerable": false' "$T/out" && grep -q 'cannot answer' "$T/out" &&
	ok "it says it cannot answer" || fail "no 'cannot answer'"

expect_exit 2 "bad --reinit" -- "$MIGSCOPE" replay "$T/p.mscap" --reinit sometimes
expect_exit 2 "what-if with --check" -- "$MIGSCOPE" replay "$T/p.mscap" --reinit off --check "$T/live.json"
expect_exit 0 "synth --record" -- "$MIGSCOPE" synth --events 100 --record "$T/s.mscap" --quiet
expect_exit 1 "what-if of a capture without a decision" -- "$MIGSCOPE" replay "$T/s.mscap" --downtime-limit 1s
expect_grep 'what-if: the capture has no switchover decision' "$T/err" "the reason is one line"
finish
