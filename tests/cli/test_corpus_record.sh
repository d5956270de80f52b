#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The corpus recorder (scripts/corpus/record.py) against the real QEMUs, 7.2.22 and 10.0.2:
#   - under TCG (runs everywhere): --accel tcg records converge-8m with query-kvm saying
#     enabled false and no dirty-rate command (QEMU 7.2 exits on a dirty-bitmap calc-dirty-rate
#     under TCG), "accel": "tcg" and -accel tcg in both command lines;
#   - under KVM (kernel 6.12 here; skipped with the reason where /dev/kvm does not work):
#     --accel auto says it picked KVM, and the run's transcript follows a live watch's sampling
#     schedule (query-kvm right after qmp_capabilities, dirty-bitmap windows of 1 s on 7.2, 250
#     and 1000 ms in turn on 10.0, asked for and read back in milliseconds, at least one
#     measured), imports without a bad line and replays completed with QMP's downtime;
#   - with the dirty ring on (-accel kvm,dirty-ring-size=4096) QEMU refuses dirty-bitmap and
#     the sampler goes on in dirty-ring mode; any other error stops it with one warning naming
#     QEMU's reason.
. "$(dirname "$0")/lib.sh"
REC=scripts/corpus/record.py
GUEST=build/guest/guest.elf
if [ ! -f "$GUEST" ]; then
	echo "SKIP test_corpus_record: $GUEST is not built (make build-tests)"
	finish
fi
if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "SKIP test_corpus_record: QEMU 7.2 (qemu-system-x86_64) is not installed"
	finish
fi
tags=(q72)
if scripts/qemu10.sh >/dev/null 2>&1; then
	tags+=(q10)
else
	echo "SKIP test_corpus_record q10: QEMU 10.0 is not available (scripts/qemu10.sh)"
fi

# check_run DIR VERSION ACCEL: the recorded run's outcome, command lines and schedule
check_run() {
	local d=$1 v=$2 accel=$3 o=$1/outcome.json
	jq -e --arg a "$accel" '.accel == $a and .outcome == "completed" and
		([.command_lines[] | [.[]] | index(["-accel", $a]) | select(. != null)] | length) == 2' \
		"$o" >/dev/null && ok "$v $accel: completed, accel $accel in outcome.json and both command lines" ||
		fail "$v $accel: $(jq -c '{accel, outcome}' "$o")"
	jq -se '
		[.[] | select(.dir == "send") | .msg.execute] | index("query-kvm") == 1' "$d/qmp.jsonl" \
		>/dev/null && ok "$v $accel: query-kvm right after qmp_capabilities" ||
		fail "$v $accel: no query-kvm after qmp_capabilities"
	if [ "$accel" = tcg ]; then
		jq -se '[.[] | .msg.return | objects | select(has("enabled"))][0].enabled == false and
			([.[] | select(.msg.execute == "calc-dirty-rate" or
			  .msg.execute == "query-dirty-rate")] | length) == 0' "$d/qmp.jsonl" >/dev/null &&
			ok "$v tcg: query-kvm says disabled, no dirty-rate command" ||
			fail "$v tcg: dirty-rate commands under TCG"
		return
	fi
	jq -se --arg v "$v" '[.[] | select(.dir == "send") | .msg | select(.execute ==
		"calc-dirty-rate") | .arguments] as $c | ($c | length) >= 1 and
		($c | all(.mode == "dirty-bitmap")) and
		if ($v | startswith("7.")) then ($c | all(."calc-time" == 1 and ."calc-time-unit" == null))
		else ($c | to_entries | all(.value."calc-time-unit" == "millisecond" and
			.value."calc-time" == (if .key % 2 == 0 then 250 else 1000 end))) end and
		([.[] | select(.dir == "send") | .msg | select(.execute == "query-dirty-rate") |
		  .arguments."calc-time-unit"] |
		 all(. == (if ($v | startswith("7.")) then null else "millisecond" end)))' \
		"$d/qmp.jsonl" >/dev/null && ok "$v kvm: dirty-bitmap windows of the schedule" ||
		fail "$v kvm: $(jq -sc '[.[] | .msg | select(.execute == "calc-dirty-rate") | .arguments]' \
			"$d/qmp.jsonl")"
	jq -se '[.[] | .msg.return | objects | select(.status == "measured")] | length >= 1' \
		"$d/qmp.jsonl" >/dev/null && ok "$v kvm: a dirty rate measured" ||
		fail "$v kvm: no measured dirty rate"
	expect_exit 0 "$v kvm: import" -- "$MIGSCOPE" import --qemu-log "$d/src.log" \
		--dst-qemu-log "$d/dst.log" --qmp-transcript "$d/qmp.jsonl" --record "$T/k.mscap" --json
	jq -e '[.inputs[] | select(.input == "qmp")][0].bad_lines == 0' "$T/out" >/dev/null &&
		ok "$v kvm: the transcript imports without a bad line" || fail "$v kvm: $(cat "$T/out")"
	expect_exit 0 "$v kvm: replay" -- "$MIGSCOPE" replay "$T/k.mscap" --json
	jq -e --argjson d "$(jq .qmp_downtime_ms "$o")" '.migration.status == "completed" and
		.migration.qmp_downtime_ms == $d' "$T/out" >/dev/null &&
		ok "$v kvm: replays completed with QMP's downtime" ||
		fail "$v kvm: $(jq -c '.migration | {status, qmp_downtime_ms}' "$T/out")"
}

