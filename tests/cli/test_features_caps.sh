#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# migscope features run by an unprivileged user (nobody) on this machine's own
# kernel: granted CAP_BPF and CAP_PERFMON as ambient capabilities (setpriv, as
# README.md "Running without root" says) or as file capabilities (setcap), it
# loads and attaches what root does; without them it names each missing
# capability with the kernel's own answer and exits 1.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP test_features_caps: needs root to become nobody with capabilities"
	exit 0
fi
for t in setpriv setcap; do
	command -v $t >/dev/null || { echo "SKIP test_features_caps: no $t (util-linux, libcap2-bin)"; exit 0; }
done
id nobody >/dev/null 2>&1 || { echo "SKIP test_features_caps: no user nobody"; exit 0; }
grp=$(id -gn nobody)

# a copy nobody can run, in a directory nobody can read
chmod 755 "$T"
cp "$MIGSCOPE" "$T/migscope"
chmod 755 "$T/migscope"
# as_nobody CAPS CMD...: run as nobody with CAPS ("" for none) inheritable and ambient
as_nobody() {
	local caps=$1; shift
	setpriv --reuid=nobody --regid="$grp" --clear-groups \
		${caps:+--inh-caps "$caps" --ambient-caps "$caps"} -- "$@"
}
expect_jq() {
	if jq -e "$1" "$T/out" >/dev/null; then ok "$2"; else fail "$2: not ($1)"; head -c 600 "$T/out"; fi
}
cd "$T" || exit 1

expect_exit 0 "root: features --json" -- "$T/migscope" features --json
expect_jq '.bpf_usable and ([.privileges[] | select(.need == "required" and
	(.effective | not))] | length == 0)' "root has every required capability"
jq -c '[.collectors[] | {name, state}]' "$T/out" >"$T/root.states"

# without capabilities
expect_exit 1 "nobody: features --json exits 1" -- as_nobody "" "$T/migscope" features --json
expect_jq '.bpf_usable == false' "nobody: BPF not usable"
for c in CAP_BPF CAP_PERFMON; do
	expect_jq ".privileges[] | select(.capability == \"$c\") |
		.effective == false and .need == \"required\" and .kernel == \"Operation not permitted\"" \
		"nobody: $c missing, with the kernel's answer"
done
expect_jq '.collectors == []' "nobody: no collector listed as loaded"
[ "$(jq -s length "$T/out")" = 1 ] && ok "nobody: one JSON document" ||
	fail "nobody: stdout is not one JSON document"
expect_exit 1 "nobody: features (table)" -- as_nobody "" "$T/migscope" features
expect_grep '^missing CAP_BPF: bpf\(BPF_MAP_CREATE\): Operation not permitted$' "$T/out" \
	"nobody: 'missing CAP_BPF' with the kernel's reason"
expect_grep '^missing CAP_PERFMON: .*: Operation not permitted$' "$T/out" \
	"nobody: 'missing CAP_PERFMON' with the kernel's reason"
expect_lines 1 "$T/err" "nobody: one line on stderr"

# one of the two
expect_exit 1 "nobody +bpf: features" -- as_nobody +bpf "$T/migscope" features
expect_grep '^missing CAP_PERFMON: ' "$T/out" "nobody +bpf: CAP_PERFMON named"
grep -q '^missing CAP_BPF' "$T/out" && fail "nobody +bpf: CAP_BPF named missing" ||
	ok "nobody +bpf: CAP_BPF not named"

# ambient CAP_BPF and CAP_PERFMON: what root has
expect_exit 0 "nobody +bpf,+perfmon: features --json" -- \
	as_nobody +bpf,+perfmon "$T/migscope" features --json
expect_jq '.bpf_usable' "nobody +bpf,+perfmon: BPF usable"
expect_jq '.privileges[] | select(.capability == "CAP_SYS_PTRACE") |
	.effective == false and .need == "optional"' "nobody +bpf,+perfmon: CAP_SYS_PTRACE optional, absent"
jq -c '[.collectors[] | {name, state}]' "$T/out" >"$T/nobody.states"
cmp -s "$T/root.states" "$T/nobody.states" &&
	ok "nobody +bpf,+perfmon: every collector as for root ($(jq '[.[] | select(.state == "attached")] | length' "$T/root.states") attached)" ||
	{ fail "nobody +bpf,+perfmon: collectors differ from root's"; diff "$T/root.states" "$T/nobody.states" | head; }

# file capabilities instead: setcap cap_bpf,cap_perfmon+ep on the binary
cp "$T/migscope" "$T/migscope-fcaps"
if setcap cap_bpf,cap_perfmon+ep "$T/migscope-fcaps" 2>"$T/err"; then
	expect_exit 0 "setcap cap_bpf,cap_perfmon+ep: nobody: features --json" -- \
		as_nobody "" "$T/migscope-fcaps" features --json
	expect_jq '.bpf_usable' "setcap: BPF usable"
	jq -c '[.collectors[] | {name, state}]' "$T/out" | cmp -s - "$T/root.states" &&
		ok "setcap: every collector as for root" || fail "setcap: collectors differ from root's"
else
	echo "SKIP setcap part: $(head -1 "$T/err") (a file system without security xattrs)"
fi

# USDT reaches QEMU through /proc/PID/exe: another user's process needs CAP_SYS_PTRACE
sleep 30 &
pid=$!
as_nobody +bpf,+perfmon head -c 4 "/proc/$pid/exe" >/dev/null 2>&1 &&
	fail "another user's /proc/PID/exe was readable without CAP_SYS_PTRACE" ||
	ok "another user's /proc/PID/exe: refused with CAP_BPF and CAP_PERFMON only"
as_nobody +bpf,+perfmon,+sys_ptrace head -c 4 "/proc/$pid/exe" 2>/dev/null | grep -q ELF &&
	ok "with CAP_SYS_PTRACE it is readable" || fail "CAP_SYS_PTRACE did not open /proc/PID/exe"
kill $pid 2>/dev/null
wait $pid 2>/dev/null
finish
