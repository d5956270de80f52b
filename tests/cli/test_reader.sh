#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# A second implementation agrees: tests/reader/msread.py, written from
# docs/capture-format.md and docs/dirty-tracking.md alone, reads every capture
# and must get exactly the numbers of `replay --json` and `bitmap --json`
# (the values it covers are listed in its docstring).  Captures: the ones
# committed under tests/, fresh `synth` and `profile` runs (faults injected),
# captures of awkward records written by tests/reader/mkcap.py from the
# document, and a real QEMU 7.2 migration recorded by `watch`.  Damaged
# captures are refused by both.
. "$(dirname "$0")/lib.sh"
R=tests/reader/msread.py
BUILD=${MIGSCOPE_BUILD:-build}

# agree CAPTURE NAME: replay and bitmap (at 2 MiB) against the reader
agree() {
	local cap=$1 name=$2
	if ! "$MIGSCOPE" replay "$cap" --json >"$T/r.json" 2>"$T/err"; then
		fail "$name: replay failed"; head -3 "$T/err"; return
	fi
	if python3 "$R" "$cap" --compare "$T/r.json" >"$T/cmp" 2>&1; then
		ok "$name: replay --json agrees ($(tail -1 "$T/cmp" | grep -o '[0-9]* values'))"
	else
		fail "$name: replay --json differs"; head -10 "$T/cmp"
	fi
	if ! "$MIGSCOPE" bitmap "$cap" --json -p 2M >"$T/b.json" 2>"$T/err"; then
		fail "$name: bitmap failed"; head -3 "$T/err"; return
	fi
	if python3 "$R" "$cap" --bitmap --page-size 2097152 --compare "$T/b.json" >"$T/cmp" 2>&1; then
		ok "$name: bitmap --json agrees ($(tail -1 "$T/cmp" | grep -o '[0-9]* values'))"
	else
		fail "$name: bitmap --json differs"; head -10 "$T/cmp"
	fi
}

# the comparison can fail: a changed number is found
"$MIGSCOPE" synth --events 3000 --devices 2 --seed 5 --record "$T/s.mscap" --quiet >/dev/null
"$MIGSCOPE" replay "$T/s.mscap" --json |
	python3 -c 'import json,sys; d=json.load(sys.stdin); d["devices"][0]["dirty"]["pages"] += 1; json.dump(d, sys.stdout)' \
	>"$T/changed.json"
if python3 "$R" "$T/s.mscap" --compare "$T/changed.json" >"$T/cmp"; then
	fail "a changed page count went unnoticed"
else
	expect_grep '^DIFFERS .devices\[0\].dirty.pages' "$T/cmp" "a changed page count is found"
fi

n=0
while IFS= read -r cap; do
	agree "$cap" "committed ${cap#tests/}"
	n=$((n + 1))
done < <(find tests -name '*.mscap' | sort)
[ "$n" -gt 0 ] && ok "$n committed captures" || fail "no committed capture found under tests/"

for seed in 3 11; do
	"$MIGSCOPE" synth --events 20000 --devices 3 --seed $seed --record "$T/synth$seed.mscap" --quiet >/dev/null
	agree "$T/synth$seed.mscap" "synth --seed $seed"
done

profile() {
	local name=$1; shift
	if "$MIGSCOPE" profile --quiet "$@" --record "$T/$name.mscap" >/dev/null 2>"$T/err"; then
		agree "$T/$name.mscap" "profile $*"
	else
		fail "profile $*: failed"; head -3 "$T/err"
	fi
}
profile default --seed 3 --device ref:state=2M --device ref:iface=virtio
profile faults --seed 5 --device ref:fault=report@1 --device ref:iface=virtio,fault=wr_read@2
profile fault3 --seed 6 --device ref:fault=report@3,state=4M
profile hidden --seed 7 --device ref:iface=virtio,fault=wr_count@1 --device ref:hide=16

for seed in 1 2 3 4; do
	python3 tests/reader/mkcap.py "$T/odd$seed.mscap" $seed
	agree "$T/odd$seed.mscap" "awkward records, seed $seed"
done

