#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Check that every part of migscope only uses the layers below it.

The layers, their folders and the headers each owns are the table in
docs/architecture.md ("## Layers"): this script reads it, so the table is
what is enforced.  Two kinds of edge are checked:

  includes  every #include <migscope/X.h> in src/*/ and include/migscope/:
            X.h must be in the table and its layer not above the includer's
            (a source file is in its folder's layer, a header in its own);
  calls     every function or object a src/ object file uses from another
            src/ folder (nm on the built objects): the defining folder's
            layer must be below the user's.

Every upward edge is printed as one line naming the file, what it uses and
the two layers; the exit status is 1 if there is any, 2 on a bad table.

usage: check-layers.py [--root DIR] [--table FILE] [--objects DIR]
  --root DIR     the source tree (default: this script's parent folder)
  --table FILE   the markdown with the table (default: ROOT/docs/architecture.md)
  --objects DIR  where the built objects of ROOT/src are, as DIR/src/FOLDER/x.o
                 (default: ROOT/build/obj); without objects the call check
                 fails, so an unbuilt tree cannot pass
"""
import argparse
import os
import re
import subprocess
import sys

ROW = re.compile(r"^\|\s*(\d+)\s+(\w+)\s*\|\s*([^|]*)\|\s*([^|]*)\|")
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]migscope/([^>"]+)[>"]')


def read_table(path):
    """{layer name: rank}, {folder: layer}, {header: layer} from the table rows."""
    rank, folders, headers = {}, {}, {}
    in_section = False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("## "):
                in_section = line.strip() == "## Layers"
                continue
            m = ROW.match(line) if in_section else None
            if not m:
                continue
            n, name, folder, hdrs = int(m[1]), m[2], m[3].strip(), m[4].split()
            rank[name] = n
            for fo in folder.replace("`", "").split():
                if fo not in ("-", "—"):
                    folders[fo.rstrip("/")] = name
            for h in hdrs:
                h = h.strip("`,")
                if h in ("-", "—"):
                    continue
                if h in headers:
                    raise ValueError(f"{h} is in two layers")
                headers[h] = name
    if not rank:
        raise ValueError("no '## Layers' table")
    return rank, folders, headers


def folder_of(rel, folders):
    """The layer folder a path under the root is in ("src/report"), or None."""
    parts = rel.split(os.sep)
    for n in (2, 1):
        key = "/".join(parts[:n])
        if len(parts) > n and key in folders:
            return key
    return None


def check_includes(root, rank, folders, headers, out):
    files = []
    for d, _, names in os.walk(os.path.join(root, "src")):
        files += [os.path.join(d, n) for n in names if n.endswith((".c", ".h"))]
    inc = os.path.join(root, "include", "migscope")
    files += [os.path.join(inc, n) for n in os.listdir(inc) if n.endswith(".h")]
    for path in sorted(files):
        rel = os.path.relpath(path, root)
        if rel.startswith("include" + os.sep):
            me = headers.get(os.path.basename(path))
            if me is None:
                out.append(f"{rel}: not in the layer table of docs/architecture.md "
                           "(add it to the layer that owns it)")
                continue
        else:
            fo = folder_of(rel, folders)
            if fo is None:
                out.append(f"{rel}: its folder is not in the layer table")
                continue
            me = folders[fo]
        with open(path, encoding="utf-8", errors="replace") as f:
            for no, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                h = m[1]
                them = headers.get(h)
                if them is None:
                    out.append(f"{rel}:{no}: includes migscope/{h}, which is in no layer")
                elif rank[them] > rank[me]:
                    out.append(f"{rel}:{no}: includes migscope/{h} ({them}): "
                               f"{me} -> {them} is upward")


def nm(paths, *args):
    """{object path: [nm lines]} for every object, in one run of nm."""
    r = subprocess.run(["nm", "-A", *args, *paths], capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"check-layers: failed to read the objects: {r.stderr.strip()}")
    lines = {}
    for line in r.stdout.splitlines():
        path, _, rest = line.partition(":")
        lines.setdefault(path, []).append(rest)
    return lines


def check_calls(root, objdir, rank, folders, out):
    objs = {}
    base = os.path.join(objdir, "src")
    for d, _, names in os.walk(base):
        for n in names:
            if n.endswith(".o"):
                rel = os.path.relpath(os.path.join(d, n), objdir)
                src = os.path.join(root, rel[:-2] + ".c")
                if os.path.exists(src):  # a stale object of a moved file is no edge
                    objs[rel] = os.path.join(d, n)
    if not objs:
        out.append(f"{objdir}/src: no objects to check the calls in (build first)")
        return
    rel_of = {path: rel for rel, path in objs.items()}
    where = {}
    for path, lines in nm(list(objs.values()), "--defined-only", "-g").items():
        for line in lines:
            f = line.split()
            if len(f) == 3 and f[1] in "TDBRCGSV":
                where[f[2]] = rel_of[path]
    used = nm(list(objs.values()), "-u")
    for rel, path in sorted(objs.items()):
        fo = folder_of(rel, folders)
        if fo is None:
            out.append(f"{rel}: its folder is not in the layer table")
            continue
        me = folders[fo]
        for line in used.get(path, []):
            sym = line.split()[-1]
            dfn = where.get(sym)
            if dfn is None:
                continue
            dfo = folder_of(dfn, folders)
            them = folders.get(dfo)
            if them and rank[them] > rank[me]:
                out.append(f"{rel[:-2]}.c: calls {sym} ({dfn[:-2]}.c): "
                           f"{me} -> {them} is upward")


def main():
    ap = argparse.ArgumentParser(add_help=True)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--root", default=here)
    ap.add_argument("--table")
    ap.add_argument("--objects")
    a = ap.parse_args()
    table = a.table or os.path.join(a.root, "docs", "architecture.md")
    objdir = a.objects or os.path.join(a.root, "build", "obj")
    try:
        rank, folders, headers = read_table(table)
    except OSError as e:
        print(f"check-layers: failed to read {table}: {e.strerror}", file=sys.stderr)
        return 2
    except ValueError as e:
        print(f"check-layers: {table}: {e}", file=sys.stderr)
        return 2
    out = []
    check_includes(a.root, rank, folders, headers, out)
    check_calls(a.root, objdir, rank, folders, out)
    for line in out:
        print(line)
    order = " < ".join(sorted(rank, key=rank.get))
    if out:
        print(f"check-layers: {len(out)} upward or unplaced edge(s); the order is {order}",
              file=sys.stderr)
        return 1
    print(f"check-layers: every edge goes down: {order}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
