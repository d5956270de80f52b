#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# migscope bitmap: text, JSON, device filter, page-size conversion, ranges, errors.
. "$(dirname "$0")/lib.sh"

expect_exit 0 "synth --record" -- "$MIGSCOPE" synth --events 20000 --devices 2 --seed 3 --record "$T/s.mscap" --quiet

expect_exit 0 "bitmap CAPTURE" -- "$MIGSCOPE" bitmap "$T/s.mscap"
expect_grep '^DIRTY ' "$T/out" "DIRTY header"
expect_grep '^synth0 +4K +[0-9]+ ' "$T/out" "a line for synth0 with its page size"
expect_grep '^synth1 ' "$T/out" "a line for synth1"
expect_grep '^  source dma_unmap +[0-9]+ records +[0-9]+ pages' "$T/out" "pages per source"
[ "$(grep -c '^DIRTY ' "$T/out")" = 1 ] && ok "one header" || fail "header printed more than once"

expect_exit 0 "--device --page-size --ranges" -- "$MIGSCOPE" bitmap "$T/s.mscap" --device synth1 --page-size 2M --ranges
grep -q '^synth0 ' "$T/out" && fail "--device synth1 printed synth0" || ok "--device filters"
expect_grep 'at page size 2.00 MiB: [0-9]+ distinct pages' "$T/out" "count at the converted page size"
expect_grep '^    0x[0-9a-f]{16}-0x[0-9a-f]{16} +[0-9]+ pages$' "$T/out" "dirty ranges"

# JSON: consistent numbers; the ranges at 2 MiB add up to the converted count
expect_exit 0 "--json" -- "$MIGSCOPE" bitmap "$T/s.mscap" --json -p 2M -r -d synth0
if python3 - "$T/out" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
d = r["devices"]
assert len(d) == 1 and d[0]["name"] == "synth0", d
dirty = d[0]["dirty"]
for k in ("pages", "bytes", "page_size", "sources", "out_of_range", "widened", "discrepancies"):
    assert k in dirty, k
assert dirty["bytes"] == dirty["pages"] * dirty["page_size"]
assert 0 < dirty["converted"]["distinct_pages"] <= dirty["distinct_pages"] <= dirty["pages"]
assert sum(x["length"] for x in d[0]["ranges"]) == dirty["converted"]["distinct_pages"] * 2 * 1024 * 1024
PY
then ok "JSON numbers agree"; else fail "JSON numbers"; fi

# synth's large-host shape, small: each device writes only its pool, in a slice of its own
expect_exit 0 "synth --guest --pool" -- "$MIGSCOPE" synth --guest 64G --devices 4 --pool 16M \
	--events 20000 --record "$T/g.mscap" --quiet
expect_exit 0 "bitmap --ranges of the pools" -- "$MIGSCOPE" bitmap "$T/g.mscap" --json -r
if python3 - "$T/out" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
slice_, pool = 16 << 30, 16 << 20
assert len(r["devices"]) == 4
for k, d in enumerate(r["devices"]):
    assert d["dirty"]["tracked_bytes"] == 64 << 30, d["dirty"]
    assert 0 < d["dirty"]["distinct_pages"] <= pool // 4096 + 8, d["dirty"]["distinct_pages"]
    for x in d["ranges"]:
        x = {k2: int(v, 0) if isinstance(v, str) else v for k2, v in x.items()}
        # a write may run up to 32 KiB past the pool's end
        assert k * slice_ <= x["iova"] and x["iova"] + x["length"] <= k * slice_ + pool + 32768, (k, x)
PY
then ok "each device's pages lie in its own pool"; else fail "synth --pool"; fi
expect_exit 2 "synth --guest 12x" -- "$MIGSCOPE" synth --guest 12x
expect_grep "guest: '12x' is not a size in 1M-1P" "$T/err" "bad guest size named"
expect_exit 2 "synth --pool 1" -- "$MIGSCOPE" synth --pool 1
expect_grep "pool: '1' is not a size of 4K or more" "$T/err" "bad pool size named"

expect_exit 2 "--page-size 3K" -- "$MIGSCOPE" bitmap "$T/s.mscap" --page-size 3K
expect_grep "page-size: '3K' is not a power of two" "$T/err" "bad page size named"
expect_exit 1 "unknown device" -- "$MIGSCOPE" bitmap "$T/s.mscap" --device nosuch
expect_grep "no device named 'nosuch'" "$T/err" "unknown device named"
expect_exit 1 "missing capture" -- "$MIGSCOPE" bitmap "$T/missing.mscap"
expect_lines 1 "$T/err" "missing capture: one line"
expect_exit 2 "no capture" -- "$MIGSCOPE" bitmap
expect_exit 0 "--help" -- "$MIGSCOPE" bitmap --help
expect_grep '^Usage: migscope bitmap' "$T/out" "usage"
finish