# damage: both refuse, with an error naming the file and offset
refuse() {
	local cap=$1 what=$2
	"$MIGSCOPE" replay "$cap" --json >/dev/null 2>"$T/err.c"
	local c=$?
	python3 "$R" "$cap" >/dev/null 2>"$T/err.p"
	local p=$?
	if [ $c -eq 1 ] && [ $p -eq 1 ] && grep -q ': offset [0-9]*: ' "$T/err.p"; then
		ok "$what: both refuse ($(cat "$T/err.p"))"
	else
		fail "$what: migscope exit $c, reader exit $p"; cat "$T/err.c" "$T/err.p" | head -4
	fi
}
cap=$T/odd1.mscap
size=$(stat -c %s "$cap")
head -c $((size - 8)) "$cap" >"$T/cut.mscap"
refuse "$T/cut.mscap" "cut short"
head -c $((size - 24)) "$cap" >"$T/noend.mscap"
refuse "$T/noend.mscap" "no end marker"
cp "$cap" "$T/flip.mscap"
printf '\x55' | dd of="$T/flip.mscap" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
refuse "$T/flip.mscap" "a flipped byte"
{ cat "$cap"; printf '\0\0\0\0\0\0\0\0'; } >"$T/tail.mscap"
refuse "$T/tail.mscap" "bytes after the end marker"
python3 - "$cap" "$T/flags.mscap" <<'EOF'
import struct, sys
sys.path.insert(0, "tests/reader")
from msread import crc32c
d = bytearray(open(sys.argv[1], "rb").read())
struct.pack_into("<I", d, 20, 1)                    # flags = 1
struct.pack_into("<I", d, 24, crc32c(bytes(d[:24])))  # with a good header CRC
open(sys.argv[2], "wb").write(d)
EOF
refuse "$T/flags.mscap" "header flags set"

# a real QEMU 7.2 migration (TCG, loopback), watched and recorded
qemu=$(command -v qemu-system-x86_64 || true)
guest=$BUILD/guest/guest.elf
if [ -z "$qemu" ] || [ ! -f "$guest" ]; then
	echo "SKIP real QEMU: qemu-system-x86_64 or $guest missing (scripts/setup.sh, make)"
else
	echo "QEMU: $("$qemu" --version | head -1)"
	pids=()
	trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$T"' EXIT
	common=(-nodefaults -no-user-config -display none -machine pc -accel tcg -m 128
		-kernel "$guest" -append "ws=16M rate=1000")
	"$qemu" "${common[@]}" -serial "file:$T/dst-serial" -qmp "unix:$T/dst.qmp,server=on,wait=off" \
		-incoming "unix:$T/mig.sock" 2>"$T/dst.err" &
	pids+=($!)
	read -ra trace < <(scripts/qemu-trace-args.sh --unquoted "$T/src.log")
	"$qemu" "${common[@]}" -serial "file:$T/src-serial" -qmp "unix:$T/src.qmp,server=on,wait=off" \
		-qmp "unix:$T/watch.qmp,server=on,wait=off" "${trace[@]}" 2>"$T/src.err" &
	pids+=($!)
	for _ in $(seq 200); do grep -q 'migscope-guest: ready' "$T/src-serial" 2>/dev/null && break; sleep 0.1; done
	"$MIGSCOPE" watch --qmp "$T/watch.qmp" --qemu-log "$T/src.log" --downtime-limit 300ms \
		--bandwidth 32M/s --timeout 90s --json --record "$T/qemu.mscap" >"$T/watch.json" 2>"$T/watch.err" &
	watch=$!
	for _ in $(seq 200); do grep -q 'migscope: watching QEMU' "$T/watch.err" && break; sleep 0.1; done
	python3 - "$T/src.qmp" "$T/mig.sock" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
f.readline()
for cmd in ({"execute": "qmp_capabilities"},
            {"execute": "migrate", "arguments": {"uri": "unix:" + sys.argv[2]}}):
    f.write(json.dumps(cmd) + "\n")
    f.flush()
    while "return" not in (reply := json.loads(f.readline())) and "error" not in reply:
        pass
EOF
	if wait $watch; then
		ok "watch of a real QEMU 7.2 migration"
		agree "$T/qemu.mscap" "real QEMU 7.2 migration"
	else
		fail "watch of a real QEMU 7.2 migration failed"; tail -3 "$T/watch.err"
	fi
	kill "${pids[@]}" 2>/dev/null
	wait "${pids[@]}" 2>/dev/null
fi
# real QEMU 7.2.22 and 10.0.2 migrations of the corpus, imported (session source `import`)
for r in q72-converge-many q10-limit-raised; do
	f=tests/fixtures/corpus/$r
	if "$MIGSCOPE" import --qemu-log "$f/src.log" --dst-qemu-log "$f/dst.log" \
		--qmp-transcript "$f/qmp.jsonl" --record "$T/$r.mscap" >/dev/null 2>"$T/err"; then
		agree "$T/$r.mscap" "imported $r"
	else
		fail "import of $r failed"; head -3 "$T/err"
	fi
done

finish
