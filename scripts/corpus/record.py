#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Record real QEMU migrations as small fixtures for the verdict corpus.

    scripts/corpus/record.py                      # every run of the grid, both QEMUs
    scripts/corpus/record.py --only q72-stall-2m  # one run
    scripts/corpus/record.py --accel kvm          # the grid under KVM, into tests/fixtures/corpus-kvm
    scripts/corpus/record.py --list               # the grid
    scripts/corpus/record.py --table --out tests/fixtures/corpus-kvm   # syncs and dirty-rate samples

Each run starts a destination and a source QEMU (under KVM or TCG: --accel,
auto by default) with the tiny guest of tests/guest (build/guest/guest.elf: it
writes one word per page over a working set at a rate), drives the source over
QMP as a watching client does (events capability, query-kvm, the limits,
query-migrate-parameters, migrate, a query-migrate every 100 ms, a limit
changed mid-run where the grid says so, migrate_cancel where it says so; under
KVM the dirty-rate sampling of a live watch, docs/corpus.md) and writes, into
--out/RUN/ (default tests/fixtures/corpus under TCG, tests/fixtures/corpus-kvm
under KVM):

    src.log, dst.log   QEMU's trace logs, trimmed to the migration's events
    qmp.jsonl          the QMP conversation: {"dir": "send"|"recv", "t": EPOCH_S, "msg": {...}}
    outcome.json       completed or cancelled, the time from migrate to switchover
                       (the STOP event) or to the cancel, QMP's downtime and
                       totals, the QEMU version, the accelerator, the grid's settings,
                       the command lines

