#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# migscope bitmap: text, JSON, device filter, page-size conversion, ranges, errors.
set -euo pipefail
M=${MIGSCOPE:-build/san/migscope}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$M" synth --events 20000 --devices 2 --seed 3 --record "$tmp/s.mscap" --quiet >/dev/null

out=$("$M" bitmap "$tmp/s.mscap")
grep -q '^DIRTY ' <<<"$out" || fail "no DIRTY header: $out"
grep -q '^synth0 ' <<<"$out" || fail "no synth0 line"
grep -q '^synth1 ' <<<"$out" || fail "no synth1 line"
grep -q 'source dma_unmap' <<<"$out" || fail "no per-source line"
[ "$(grep -c '^DIRTY ' <<<"$out")" = 1 ] || fail "header printed more than once"

# one device, counted at 2 MiB, with its ranges
out=$("$M" bitmap "$tmp/s.mscap" --device synth1 --page-size 2M --ranges)
grep -q '^synth0 ' <<<"$out" && fail "--device synth1 printed synth0"
grep -q 'at page size 2.00 MiB: [0-9]* pages' <<<"$out" || fail "no converted count: $out"
grep -qE '^    0x[0-9a-f]{16}-0x[0-9a-f]{16} +[0-9]+ pages$' <<<"$out" || fail "no ranges: $out"

# JSON: the same numbers as the text, and converted pages are fewer at 2 MiB
json=$("$M" bitmap "$tmp/s.mscap" --json -p 2M -r -d synth0)
python3 - "$json" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
d = r["devices"]
assert len(d) == 1 and d[0]["name"] == "synth0", d
dirty = d[0]["dirty"]
for k in ("pages", "bytes", "page_size", "sources", "out_of_range", "widened", "discrepancies"):
    assert k in dirty, k
assert dirty["bytes"] == dirty["pages"] * dirty["page_size"]
assert 0 < dirty["converted"]["pages"] <= dirty["pages"]
# the ranges at 2 MiB add up to the converted count
assert sum(x["length"] for x in d[0]["ranges"]) == dirty["converted"]["pages"] * 2 * 1024 * 1024
PY

# errors: one line, the right exit status
set +e
"$M" bitmap "$tmp/s.mscap" --page-size 3K 2>"$tmp/err"; rc=$?
[ $rc = 2 ] || fail "bad page size exit $rc"
grep -q "not a power of two" "$tmp/err" || fail "bad page size message: $(cat "$tmp/err")"
"$M" bitmap "$tmp/s.mscap" --device nosuch 2>"$tmp/err"; rc=$?
[ $rc = 1 ] || fail "unknown device exit $rc"
grep -q "no device named 'nosuch'" "$tmp/err" || fail "unknown device message"
"$M" bitmap "$tmp/missing.mscap" 2>"$tmp/err"; rc=$?
[ $rc = 1 ] || fail "missing file exit $rc"
[ "$(wc -l <"$tmp/err")" = 1 ] || fail "missing file: more than one line"
"$M" bitmap 2>"$tmp/err"; rc=$?
[ $rc = 2 ] || fail "no capture exit $rc"
"$M" bitmap --help | grep -q '^Usage: migscope bitmap' || fail "no usage"
echo "ok"
