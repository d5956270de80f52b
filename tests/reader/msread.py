#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""An independent reader of migscope captures, written from docs/ alone.

It follows docs/capture-format.md (the file, its checks and the record
layouts; the record type table is read from the document itself, so a type
added there is known here), docs/dirty-tracking.md (the tracker's arithmetic)
and docs/report-schema.md (the report's keys). It prints the part of the
report a second implementation can compute exactly, in the report's own
shape, and with --compare checks every value it computed against migscope's
`replay --json` (or, with --bitmap, `bitmap --json`).

Covered: events (total, unknown, by_type, rejected_dev_add); session (source,
host, kernel, machine, vm, started, duration_ms, complete, status); devices (id,
name, kind, role, and which have a `dirty` object); per device `dirty`:
tracking, page_size, tracked_bytes, ranges, pages, bytes, pending_pages,
harvests, harvested_pages, unharvested_at_stop, track_starts, track_stops,
records, sources (records, bytes, pages, unaligned, untracked), out_of_range
and outside_mapped (records, bytes), widened (cause, events, pages,
lost_records, all_tracked), losses_while_not_tracking, rejected (record,
count); dirty_tracker (iommu_maps, iommu_unmaps, mapped_bytes,
unattributed_records, rejected); with --bitmap also distinct_pages and
converted.

Also the cross-source check: discrepancies (reported_by, missed_by, windows,
pages, unconfirmed_pages).

Not covered, on purpose: the telemetry (downtime, convergence: fitted trends,
judged against thresholds, an analysis rather than arithmetic on records),
example addresses (`first`) and the text of rejection reasons.

Standard library only.
"""
import argparse
import bisect
import json
import os
import struct
import sys
import time

U64 = (1 << 64) - 1
INT64_MAX = (1 << 63) - 1
DEV_NONE = 0xFFFFFFFF
DEV_ID_MAX = 65535
MAPPED_PAGE = 4096
MAX_RANGES = 4094

# the name tables are read from the document (load_doc); these are what it says today
WRITE_SOURCES = ["iommu_fault", "dma_unmap", "dma_sync", "hw_dirty", "virtio_wr"]
LOSS_REASONS = ["ringbuf_drop", "admin_read", "restart", "report_error", "source_error"]
DEV_KINDS = ["ref", "vfio", "virtio", "qemu-vfio", "qemu-section", "host"]
SESSION_SOURCES = ["synth", "profile", "watch"]
ROLES = ["source", "destination", "both"]
# the order of widened[] (dirty-tracking.md): the loss reasons, then these
OTHER_CAUSES = ["loss:unknown", "unmap_while_tracking", "zero_length_record", "wrapping_record",
                "unknown_source", "short_record", "out_of_memory"]
CAUSES = ["loss:" + r for r in LOSS_REASONS] + OTHER_CAUSES
REJECTS = ["track_start", "harvest", "iommu_map", "iommu_unmap"]
# the cross-source check's views (read from dirty-tracking.md): name, sources, never blamed
VIEWS = []


class CaptureError(Exception):
    pass


# --- CRC-32C (capture-format.md "CRC-32C") -----------------------------------------------

def _crc_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC_TABLE = _crc_table()


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


# --- the record type table, from the document ----------------------------------------

def doc_rows(doc_path, heading, indented=False):
    """The rows (cells without backticks) of the table under a heading, numbered rows only."""
    rows, inside = [], False
    with open(doc_path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                inside = line.strip().lstrip("#").strip() == heading
                continue
            if indented:  # a table inside a list item
                line = line.strip()
            if inside and line.startswith("|"):
                cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
                if cells[0].isdigit():
                    rows.append(cells)
    if not rows:
        raise SystemExit(f"{doc_path}: no table under '{heading}'")
    return rows


def names(doc_path, heading):
    """A value -> name table (Write sources, Device kinds, ...) as a list by value."""
    table = {int(r[0]): r[1] for r in doc_rows(doc_path, heading)}
    return [table[v] for v in range(len(table))]


def load_doc(doc_path):
    """{type: (name, fixed)} from 'Record types'; the name tables and views into the globals."""
    global WRITE_SOURCES, LOSS_REASONS, DEV_KINDS, SESSION_SOURCES, CAUSES, VIEWS
    WRITE_SOURCES = names(doc_path, "Write sources")
    tracking = os.path.join(os.path.dirname(doc_path), "dirty-tracking.md")
    VIEWS = [(r[1], tuple(WRITE_SOURCES.index(x.strip(" `")) for x in r[2].split(",")),
              not r[3].startswith("yes"))
             for r in doc_rows(tracking, "The cross-source check", indented=True)]
    LOSS_REASONS = names(doc_path, "Loss reasons")
    DEV_KINDS = names(doc_path, "Device kinds")
    SESSION_SOURCES = names(doc_path, "Session sources")
    CAUSES = ["loss:" + r for r in LOSS_REASONS] + OTHER_CAUSES
    return {int(r[0]): (r[1], int(r[2])) for r in doc_rows(doc_path, "Record types")}


# --- the file ------------------------------------------------------------------------

def read_capture(path, types):
    """Check the file and return (info, [(type, len, dev, ts, payload)])."""
    with open(path, "rb") as f:
        data = f.read()

    def fail(off, msg):
        raise CaptureError(f"{path}: offset {off}: {msg}")

    if len(data) < 32:
        fail(0, f"not a migscope capture (only {len(data)} bytes)")
    if data[:8] != b"MSCAPTUR":
        fail(0, "not a migscope capture (bad magic)")
    version, hdr_len, info_len, info_crc, flags, hdr_crc, reserved = \
        struct.unpack_from("<HHIIIII", data, 8)
    if hdr_crc != crc32c(data[:24]):
        fail(24, "file header checksum mismatch")
    if version != 1:
        fail(8, f"unsupported capture version {version}")
    if hdr_len < 32 or hdr_len % 8:
        fail(10, f"bad header length {hdr_len}")
    if flags:
        fail(20, f"unknown header flags 0x{flags:x}")
    if reserved:
        fail(28, "reserved header field is not zero")
    if info_len % 8 or hdr_len + info_len > len(data):
        fail(12, f"info block of {info_len} bytes runs past the end of the file")
    block = data[hdr_len:hdr_len + info_len]
    if crc32c(block) != info_crc:
        fail(hdr_len, "info block checksum mismatch")

    info, off = {}, 0
    while off + 4 <= len(block):
        kl, vl = struct.unpack_from("<HH", block, off)
        if not kl and not vl:
            break
        if off + 4 + kl + vl > len(block):
            fail(hdr_len + off, "info entry runs past the info block")
        if not 1 <= kl <= 31 or vl > 511:
            fail(hdr_len + off, "info entry has a bad key or value length")
        key, val = block[off + 4:off + 4 + kl], block[off + 4 + kl:off + 4 + kl + vl]
        if b"\0" in key or b"\0" in val:
            fail(hdr_len + off, "info entry has a NUL byte")
        k = key.decode("utf-8", "replace")
        if k in info or len(info) < 16:
            info[k] = val.decode("utf-8", "replace")
        off += 4 + kl + vl
    if len(block) - off >= 8 or any(block[off:]):
        fail(hdr_len + off, "bad info padding")

    records, off = [], hdr_len + info_len
    while True:
        if off == len(data):
            fail(off, "capture ends without its end marker")
        if len(data) - off < 16:
            fail(off, "truncated chunk header")
        magic, clen, nr, crc = struct.unpack_from("<IIII", data, off)
        if magic not in (0x4B43534D, 0x4E45534D):
            fail(off, f"bad chunk magic 0x{magic:08x}")
        if clen % 8 or clen > 16 << 20:
            fail(off + 4, f"bad chunk length {clen}")
        if clen > len(data) - off - 16:
            fail(off + 4, "chunk runs past the end of the file")
        payload = data[off + 16:off + 16 + clen]
        if crc32c(payload, crc32c(data[off + 4:off + 12])) != crc:
            fail(off, "chunk checksum mismatch")
        if magic == 0x4E45534D:
            if clen != 8 or nr:
                fail(off, "bad end marker")
            (total,) = struct.unpack_from("<Q", payload)
            if total != len(records):
                fail(off, f"end marker counts {total} records, file holds {len(records)}")
            if off + 16 + clen != len(data):
                fail(off + 16 + clen, "bytes after the end marker")
            return info, records
        pos, chunk = 0, []
        while pos < clen:
            if clen - pos < 16:
                fail(off + 16 + pos, "truncated record header")
            rtype, rlen, dev, ts = struct.unpack_from("<HHIQ", payload, pos)
            if rtype == 0:
                fail(off + 16 + pos, "record of type 0")
            size = (16 + rlen + 7) & ~7
            if size > clen - pos:
                fail(off + 16 + pos, "record runs past the end of its chunk")
            body = payload[pos + 16:pos + 16 + rlen]
            fixed = types.get(rtype, ("", 0))[1]
            # zero-extended for reading; the written length is kept
            chunk.append((rtype, rlen, dev, ts, body + bytes(max(0, fixed - rlen))))
            pos += size
        if len(chunk) != nr:
            fail(off + 8, f"chunk says {nr} records, holds {len(chunk)}")
        records.extend(chunk)
        off += 16 + clen


# --- page sets: sorted disjoint inclusive intervals ------------------------------------

class Pages:
    def __init__(self):
        self.iv = []  # [[first, last], ...]

    def add(self, a, b):
        iv = self.iv
        i = bisect.bisect_left(iv, [a, a])
        if i and iv[i - 1][1] >= a - 1:
            i -= 1
        j = i
        while j < len(iv) and iv[j][0] <= b + 1:
            a, b = min(a, iv[j][0]), max(b, iv[j][1])
            j += 1
        iv[i:j] = [[a, b]]

    def remove(self, a, b):
        out = []
        for x, y in self.iv:
            if y < a or x > b:
                out.append([x, y])
                continue
            if x < a:
                out.append([x, a - 1])
            if y > b:
                out.append([b + 1, y])
        self.iv = out

    def count(self, a=0, b=U64):
        return sum(max(0, min(y, b) - max(x, a) + 1) for x, y in self.iv)

    def union(self, other):
        for x, y in other.iv:
            self.add(x, y)
        return self

    def copy(self):
        p = Pages()
        p.iv = [list(x) for x in self.iv]
        return p


def sat(v):
    return min(v & U64, INT64_MAX)


# --- the dirty tracker (dirty-tracking.md) -------------------------------------------

class Device:
    def __init__(self, dev_id):
        self.id = dev_id
        self.tracking = False
        self.page_size, self.shift = 4096, 12
        self.ranges = []  # [(iova, last byte)] sorted
        self.tracked_bytes = 0
        self.src = [Pages() for _ in WRITE_SOURCES]
        self.prev = [Pages() for _ in WRITE_SOURCES]
        self.seen = set()  # sources that marked a tracked page since the last start
        nv = range(len(VIEWS))
        self.suspect = {(x, y): Pages() for x in nv for y in nv}
        self.disc = {(x, y): [0, 0] for x in nv for y in nv}  # windows, pages
        self.widened = Pages()
        self.session = Pages()
        self.st = [dict(records=0, bytes=0, pages=0, unaligned=0, untracked=0)
                   for _ in range(len(WRITE_SOURCES) + 1)]
        self.cause = {c: dict(events=0, pages=0, lost=0, all=False) for c in CAUSES}
        self.rej = {r: 0 for r in REJECTS}
        self.oor = [0, 0]  # out_of_range records, bytes
        self.outside = [0, 0]
        self.harvests = self.harvested = self.unharvested = 0
        self.starts = self.stops = self.loss_untracked = 0

    def window(self):
        u = self.widened.copy()
        for s in self.src:
            u.union(s)
        return u

    def widen_range(self, cause, first_byte, last_byte):
        n = 0
        for iova, last in self.ranges:
            a, b = max(first_byte, iova), min(last_byte, last)
            if a > b:
                continue
            self.widened.add(a >> self.shift, b >> self.shift)
            k = (b >> self.shift) - (a >> self.shift) + 1
            self.cause[cause]["pages"] += k
            n += k
        return n

    def widen_all(self, cause, lost=0):
        self.widen_range(cause, 0, U64)
        c = self.cause[cause]
        c["events"] += 1
        c["lost"] += lost
        c["all"] = True

    def view(self, v, sets):
        """A view's union over its sources that reported, or None before any did."""
        srcs = [i for i in VIEWS[v][1] if i in self.seen]
        if not srcs:
            return None
        u = Pages()
        for i in srcs:
            u.union(sets[i])
        return u

    def compared(self):
        nv = range(len(VIEWS))
        cur = [self.view(v, self.src) for v in nv]
        prev = [self.view(v, self.prev) for v in nv]
        pairs = [(x, y) for x in nv for y in nv
                 if x != y and cur[x] is not None and cur[y] is not None and not VIEWS[y][2]]
        return cur, prev, pairs

    def close(self, first, last, harvest):
        cur, prev, pairs = self.compared()
        for x, y in pairs:
            self.disc[x, y][0] += 1
            sus = _clip(self.suspect[x, y], first, last)
            self.disc[x, y][1] += sus.count() - _and(sus, cur[y]).count()
            cand = _clip(cur[x], first, last)
            for other in (cur[y], prev[y]):
                for a, b in other.iv:
                    cand.remove(a, b)
            self.suspect[x, y].remove(first, last)
            self.suspect[x, y].union(cand)
        for i, s in enumerate(self.src):
            self.prev[i].remove(first, last)
            self.prev[i].union(_clip(s, first, last))
        taken = _clip(self.window(), first, last)
        if harvest:
            self.harvested += taken.count()
        else:
            self.unharvested += taken.count()
        self.session.union(taken)
        for i, s in enumerate(self.src):
            self.st[i]["pages"] += s.count(first, last)
            s.remove(first, last)
        self.widened.remove(first, last)


def _and(p, q):
    out = Pages()
    for a, b in q.iv:
        out.union(_clip(p, a, b))
    return out


def _clip(p, first, last):
    out = Pages()
    for x, y in p.iv:
        if y >= first and x <= last:
            out.add(max(x, first), min(y, last))
    return out


def page_size_ok(ps):
    return ps and not ps & (ps - 1) and 4096 <= ps <= 1 << 30


class Tracker:
    def __init__(self):
        self.dev = {}
        self.mapped = Pages()
        self.maps = self.unmaps = self.unattributed = 0
        self.rej = {r: 0 for r in REJECTS}

    def get(self, dev_id):
        if dev_id > DEV_ID_MAX:
            return None
        if dev_id not in self.dev:
            self.dev[dev_id] = Device(dev_id)
        return self.dev[dev_id]

    def on(self, rtype, rlen, dev_id, p):
        name = TYPE_NAMES.get(rtype)
        if name == "dma_write":
            self.dma_write(rlen, dev_id, p)
        elif name == "track_start":
            self.track_start(rlen, dev_id, p)
        elif name == "track_stop":
            d = self.get(dev_id)
            if d is None:
                self.unattributed += 1
            elif d.tracking:
                d.close(0, U64 >> d.shift, False)
                for k, sus in d.suspect.items():
                    d.disc[k][1] += sus.count()
                    d.suspect[k] = Pages()
                d.prev = [Pages() for _ in WRITE_SOURCES]
                d.tracking = False
                d.stops += 1
        elif name == "harvest":
            self.harvest(rlen, dev_id, p)
        elif name == "loss":
            self.loss(rlen, dev_id, p)
        elif name == "iommu_map":
            self.iommu_map(rlen, p)
        elif name == "iommu_unmap":
            self.iommu_unmap(rlen, dev_id, p)

    def dma_write(self, rlen, dev_id, p):
        d = self.get(dev_id)
        if d is None:
            self.unattributed += 1
            return
        if rlen < 24:
            if d.tracking:
                d.widen_all("short_record")
            return
        iova, length, source, _ = struct.unpack_from("<QQII", p)
        src = source if source < len(WRITE_SOURCES) else len(WRITE_SOURCES)
        st = d.st[src]
        st["records"] += run_events(p)
        st["bytes"] += length
        if not d.tracking:
            st["untracked"] += 1
            return
        if src == len(WRITE_SOURCES):
            d.cause["unknown_source"]["events"] += 1
        if not length:
            d.cause["zero_length_record"]["events"] += 1
            d.widen_range("zero_length_record", iova, iova)
            return
        end = iova + length - 1
        if end > U64:
            d.widen_all("wrapping_record")
            return
        if (iova | length) & (d.page_size - 1):
            st["unaligned"] += 1
        if self.maps:
            first, last = iova // MAPPED_PAGE, end // MAPPED_PAGE
            if self.mapped.count(first, last) != last - first + 1:
                d.outside[0] += 1
                d.outside[1] += length
        inside = 0
        for r_iova, r_last in d.ranges:
            a, b = max(iova, r_iova), min(end, r_last)
            if a > b:
                continue
            if src < len(WRITE_SOURCES):
                d.src[src].add(a >> d.shift, b >> d.shift)
                d.seen.add(src)
            else:
                d.widen_range("unknown_source", a, b)
            inside += b - a + 1
        if inside < length:
            d.oor[0] += 1
            d.oor[1] += length - inside

    def track_start(self, rlen, dev_id, p):
        d = self.get(dev_id)
        if d is None:
            self.unattributed += 1
            return
        if rlen < 16:
            d.rej["track_start"] += 1
            return
        ps, nr, _ = struct.unpack_from("<QII", p)
        if nr * 16 > rlen - 16 or d.tracking:
            d.rej["track_start"] += 1
            return
        ranges = [struct.unpack_from("<QQ", p, 16 + 16 * i) for i in range(nr)]
        ok = page_size_ok(ps) and 1 <= nr <= MAX_RANGES
        for iova, length in ranges:
            ok = ok and length and iova + length - 1 <= U64 and not (iova | length) & (ps - 1)
        ranges.sort()
        for (a, la), (b, _) in zip(ranges, ranges[1:]):
            ok = ok and b > a + la - 1
        if not ok:
            d.rej["track_start"] += 1
            return
        if ps != d.page_size:
            # a coarse page is dirty if any fine page in it is; a fine page if its coarse page is
            old, conv = d.shift, Pages()
            new = ps.bit_length() - 1
            for x, y in d.session.iv:
                conv.add((x << old) >> new, (((y + 1) << old) - 1) >> new)
            d.session = conv
            d.page_size, d.shift = ps, new
        d.ranges = [(iova, iova + length - 1) for iova, length in ranges]
        d.tracked_bytes = sum(length for _, length in ranges)
        d.tracking = True
        d.seen = set()
        d.starts += 1

    def harvest(self, rlen, dev_id, p):
        d = self.get(dev_id)
        if d is None:
            self.unattributed += 1
            return
        if rlen < 24 or not d.tracking:
            d.rej["harvest"] += 1
            return
        iova, length, ps = struct.unpack_from("<QQQ", p)
        if not page_size_ok(ps):
            d.rej["harvest"] += 1
            return
        if not length:
            d.harvests += 1
            d.close(0, U64 >> d.shift, True)
            return
        end = iova + length - 1
        if end > U64:
            d.rej["harvest"] += 1
            return
        d.harvests += 1
        # only the tracker pages wholly inside were taken
        first = (iova >> d.shift) + (1 if iova & (d.page_size - 1) else 0)
        last = ((end + 1) >> d.shift) - 1
        if first <= last:
            d.close(first, last, True)

    def loss(self, rlen, dev_id, p):
        cause, count, iova, length = "loss:unknown", 0, 0, 0
        if rlen >= 32:
            reason, _, count, iova, length = struct.unpack_from("<IIQQQ", p)
            if reason < len(LOSS_REASONS):
                cause = "loss:" + LOSS_REASONS[reason]
        d = None if dev_id == DEV_NONE else self.get(dev_id)
        for x in [d] if d else [self.dev[k] for k in sorted(self.dev)]:
            if not x.tracking:
                x.loss_untracked += 1
            elif not length or iova + length - 1 > U64:
                x.widen_all(cause, count)
            else:
                x.cause[cause]["events"] += 1
                x.cause[cause]["lost"] += count
                x.widen_range(cause, iova, iova + length - 1)

    def iommu_map(self, rlen, p):
        if rlen < 24:
            self.rej["iommu_map"] += 1
            return
        iova, _, size = struct.unpack_from("<QQQ", p)
        if not size or iova + size - 1 > U64:
            self.rej["iommu_map"] += 1
            return
        self.maps += run_events(p)
        self.mapped.add(iova // MAPPED_PAGE, (iova + size - 1) // MAPPED_PAGE)

    def iommu_unmap(self, rlen, dev_id, p):
        targets = [self.dev[k] for k in sorted(self.dev)
                   if self.dev[k].tracking and dev_id in (DEV_NONE, k)]
        if rlen < 24:
            self.rej["iommu_unmap"] += 1
            for d in targets:
                d.widen_all("short_record")
            return
        iova, size, unmapped = struct.unpack_from("<QQQ", p)
        size = max(size, unmapped)
        if not size or iova + size - 1 > U64:
            self.rej["iommu_unmap"] += 1
            return
        end = iova + size - 1
        self.unmaps += run_events(p)
        # only pages wholly inside leave the mapped set
        first = iova // MAPPED_PAGE + (1 if iova % MAPPED_PAGE else 0)
        last = (end + 1) // MAPPED_PAGE - 1 if end < U64 else U64 // MAPPED_PAGE
        if first <= last:
            self.mapped.remove(first, last)
        for d in targets:
            if d.widen_range("unmap_while_tracking", iova, end):
                d.cause["unmap_while_tracking"]["events"] += 1


TYPE_NAMES = {}


def run_events(p):
    """The events a record stands for: its run's count (capture-format.md), 0 or absent: 1."""
    count = struct.unpack_from("<I", p, 24)[0] if len(p) >= 28 else 0
    return count or 1


# --- the report ------------------------------------------------------------------------

def dirty_json(d, maps, bitmap, conv_ps):
    pending = d.window().count()
    pages = d.harvested + d.unharvested + pending
    srcs = {}
    for i, st in enumerate(d.st):
        if not st["records"]:
            continue
        name = WRITE_SOURCES[i] if i < len(WRITE_SOURCES) else "unknown"
        o = dict(records=sat(st["records"]), bytes=sat(st["bytes"]))
        if i < len(WRITE_SOURCES):
            o["pages"] = sat(st["pages"] + d.src[i].count())
        o.update(unaligned=st["unaligned"], untracked=st["untracked"])
        srcs[name] = o
    o = dict(tracking=d.tracking, page_size=d.page_size, tracked_bytes=sat(d.tracked_bytes),
             ranges=[dict(iova=hex(a), length=b - a + 1) for a, b in d.ranges],
             pages=sat(pages), bytes=sat(pages * d.page_size), pending_pages=sat(pending),
             harvests=d.harvests, harvested_pages=sat(d.harvested),
             unharvested_at_stop=sat(d.unharvested), track_starts=d.starts,
             track_stops=d.stops, records=sat(sum(s["records"] for s in d.st)), sources=srcs,
             out_of_range=dict(records=d.oor[0], bytes=sat(d.oor[1])),
             widened=[dict(cause=c, events=v["events"], pages=sat(v["pages"]),
                           lost_records=sat(v["lost"]), all_tracked=v["all"])
                      for c, v in d.cause.items() if v["events"]],
             losses_while_not_tracking=d.loss_untracked,
             discrepancies=discrepancies_json(d),
             rejected=[dict(record=r, count=n) for r, n in d.rej.items() if n])
    o["outside_mapped"] = (dict(records=d.outside[0], bytes=sat(d.outside[1]))
                           if maps else None)
    if bitmap:
        every = d.session.copy().union(d.window())
        o["distinct_pages"] = every.count()
        if conv_ps:
            coarse = Pages()
            for x, y in every.iv:
                coarse.add((x << d.shift) // conv_ps, (((y + 1) << d.shift) - 1) // conv_ps)
            o["converted"] = dict(page_size=conv_ps, distinct_pages=coarse.count(),
                                  bytes=sat(coarse.count() * conv_ps))
    return o


def discrepancies_json(d):
    open_ = {}
    if d.tracking:
        cur, prev, pairs = d.compared()
        for x, y in pairs:
            sus = d.suspect[x, y]
            cand = cur[x].copy()
            for other in (cur[y], prev[y]):
                for a, b in other.iv:
                    cand.remove(a, b)
            open_[x, y] = sus.count() - _and(sus, cur[y]).count() + cand.count()
    out = []
    for (x, y), (windows, pages) in d.disc.items():
        if windows or (x, y) in open_:
            out.append(dict(reported_by=VIEWS[x][0], missed_by=VIEWS[y][0], windows=windows,
                            pages=sat(pages), unconfirmed_pages=sat(open_.get((x, y), 0))))
    return out


TRACKER = Tracker()


def report(path, doc, bitmap=False, conv_ps=0):
    types = load_doc(doc)
    TYPE_NAMES.update({t: name for t, (name, _) in types.items()})
    info, records = read_capture(path, types)
    by_type, unknown, rejected_dev_add = {}, 0, 0
    devices, session, end = {}, None, None
    for rtype, rlen, dev_id, ts, p in records:
        name = TYPE_NAMES.get(rtype)
        if name is None:
            unknown += 1
            continue
        by_type[name] = by_type.get(name, 0) + 1
        if name == "session" and session is None:
            session = struct.unpack_from("<QQII", p)
        elif name == "session_end":
            end = struct.unpack_from("<i", p)[0]
        elif name == "dev_add":
            kind, role, _, _, name_len, _ = struct.unpack_from("<HHIIHH", p)
            if (rlen < 16 or dev_id > DEV_ID_MAX or not name_len or name_len > rlen - 16
                    or name_len > 255):
                rejected_dev_add += 1
                continue
            dname = p[16:16 + name_len].split(b"\0")[0].decode("utf-8", "replace") or "?"
            devices[dev_id] = dict(id=dev_id, name=dname,
                                   kind=DEV_KINDS[kind] if kind < len(DEV_KINDS) else "unknown",
                                   role=ROLES[role] if role < len(ROLES) else "unknown")
        TRACKER.on(rtype, rlen, dev_id, p)

    stamps = [r[3] for r in records]
    started = None
    if session:
        sec, ns = divmod(session[1], 10**9)
        started = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + \
            ".%03dZ" % (ns // 10**6)
    sess = dict(source=SESSION_SOURCES[session[2]]
                if session and session[2] < len(SESSION_SOURCES) else "unknown",
                host=info.get("host", ""), kernel=info.get("kernel", ""),
                machine=info.get("machine", ""), vm=info.get("vm"),
                duration_ms=float("%.3f" % ((max(stamps) - min(stamps)) / 1e6 if stamps else 0)),
                complete=end is not None, status=end if end is not None else 0)
    if started:
        sess["started"] = started
    devs = []
    for i in sorted(devices):
        e = dict(devices[i])
        if i in TRACKER.dev:
            e["dirty"] = dirty_json(TRACKER.dev[i], TRACKER.maps, bitmap, conv_ps)
        devs.append(e)
    for i in sorted(TRACKER.dev):
        if i not in devices:
            devs.append(dict(id=i, name=f"dev{i}", kind="unregistered", role="unknown",
                             dirty=dirty_json(TRACKER.dev[i], TRACKER.maps, bitmap, conv_ps)))
    if bitmap:
        for e in devs:
            e.pop("role")
        return dict(page_size=conv_ps or None, devices=[e for e in devs if "dirty" in e])
    return dict(
        session=sess,
        devices=devs,
        events=dict(total=len(records), unknown=unknown, by_type=by_type,
                    rejected_dev_add=rejected_dev_add),
        dirty_tracker=dict(iommu_maps=TRACKER.maps, iommu_unmaps=TRACKER.unmaps,
                           mapped_bytes=sat(TRACKER.mapped.count() * MAPPED_PAGE),
                           unattributed_records=TRACKER.unattributed,
                           rejected=[dict(record=r, count=n)
                                     for r, n in TRACKER.rej.items() if n]))


# --- comparing with migscope's report ----------------------------------------------------

def compare(mine, theirs, path, out):
    """Every value in mine must be at the same place in theirs; returns values compared."""
    n = 0
    if isinstance(mine, dict):
        if not isinstance(theirs, dict):
            out.append(f"{path}: an object here, {json.dumps(theirs)} there")
            return 0
        for k, v in mine.items():
            if k not in theirs:
                out.append(f"{path}.{k}: absent from migscope's report")
                continue
            n += compare(v, theirs[k], f"{path}.{k}", out)
        # a key migscope has in a map keyed by what occurred, that this reader did not see
        if path.endswith((".by_type", ".sources")):
            for k in theirs:
                if k not in mine:
                    out.append(f"{path}.{k}: {json.dumps(theirs[k])} in migscope's report only")
        return n
    if isinstance(mine, list):
        if not isinstance(theirs, list) or len(theirs) != len(mine):
            out.append(f"{path}: {len(mine)} entries here, "
                       f"{len(theirs) if isinstance(theirs, list) else theirs} there")
            return 0
        for i, (a, b) in enumerate(zip(mine, theirs)):
            n += compare(a, b, f"{path}[{i}]", out)
        return n
    if mine != theirs or type(mine) is not type(theirs):
        out.append(f"{path}: {json.dumps(mine)} here, {json.dumps(theirs)} in migscope's report")
    return 1


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(
        description="Read a migscope capture from the documented format alone.",
        epilog="examples:\n  msread.py run.mscap\n"
               "  msread.py run.mscap --compare <(migscope replay run.mscap --json)\n"
               "  msread.py run.mscap --bitmap --page-size 2097152 "
               "--compare <(migscope bitmap run.mscap --json -p 2M)",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("capture")
    ap.add_argument("--doc", default=os.path.join(here, "../../docs/capture-format.md"),
                    help="the format document to take the record types from")
    ap.add_argument("--bitmap", action="store_true", help="the numbers of `bitmap --json`")
    ap.add_argument("--page-size", type=int, default=0, help="as bitmap --page-size, in bytes")
    ap.add_argument("--compare", metavar="JSON", help="migscope's report to check against")
    args = ap.parse_args()
    try:
        mine = report(args.capture, args.doc, args.bitmap, args.page_size)
    except CaptureError as e:
        print(e, file=sys.stderr)
        return 1
    if not args.compare:
        json.dump(mine, sys.stdout, indent=2)
        print()
        return 0
    with open(args.compare, encoding="utf-8") as f:
        theirs = json.load(f)
    out = []
    n = compare(mine, theirs, "", out)
    for line in out:
        print("DIFFERS " + line)
    print(f"{args.capture}: {n} values compared, {len(out)} differ")
    return 1 if out or not n else 0


if __name__ == "__main__":
    sys.exit(main())