declare -A version=([q72]=7.2.22 [q10]=10.0.2)
for tag in "${tags[@]}"; do
	expect_exit 0 "${version[$tag]} tcg: record $tag-converge-8m" -- \
		nice -n 10 python3 "$REC" --accel tcg --out "$T/tcg" --only "$tag-converge-8m"
	[ -f "$T/tcg/$tag-converge-8m/outcome.json" ] &&
		check_run "$T/tcg/$tag-converge-8m" "${version[$tag]}" tcg
done

# KVM: /dev/kvm opens read-write and QEMU starts with it (what --accel auto asks)
if ! kvm_why=$(python3 -c 'import os; os.close(os.open("/dev/kvm", os.O_RDWR))' 2>&1); then
	echo "SKIP test_corpus_record kvm: /dev/kvm does not open read-write: ${kvm_why##*: }"
	finish
fi
if ! echo quit | qemu-system-x86_64 -nodefaults -display none -machine none -accel kvm \
	-monitor stdio >/dev/null 2>"$T/kvm.err"; then
	echo "SKIP test_corpus_record kvm: QEMU does not start with -accel kvm: $(tail -n1 "$T/kvm.err")"
	finish
fi
for tag in "${tags[@]}"; do
	expect_exit 0 "${version[$tag]} kvm: record $tag-converge-16m, --accel auto" -- \
		nice -n 10 python3 "$REC" --out "$T/kvm" --only "$tag-converge-16m"
	expect_grep '^record: recording under KVM$' "$T/err" "${version[$tag]}: --accel auto says KVM"
	[ -f "$T/kvm/$tag-converge-16m/outcome.json" ] &&
		check_run "$T/kvm/$tag-converge-16m" "${version[$tag]}" kvm
done

# the dirty ring: dirty-bitmap refused, dirty-ring measured; another error stops the sampling
cat >"$T/ring.py" <<'EOF'
import os, subprocess, sys, time
sys.path.insert(0, "scripts/corpus")
import record
tag, d = sys.argv[1], sys.argv[2]
qemu, fw = {t: (b, f) for t, b, f in record.qemus()}[tag]
p = subprocess.Popen([qemu] + fw + ["-nodefaults", "-display", "none", "-machine", "pc",
                     "-accel", "kvm,dirty-ring-size=4096", "-m", "128", "-kernel",
                     "build/guest/guest.elf", "-append", "ws=2M rate=0",
                     "-qmp", "unix:%s/q,server=on,wait=off" % d])
try:
    q = record.Qmp(d + "/q", d + "/t.jsonl")
    s = record.Sampler(q, tag + "-ring")
    s.tick("active")
    deadline = time.time() + 10
    while not s.samples and s.on and time.time() < deadline:
        time.sleep(0.1)
        s.tick("active")
    print("ring", s.mode, len(s.samples), s.samples[0][2] if s.samples else None)
    # any other error: one warning with QEMU's reason, sampling stops
    s.mode = "no-such-mode"
    s._calc()
    print("after", s.on)
    q.close()
finally:
    p.terminate()
    p.wait(10)
EOF
for tag in "${tags[@]}"; do
	v=${version[$tag]}
	mkdir -p "$T/ring-$tag"
	expect_exit 0 "$v kvm dirty ring: sampler" -- timeout 60 python3 "$T/ring.py" "$tag" "$T/ring-$tag"
	grep -Eq '^ring dirty-ring 1 [0-9]+$' "$T/out" && grep -q '^after False$' "$T/out" &&
		ok "$v kvm dirty ring: refused dirty-bitmap, measured $(awk '/^ring/ { print $4 }' "$T/out") MiB/s in dirty-ring mode" ||
		fail "$v kvm dirty ring: $(cat "$T/out")"
	expect_grep 'mode dirty-bitmap is not enabled' "$T/ring-$tag/t.jsonl" \
		"$v kvm dirty ring: QEMU's refusal in the transcript"
	[ "$(grep -c 'warning: calc-dirty-rate failed, dirty-rate sampling stops' "$T/err")" = 1 ] &&
		grep -q "no-such-mode" "$T/err" && ok "$v: another error: one warning with QEMU's reason" ||
		fail "$v: the warning: $(cat "$T/err")"
done
finish