Runs go one after another and last a few seconds each (the machine is shared).
QEMU 10.0 comes from scripts/qemu10.sh; a run whose QEMU is missing is skipped
with a line saying so.
"""
import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = {"tcg": os.path.join(ROOT, "tests", "fixtures", "corpus"),
       "kvm": os.path.join(ROOT, "tests", "fixtures", "corpus-kvm")}
MiB = 1 << 20

# The grid: guest working set and write rate (pages/s; 0 = as fast as it can,
# so the idle time between writes is 1/rate), max-bandwidth, downtime-limit,
# a cancel after some seconds (a run that never completes), a limit changed
# mid-run.  Every setting runs on both QEMUs.
GRID = [
    # completes after several passes: the guest dirties slower than the link sends
    dict(name="converge-8m", ws="8M", rate=500, bw=8 * MiB, limit=100),
    dict(name="converge-16m", ws="16M", rate=1000, bw=8 * MiB, limit=50),
    # ... slowly: each pass leaves 0.6-0.75 of the one before, so the first
    # pass is a quarter to a third of the run and most of it is judged by pass
    dict(name="converge-many", ws="8M", rate=1500, bw=8 * MiB, limit=50),
    dict(name="converge-24m", ws="24M", rate=2500, bw=16 * MiB, limit=100),
    # a large working set, few passes, completes
    dict(name="large-96m", ws="96M", rate=300, bw=32 * MiB, limit=300),
    # never completes: the guest dirties faster than the link sends
    dict(name="stall-2m", ws="2M", rate=0, bw=4 * MiB, limit=20, cancel=4.0),
    dict(name="stall-24m", ws="24M", rate=0, bw=16 * MiB, limit=20, cancel=6.0),
    # issue 20's own case: 64 MiB rewritten with no pause, 8 MiB/s, 20 ms, cancelled at 15 s
    dict(name="sawtooth-64m", ws="64M", rate=0, bw=8 * MiB, limit=20, cancel=15.0),
    dict(name="stall-rate", ws="12M", rate=3000, bw=8 * MiB, limit=50, cancel=5.0),
    # a limit changed mid-run: stalled at 20 ms (what the marks before the
    # change should say), completes once 2 s is allowed
    dict(name="limit-raised", ws="8M", rate=0, bw=8 * MiB, limit=20,
         change=dict(at=2.5, limit=2000, before="never")),
    # the other way: the whole working set fits 1.5 s, then 20 ms does not
    dict(name="limit-cut", ws="8M", rate=0, bw=8 * MiB, limit=1500,
         change=dict(at=0.4, limit=20, before="completes"), cancel=5.0),
]


def qemus():
    """(tag, binary, extra args) of each QEMU that is here."""
    out = []
    sysq = shutil.which("qemu-system-x86_64")
    if sysq:
        out.append(("q72", sysq, []))
    else:
        print("record: qemu-system-x86_64 (7.2) is not installed: its runs are skipped",
              file=sys.stderr)
    try:
        q10 = subprocess.run([os.path.join(ROOT, "scripts", "qemu10.sh")], check=True,
                             capture_output=True, text=True).stdout.strip()
        fw = subprocess.run([os.path.join(ROOT, "scripts", "qemu10.sh"), "--args"],
                            check=True, capture_output=True, text=True).stdout.split()
        out.append(("q10", q10, fw))
    except subprocess.CalledProcessError as e:
        print("record: QEMU 10.0 is not available (%s): its runs are skipped"
              % e.stderr.strip(), file=sys.stderr)
    return out


def trace_args(log):
    args = subprocess.run([os.path.join(ROOT, "scripts", "qemu-trace-args.sh"), "--unquoted",
                           log], check=True, capture_output=True, text=True).stdout.split()
    # beyond what migscope reads today: the pass boundaries and the stop of the
    # vCPUs, so later models can be scored on the same recordings
    for p in ("migration_bitmap_sync_start", "migrate_set_state", "migration_completion*",
              "vm_state_notify", "savevm_state_setup", "savevm_state_complete_precopy"):
        args += ["-trace", "enable=" + p]
    return args


class Qmp:
    """A QMP client that writes every message it sends and receives to a transcript."""

    def __init__(self, path, transcript):
        self.tr = open(transcript, "w") if transcript else None
        deadline = time.time() + 20
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if time.time() > deadline:
                    raise
                time.sleep(0.02)
        self.buf = b""
        self.events = []
        self.greeting = self.read()["QMP"]
        self.cmd("qmp_capabilities")

    def log(self, d, msg):
        if self.tr:
            self.tr.write(json.dumps({"dir": d, "t": time.time(), "msg": msg}) + "\n")

    def read(self, timeout=20):
        deadline = time.time() + timeout
        while b"\n" not in self.buf:
            self.s.settimeout(max(0.01, deadline - time.time()))
            data = self.s.recv(65536)
            if not data:
                raise EOFError("QEMU closed the monitor")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        msg = json.loads(line)
        self.log("recv", msg)
        return msg

    def try_cmd(self, name, **args):
        """(return, None) or (None, QEMU's error) of a command."""
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.log("send", msg)
        self.s.sendall(json.dumps(msg).encode())
        while True:
            r = self.read()
            if "event" in r:
                self.events.append(r)
                continue
            if "error" in r:
                return None, r["error"]
            return r["return"], None

    def cmd(self, name, **args):
        ret, err = self.try_cmd(name, **args)
        if err is not None:
            raise RuntimeError("%s: %s" % (name, err))
        return ret

    def close(self):
        self.s.close()
        if self.tr:
            self.tr.close()


class Sampler:
    """The dirty-rate sampling schedule of a live watch (docs/corpus.md), on the source's QMP.

    Only under KVM (query-kvm enabled): QEMU 7.2 exits on a dirty-bitmap calc-dirty-rate under
    TCG and 10.0 answers 0.  From the migration seen active until it ends, one measurement is in
    flight: calc-dirty-rate in dirty-bitmap mode (dirty-ring when QEMU says the ring is on),
    250 and 1000 ms windows in turn on QEMU >= 8.2 (calc-time-unit), 1 s before it; once the
    window has elapsed, query-dirty-rate each poll tick (in milliseconds on >= 8.2) until it
    says measured, then the next calc-dirty-rate at once.
    """

    def __init__(self, q, name):
        self.q = q
        self.name = name
        v = q.greeting["version"]["qemu"]
        self.ms_unit = (v["major"], v["minor"]) >= (8, 2)
        kvm = q.cmd("query-kvm")
        self.on = bool(kvm.get("enabled"))
        self.mode = "dirty-bitmap"
        self.active = False
        self.sent = None  # (send time, window s) of the measurement in flight
        self.n = 0
        self.samples = []  # (window end, window s, MiB/s, mode)

    def _stop(self, what, err):
        print("record: %s: warning: %s failed, dirty-rate sampling stops: %s" %
              (self.name, what, err.get("desc", err)), file=sys.stderr)
        self.on = False

    def _calc(self):
        if self.ms_unit:
            window = 0.25 if self.n % 2 == 0 else 1.0
            args = {"calc-time": int(window * 1000), "calc-time-unit": "millisecond"}
        else:
            window = 1.0
            args = {"calc-time": 1}
        while True:
            t = time.time()
            _, err = self.q.try_cmd("calc-dirty-rate", mode=self.mode, **args)
            if err is None:
                break
            if self.mode == "dirty-bitmap" and \
                    "mode dirty-bitmap is not enabled" in err.get("desc", ""):
                self.mode = "dirty-ring"
                continue
            self._stop("calc-dirty-rate", err)
            return
        self.sent = (t, window)
        self.n += 1

    def tick(self, status):
        """After each query-migrate (and migrate): status is the migration's as last seen."""
        if not self.on:
            return
        if status in ("completed", "failed", "cancelled"):
            self.on = False
            return
        if not self.active:
            self.active = status == "active" or any(
                e.get("event") == "MIGRATION" and e["data"].get("status") == "active"
                for e in self.q.events)
            if not self.active:
                return
        if self.sent is None:
            self._calc()
            return
        t, window = self.sent
        if time.time() < t + window:
            return
        # 8.2+ states calc-time in seconds unless told: a 250 ms window would read 0
        r, err = self.q.try_cmd("query-dirty-rate",
                                **({"calc-time-unit": "millisecond"} if self.ms_unit else {}))
        if err is not None:
            self._stop("query-dirty-rate", err)
            return
        if r.get("status") != "measured":
            return
        self.samples.append((t + window, window, r.get("dirty-rate"), self.mode))
        self.sent = None
        self._calc()


def wait_text(path, text, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open(path, errors="replace") as f:
                if text in f.read():
                    return
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    raise TimeoutError("%s: no '%s' in %d s" % (path, text, timeout))


def keep_pattern(log):
    """A regex of the events enabled (migscope's table and the extras): the rest is cut."""
    args = trace_args(log)
    globs = [a[len("enable="):] for a in args if a.startswith("enable=")]
    alts = "|".join(re.escape(g).replace("\\*", r"\w*") for g in globs)
    return re.compile(r"^\d+@\d+\.\d{6}:(%s)( |$)" % alts)


def trim(src, dst, t0, t1):
    """Keep the migration's events from t0 to t1 (wall seconds) and QEMU's own messages."""
    keep = keep_pattern(dst)
    kept = 0
    with open(src, errors="replace") as f, open(dst, "w") as o:
        for line in f:
            m = re.match(r"^\d+@(\d+\.\d{6}):", line)
            if m:
                t = float(m.group(1))
                if t < t0 or t > t1 or not keep.match(line):
                    continue
            o.write(line)
            kept += 1
    return kept


def kvm_works(qemus):
    """None when every QEMU here starts with -accel kvm, else why not."""
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR))
    except OSError as e:
        return "/dev/kvm: %s" % e.strerror
    for tag, qemu, fw in qemus:
        r = subprocess.run([qemu] + fw + ["-nodefaults", "-no-user-config", "-display", "none",
                                          "-machine", "none", "-accel", "kvm", "-monitor",
                                          "stdio"], input="quit\n", capture_output=True,
                           text=True, timeout=30)
        if r.returncode != 0:
            err = [l for l in r.stderr.splitlines() if l.strip()]
            return "%s does not start with -accel kvm: %s" % (
                qemu, err[-1] if err else "exit %d" % r.returncode)
    return None


