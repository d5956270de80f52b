#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Write a capture of awkward records, from docs/capture-format.md alone.

The records are the ones the documents give a rule for: refused DEV_ADDs,
ids no DEV_ADD registered and ids above 65535, short payloads of every type
the tracker reads, writes of length 0, wrapping writes, unknown sources,
unaligned and out-of-range writes, losses with and without extent and for
every device, maps and unmaps (also larger than asked), partial, unaligned,
refused and bad-page-size harvests, starts while tracking, unknown record
types.  Deterministic for a seed.  msread.py and migscope must agree on them.

usage: mkcap.py OUT.mscap [SEED]
"""
import random
import struct
import sys

from msread import crc32c

NONE = 0xFFFFFFFF
K4, M2 = 4096, 2 << 20


def record(rtype, dev, ts, payload):
    rec = struct.pack("<HHIQ", rtype, len(payload), dev, ts) + payload
    return rec + bytes(-len(rec) % 8)


def capture(records):
    info = b""
    for k, v in ((b"host", b"mkcap"), (b"kernel", b"none"), (b"machine", b"py")):
        info += struct.pack("<HH", len(k), len(v)) + k + v
    info += bytes(-len(info) % 8)
    hdr = b"MSCAPTUR" + struct.pack("<HHII", 1, 32, len(info), crc32c(info))
    hdr += struct.pack("<I", 0)
    hdr += struct.pack("<II", crc32c(hdr), 0)
    out = hdr + info
    for i in range(0, len(records), 50):  # small chunks: many chunk boundaries
        body = b"".join(records[i:i + 50])
        head = struct.pack("<II", len(body), len(records[i:i + 50]))
        out += struct.pack("<I", 0x4B43534D) + head + struct.pack("<I", crc32c(body, crc32c(head)))
        out += body
    body = struct.pack("<Q", len(records))
    head = struct.pack("<II", 8, 0)
    out += struct.pack("<I", 0x4E45534D) + head + struct.pack("<I", crc32c(body, crc32c(head)))
    return out + body


def main():
    out, seed = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1
    rnd = random.Random(seed)
    ts = 1000
    recs = []

    def add(rtype, dev, payload):
        nonlocal ts
        ts += rnd.randint(1, 5000)
        recs.append(record(rtype, dev, ts, payload))

    add(1, NONE, struct.pack("<QQII", ts, 1_700_000_000_123_456_789, 0, 0))
    for i, name in enumerate([b"a", b"b", b"c"]):
        add(3, i, struct.pack("<HHIIHH", 0, i % 3, 0, NONE, len(name), 0) + name)
    add(3, 4, struct.pack("<HHIIHH", 1, 0, 0, NONE, 40, 0) + b"short")  # name_len past payload
    add(3, 5, struct.pack("<HHIIHH", 1, 0, 0, NONE, 0, 0))  # empty name
    add(3, 70000, struct.pack("<HHIIHH", 1, 0, 0, NONE, 1, 0) + b"x")  # id above 65535
    add(3, 6, b"\1\0\0\0")  # short
    add(3, 7, struct.pack("<HHIIHH", 9, 7, 0, NONE, 3, 0) + b"d\0e")  # unknown kind, a NUL

    base = 1 << 32

    def start(dev, ps, ranges):
        add(8, dev, struct.pack("<QII", ps, len(ranges), 0) +
            b"".join(struct.pack("<QQ", a, n) for a, n in ranges))

    start(0, K4, [(base, 64 << 20), (base + (128 << 20), 32 << 20)])
    start(1, M2, [(base, 256 << 20)])
    start(2, K4, [(0, 16 << 20)])
    start(9, K4, [(base, 8 << 20)])  # never registered
    start(0, K4, [(base, 4096)])  # already tracking
    start(3, 3000, [(0, 4096)])  # bad page size
    start(3, K4, [(0, 8192), (4096, 8192)])  # overlap
    start(3, K4, [(1, 4096)])  # unaligned
    add(8, 3, struct.pack("<QII", K4, 4, 0))  # ranges missing
    add(8, 3, b"\0" * 8)  # short
    add(10, NONE, struct.pack("<QQQ", base, 0, 1 << 30))
    add(10, NONE, struct.pack("<QQQ", 0, 0, 0))  # empty map

    devs = [0, 1, 2, 3, 9, 11, 70000, NONE]
    for _ in range(600):
        dev = rnd.choice(devs)
        r = rnd.random()
        if r < 0.55:
            iova = base + rnd.randrange(0, 200 << 20) if rnd.random() < 0.8 else rnd.randrange(1 << 40)
            length = rnd.choice([4096, 8192, 65536, 100, 0, rnd.randrange(1, 1 << 20)])
            if rnd.random() < 0.02:
                iova, length = (1 << 64) - 4096, 8192  # wraps
            src = rnd.choice([0, 1, 2, 3, 4, 1, 3, 9])
            p = struct.pack("<QQII", iova, length, src, 1)
            add(12, dev, p if rnd.random() > 0.03 else p[:rnd.choice([0, 8, 16])])
        elif r < 0.65:
            reason = rnd.choice([0, 1, 2, 3, 4, 17])
            iova, length = base + rnd.randrange(0, 100 << 20), rnd.choice([0, 4096, 3 << 20])
            p = struct.pack("<IIQQQ", reason, 0, rnd.randrange(100), iova, length)
            add(13, dev, p if rnd.random() > 0.1 else p[:12])
        elif r < 0.8:
            iova = base + rnd.randrange(0, 100 << 20)
            length = rnd.choice([0, 1 << 20, 3 << 20, 5000, 100])
            ps = rnd.choice([K4, K4, M2, 3000, 0])
            p = struct.pack("<QQQ", iova, length, ps)
            add(14, dev, p if rnd.random() > 0.05 else p[:16])
        elif r < 0.88:
            iova = base + rnd.randrange(0, 300 << 20)
            size = rnd.choice([4096, 1 << 20, 0, 100])
            p = struct.pack("<QQQ", iova, size, rnd.choice([0, size, 2 << 20]))
            add(11, rnd.choice([NONE, NONE, 0, 1]), p if rnd.random() > 0.05 else p[:8])
        elif r < 0.93:
            p = struct.pack("<QQQ", base + rnd.randrange(0, 300 << 20), 0, rnd.choice([4096, 1 << 21]))
            add(10, NONE, p if rnd.random() > 0.1 else p[:16])
        elif r < 0.96:
            add(9, dev, b"")
            if dev in (0, 1, 2, 9) and rnd.random() < 0.7:
                start(dev, rnd.choice([K4, M2]), [(base, 64 << 20)])
        else:
            add(rnd.choice([60, 61, 63]), dev, bytes(rnd.randrange(0, 40)))
    add(24, NONE, struct.pack("<iI", -5, 0))
    with open(out, "wb") as f:
        f.write(capture(recs))


if __name__ == "__main__":
    main()