def qemu_argv(qemu, fw, accel, guest, workload, d, dest):
    argv = [qemu] + fw + ["-nodefaults", "-no-user-config", "-display", "none",
                          "-machine", "pc", "-accel", accel, "-m", "128",
                          "-kernel", guest, "-append", workload,
                          "-serial", "file:%s/%s" % (d, "dst-serial.txt" if dest else "serial.txt"),
                          "-qmp", "unix:%s/%s,server=on,wait=off" % (d, "dst.qmp" if dest else "src.qmp")]
    argv += trace_args("%s/%s" % (d, "dst-full.log" if dest else "src-full.log"))
    if dest:
        argv += ["-incoming", "unix:%s/mig.sock" % d]
    return argv


def record(tag, qemu, fw, run, guest, accel, out):
    name = "%s-%s" % (tag, run["name"])
    d = tempfile.mkdtemp(prefix="mscorpus-")
    procs = []
    workload = "ws=%s rate=%d" % (run["ws"], run["rate"])
    try:
        dst_argv = qemu_argv(qemu, fw, accel, guest, workload, d, True)
        src_argv = qemu_argv(qemu, fw, accel, guest, workload, d, False)
        for argv in (dst_argv, src_argv):
            procs.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                          stderr=open(d + "/qemu.err", "a")))
        wait_text(d + "/serial.txt", "migscope-guest: ready")
        dst = Qmp(d + "/dst.qmp", None)
        q = Qmp(d + "/src.qmp", d + "/qmp.jsonl")
        sampler = Sampler(q, name)
        if sampler.on != (accel == "kvm"):
            raise RuntimeError("%s: started with -accel %s, query-kvm says enabled %s" %
                               (name, accel, sampler.on))
        version = q.cmd("query-version")["qemu"]
        q.cmd("migrate-set-capabilities",
              capabilities=[{"capability": "events", "state": True}])
        q.cmd("migrate-set-parameters", **{"downtime-limit": run["limit"],
                                           "max-bandwidth": run["bw"]})
        q.cmd("query-migrate-parameters")
        t_migrate = time.time()
        q.cmd("migrate", uri="unix:%s/mig.sock" % d)
        changed = cancelled = None
        status = "setup"
        syncs = None
        sampler.tick(status)
        while True:
            time.sleep(0.1)
            now = time.time() - t_migrate
            if run.get("change") and not changed and now >= run["change"]["at"]:
                q.cmd("migrate-set-parameters",
                      **{"downtime-limit": run["change"]["limit"]})
                q.cmd("query-migrate-parameters")
                changed = now
            if run.get("cancel") and not cancelled and now >= run["cancel"] and \
                    status not in ("completed", "failed", "cancelled"):
                q.cmd("migrate_cancel")
                cancelled = time.time() - t_migrate
            r = q.cmd("query-migrate")
            status = r.get("status", "")
            syncs = r.get("ram", {}).get("dirty-sync-count", syncs)
            sampler.tick(status)
            if status in ("completed", "failed", "cancelled"):
                if status == "completed" and not r.get("total-time"):
                    continue  # 7.2 says completed before it has the totals
                break
            if now > 60:
                raise TimeoutError("%s: still %s after 60 s" % (name, status))
        # the final numbers, as a watch asks for them
        time.sleep(0.05)
        final = q.cmd("query-migrate")
        t_end = time.time()
        stop = [e for e in q.events if e.get("event") == "STOP"]
        outcome = {
            "run": name,
            "qemu": "%d.%d.%d" % (version["major"], version["minor"], version["micro"]),
            "accel": accel,
            "outcome": "completed" if status == "completed" else status,
            "guest": {"ws": run["ws"], "rate": run["rate"]},
            "max_bandwidth": run["bw"],
            "downtime_limit_ms": run["limit"],
            "limit_change": dict(run["change"], done_s=round(changed, 3)) if changed else None,
            "qmp_downtime_ms": final.get("downtime"),
            "total_time_ms": final.get("total-time"),
            "dirty_sync_count": final.get("ram", {}).get("dirty-sync-count", syncs),
            "command_lines": {"source": src_argv, "destination": dst_argv},
        }
        if status == "completed" and stop:
            ts = stop[0]["timestamp"]
            outcome["end_s"] = round(ts["seconds"] + ts["microseconds"] / 1e6 - t_migrate, 3)
        elif cancelled is not None:
            outcome["end_s"] = round(cancelled, 3)
        else:
            raise RuntimeError("%s: ended %s without a switchover or a cancel" % (name, status))
        q.close()
        dst.close()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
    o = os.path.join(out, name)
    os.makedirs(o, exist_ok=True)
    # the paths in the command lines are the recording's scratch folder
    outcome["command_lines"] = json.loads(json.dumps(outcome["command_lines"]).replace(d, "DIR"))
    with open(o + "/outcome.json", "w") as f:
        json.dump(outcome, f, indent=1)
        f.write("\n")
    shutil.copy(d + "/qmp.jsonl", o + "/qmp.jsonl")
    trim(d + "/src-full.log", o + "/src.log", t_migrate - 0.001, t_end + 0.5)
    trim(d + "/dst-full.log", o + "/dst.log", t_migrate - 0.001, t_end + 0.5)
    shutil.rmtree(d, ignore_errors=True)
    print("record: %s: %s after %.2f s (QMP downtime %s ms, %s syncs, %d dirty-rate samples)" %
          (name, outcome["outcome"], outcome["end_s"], outcome["qmp_downtime_ms"],
           outcome["dirty_sync_count"], len(sampler.samples)))


def run_table(d):
    """A recorded run's outcome, dirty syncs and dirty-rate samples, in seconds after migrate."""
    with open(os.path.join(d, "outcome.json")) as f:
        o = json.load(f)
    t0 = None
    calc = {}  # the calc-dirty-rate in flight: send time, window
    samples = []
    with open(os.path.join(d, "qmp.jsonl")) as f:
        for line in f:
            m = json.loads(line)
            msg = m["msg"]
            ex = msg.get("execute")
            if m["dir"] == "send" and ex == "migrate" and t0 is None:
                t0 = m["t"]
            elif m["dir"] == "send" and ex == "calc-dirty-rate":
                a = msg.get("arguments", {})
                unit = 1e-3 if a.get("calc-time-unit") == "millisecond" else 1.0
                calc = {"t": m["t"], "w": a["calc-time"] * unit}
            elif m["dir"] == "recv" and isinstance(msg.get("return"), dict) and \
                    msg["return"].get("status") == "measured" and calc:
                ret = msg["return"]
                # the window as long as QEMU says it took (10.0: 1003 ms for 1000 at times)
                w = ret["calc-time"] * 1e-3 if ret.get("calc-time-unit") == "millisecond" \
                    else calc["w"]
                samples.append((calc["t"], w, ret["dirty-rate"]))
                calc = {}
    syncs = []  # (start, end, dirty pages)
    start = None
    with open(os.path.join(d, "src.log"), errors="replace") as f:
        for line in f:
            m = re.match(r"^\d+@(\d+\.\d{6}):migration_bitmap_sync_(start|end)(?: dirty_pages (\d+))?",
                         line)
            if not m:
                continue
            t = float(m.group(1))
            if m.group(2) == "start":
                start = t
            elif t0 is not None and t >= t0:
                syncs.append((start if start is not None else t, t, int(m.group(3) or 0)))
    rows = []
    for t, w, r in samples:
        inside = any(se >= t and ss <= t + w for ss, se, _ in syncs)
        rows.append("%.2f+%g:%d%s" % (t - t0, w, r, "*" if inside else ""))
    sy = ["%.2f/%d" % (se - t0, n) for _, se, n in syncs[:4]]
    sy += ["-"] * (4 - len(sy))
    return "%-22s %-9s %6.2f  %s  %s" % (o["run"], o["outcome"], o["end_s"],
                                         " ".join("%-12s" % x for x in sy),
                                         " ".join(rows) if rows else "-")


def print_table(out):
    print("# run, outcome, end_s (migrate to switchover or cancel), the first 4 dirty syncs after\n"
          "# migrate (src.log migration_bitmap_sync_end: s/dirty_pages), the dirty-rate samples\n"
          "# (start s after migrate + window s: MiB/s; * = a migration dirty sync in the window)")
    print("%-22s %-9s %6s  %-12s %-12s %-12s %-12s  %s" % ("RUN", "OUTCOME", "END_S", "SYNC1",
                                                        "SYNC2", "SYNC3", "SYNC4", "SAMPLES"))
    for name in sorted(os.listdir(out)):
        if os.path.exists(os.path.join(out, name, "outcome.json")):
            print(run_table(os.path.join(out, name)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.split("\n")[1:7]))
    ap.add_argument("--only", action="append", help="a run's name (e.g. q72-stall-2m)")
    ap.add_argument("--list", action="store_true", help="print the grid")
    ap.add_argument("--accel", choices=("auto", "kvm", "tcg"), default="auto",
                    help="auto: KVM when /dev/kvm opens read-write and QEMU starts with it")
    ap.add_argument("--out", help="the corpus folder (default tests/fixtures/corpus under TCG, "
                    "tests/fixtures/corpus-kvm under KVM)")
    ap.add_argument("--table", action="store_true",
                    help="print the syncs and dirty-rate samples of the runs in --out")
    a = ap.parse_args()
    if a.table:
        print_table(a.out or OUT["kvm" if a.accel == "kvm" else "tcg"])
        return 0
    guest = os.path.join(ROOT, "build", "guest", "guest.elf")
    qs = qemus() if not a.list else [("q72", "", []), ("q10", "", [])]
    runs = [(t, b, fw, r) for r in GRID for (t, b, fw) in qs]
    if a.list:
        for t, _, _, r in runs:
            print("%s-%s" % (t, r["name"]), json.dumps(r))
        return 0
    if not os.path.exists(guest):
        print("record: %s is missing (make build/guest/guest.elf)" % guest, file=sys.stderr)
        return 1
    accel = a.accel
    if accel != "tcg":
        why = kvm_works(qs)
        if why and accel == "kvm":
            print("record: --accel kvm: %s" % why, file=sys.stderr)
            return 1
        if accel == "auto":
            accel = "tcg" if why else "kvm"
            print("record: recording under %s%s" % (accel.upper(), " (%s)" % why if why else ""),
                  file=sys.stderr)
    out = a.out or OUT[accel]
    for t, b, fw, r in runs:
        if a.only and "%s-%s" % (t, r["name"]) not in a.only:
            continue
        record(t, b, fw, r, guest, accel, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
