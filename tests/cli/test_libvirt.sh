#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# watch --domain against a real libvirt: Debian 12's libvirtd 9.0.0, started
# here as a session daemon of its own (as nobody when run as root: a private
# socket, configuration and state under $T, nothing of the system's touched),
# runs a TCG domain (type='qemu', QEMU 7.2.22) booting the test guest of
# tests/guest.  `virsh save` drives a real migration stream to a file while
# `watch --domain NAME --connect URI` follows it through libvirt's monitor
# passthrough; then SIGTERM, the domain destroyed and the daemon killed under a watch,
# and the errors a watch can meet before it starts (the URI refused, no such
# domain, the domain not running, a monitor command QEMU refuses).  Skips, saying why, where
# libvirt is not built in or its daemon, QEMU or the guest is missing.
. "$(dirname "$0")/lib.sh"
BUILD=${MIGSCOPE_BUILD:-build}
GUEST=$BUILD/guest/guest.elf
NAME=mstest

skip() { echo "SKIP test_libvirt: $*"; exit 0; }
# jtrue [jq options] FILTER FILE: FILTER is true of FILE, which is not empty (jq 1.6's -e
# says yes to an empty file)
jtrue() { [ -s "${*: -1}" ] && jq -e "$@" >/dev/null; }

built=$("$MIGSCOPE" features --json 2>/dev/null | jq -r '.libvirt.version // empty')
[ -n "$built" ] || skip "migscope built without libvirt (scripts/setup.sh installs libvirt-dev)"
[ -x /usr/sbin/libvirtd ] || skip "no /usr/sbin/libvirtd (libvirt-daemon-driver-qemu)"
command -v virsh >/dev/null || skip "no virsh (libvirt-clients)"
command -v qemu-system-x86_64 >/dev/null || skip "no qemu-system-x86_64"
[ -f "$GUEST" ] || skip "the test guest $GUEST is not built (make build-tests)"

# the daemon's own tree; as root it runs as nobody (libvirtd as root is the system daemon)
LV=$T/lv
mkdir -p "$LV/h/.config/libvirt" "$LV/run"
# QEMU's stdout and stderr to a file rather than through virtlogd, which is not running here
echo 'stdio_handler = "file"' >"$LV/h/.config/libvirt/qemu.conf"
cp "$GUEST" "$LV/guest.elf"
as_user=()
if [ "$(id -u)" -eq 0 ]; then
	chmod 755 "$T"
	chown -R nobody:"$(id -gn nobody)" "$LV"
	as_user=(setpriv --reuid=nobody --regid="$(id -gn nobody)" --clear-groups)
fi
chmod 700 "$LV/run"
URI="qemu:///session?socket=$LV/run/libvirt/libvirt-sock"
daemon=
cleanup() {
	local pid
	virsh -c "$URI" destroy "$NAME" >/dev/null 2>&1
	# a QEMU whose daemon was killed is stopped by its pid file
	pid=$(cat "$LV/run/libvirt/qemu/run/$NAME.pid" 2>/dev/null) && kill "$pid" 2>/dev/null
	[ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

start_daemon() {
	"${as_user[@]}" env -i PATH=/usr/sbin:/usr/bin:/bin HOME="$LV/h" XDG_RUNTIME_DIR="$LV/run" \
		XDG_CONFIG_HOME="$LV/h/.config" XDG_CACHE_HOME="$LV/h/.cache" \
		/usr/sbin/libvirtd >>"$LV/libvirtd.log" 2>&1 &
	daemon=$!
	for _ in $(seq 100); do
		virsh -c "$URI" version >/dev/null 2>&1 && return 0
		kill -0 "$daemon" 2>/dev/null || break
		sleep 0.1
	done
	return 1
}
start_daemon || skip "libvirtd did not start: $(grep -m1 error "$LV/libvirtd.log")"
ok "libvirtd $(virsh -c "$URI" version 2>/dev/null | sed -n 's/.*libvirt \([0-9.]*\)$/\1/p' | head -1) as a session daemon at $URI"

# the errors before a watch begins: one line each, naming what
one_error() { # one_error DESCRIPTION PATTERN -- args...
	local what=$1 pat=$2; shift 3
	expect_exit 1 "$what" -- "$MIGSCOPE" watch "$@"
	expect_lines 1 "$T/err" "$what: one line"
	expect_grep "$pat" "$T/err" "$what: says which"
}
one_error "URI refused" "failed to connect to libvirt at qemu:///session\?socket=$T/none" -- \
	--domain "$NAME" --connect "qemu:///session?socket=$T/none"
one_error "unknown domain" "no libvirt domain '$NAME' at qemu:///session" -- \
	--domain "$NAME" --connect "$URI"

cat >"$T/dom.xml" <<EOF
<domain type='qemu'>
  <name>$NAME</name>
  <memory unit='MiB'>192</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$LV/guest.elf</kernel>
    <cmdline>ws=96M rate=2000</cmdline>
  </os>
  <devices>
    <emulator>$(command -v qemu-system-x86_64)</emulator>
    <serial type='file'><source path='$LV/serial.txt'/><target port='0'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
virsh -c "$URI" define "$T/dom.xml" >/dev/null 2>"$T/err" || { fail "define: $(cat "$T/err")"; finish; }
one_error "domain not running" "libvirt domain '$NAME' at .* is not running" -- \
	--domain "$NAME" --connect "$URI"

LIBVIRT_DEFAULT_URI=$URI "$MIGSCOPE" features --json >"$T/features.json" 2>/dev/null
if [ "$(jq -r '.libvirt.available' "$T/features.json")" = true ]; then
	ok "features: libvirt $(jq -r .libvirt.version "$T/features.json") available at \$LIBVIRT_DEFAULT_URI"
else
	fail "features: libvirt not available: $(jq -c .libvirt "$T/features.json")"
fi

start_guest() {
	rm -f "$LV/serial.txt"
	virsh -c "$URI" start "$NAME" >/dev/null 2>"$T/err" || { fail "start: $(cat "$T/err")"; return 1; }
	for _ in $(seq 200); do
		grep -q 'migscope-guest: ready' "$LV/serial.txt" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "the guest did not say it is ready"
	return 1
}

# start_watch NAME: watch the domain in the background, wait until it watches
start_watch() {
	"$MIGSCOPE" watch --domain "$NAME" --connect "$URI" --interval 20ms --timeout 60s --json \
		--record "$T/$1.mscap" >"$T/$1.json" 2>"$T/$1.err" &
	watch=$!
	for _ in $(seq 100); do
		grep -qs 'migscope: watching QEMU' "$T/$1.err" && return 0
		kill -0 $watch 2>/dev/null || break
		sleep 0.1
	done
	fail "$1: the watch did not begin: $(head -3 "$T/$1.err")"
	return 1
}

# --- a save: a real migration stream, to a file --------------------------------------------
start_guest || finish
# a monitor command QEMU refuses, through libvirt: beyond QEMU's 2000 s downtime limit
one_error "monitor command refused" \
	"libvirt domain '$NAME' .*: migrate-set-parameters failed: .*downtime" -- \
	--domain "$NAME" --connect "$URI" --downtime-limit 3000s
start_watch save || finish
virsh -c "$URI" save "$NAME" "$LV/save.img" >/dev/null 2>"$T/err" || fail "virsh save: $(cat "$T/err")"
wait $watch
rc=$?
R=$T/save.json
if [ $rc -ne 0 ] || ! jtrue . "$R" >/dev/null 2>&1; then
	fail "save: watch exit $rc"; sed 's/^/    err: /' "$T/save.err" | head -5
else
	ok "save: the watch ended with the migration, exit 0"
	expect_grep "watching QEMU 7\.2\.[0-9]+ of libvirt domain '$NAME'" "$T/save.err" \
		"save: QEMU 7.2 through libvirt"
	jtrue --arg n "$NAME" '.session.vm == $n' "$R" >/dev/null &&
		ok "save: session.vm is the domain" || fail "save: session.vm $(jq .session.vm "$R")"
	jtrue '.migration.status == "completed"' "$R" >/dev/null &&
		ok "save: migration completed" || fail "save: migration $(jq .migration.status "$R")"
	# virsh save pauses the guest first: the downtime runs from that STOP to the end
	jtrue '.migration.downtime_ms > 0 and .events.by_type.runstate >= 1' "$R" >/dev/null &&
		ok "save: downtime $(jq .migration.downtime_ms "$R") ms from the save's STOP (QEMU's own: $(jq .migration.qmp_downtime_ms "$R") ms)" ||
		fail "save: no downtime: $(jq -c '[.migration.downtime_ms, .events.by_type]' "$R")"
	jtrue '.events.by_type.pass >= 1 and .events.by_type.mig_stats >= 2 and
		.events.by_type.qemu_pending >= 1' "$R" >/dev/null &&
		ok "save: passes, query-migrate samples and pending bytes ($(jq -c '.events.by_type | {pass, mig_stats, qemu_pending}' "$R"))" ||
		fail "save: too few samples: $(jq -c .events.by_type "$R")"
	jtrue '.migration.total_ms > 0' "$R" >/dev/null &&
		ok "save: QEMU's total time $(jq .migration.total_ms "$R") ms" ||
		fail "save: no total time: $(jq -c .migration "$R")"
fi
# libvirt saw the commands go through its monitor passthrough, and says so in the domain's log
expect_grep 'tainted: custom-monitor' "$LV/h/.cache/libvirt/qemu/log/$NAME.log" \
	"save: libvirt logged the monitor passthrough (custom-monitor)"
"$MIGSCOPE" replay "$T/save.mscap" --json >"$T/replay.json" 2>"$T/err"
jtrue --arg n "$NAME" '.session.vm == $n' "$T/replay.json" >/dev/null &&
	ok "save: the replay names the VM too" || fail "save: replay's session.vm $(jq .session.vm "$T/replay.json")"
"$MIGSCOPE" replay "$T/save.mscap" >"$T/replay.txt" 2>"$T/err"
expect_grep "^session: watch of VM $NAME on " "$T/replay.txt" "save: the table names the VM"

# --- SIGTERM: the watch's loop takes it, not libvirt's thread -----------------------------
start_guest || finish
start_watch term || finish
kill -TERM $watch
wait $watch
rc=$?
[ $rc -eq 0 ] && ok "SIGTERM: exit 0" || fail "SIGTERM: exit $rc"
expect_grep 'interrupted \(Terminated\); report from what was seen' "$T/term.err" \
	"SIGTERM: the report from what was seen"
jtrue '.session.complete and .session.error == null' "$T/term.json" >/dev/null &&
	ok "SIGTERM: a complete report without an error" || fail "SIGTERM: $(jq -c .session "$T/term.json")"

# --- the domain destroyed under a watch --------------------------------------------------
start_watch destroy || finish
virsh -c "$URI" destroy "$NAME" >/dev/null 2>&1
wait $watch
rc=$?
[ $rc -eq 1 ] && ok "destroy: exit 1" || fail "destroy: exit $rc"
# libvirt's lifecycle event, or a monitor command failing first as QEMU goes (a real race)
stopped="libvirt domain '$NAME' stopped \\(destroyed\\)|libvirt domain '$NAME' .*: query-migrate failed: libvirt: "
expect_grep "($stopped).*; report from what was seen" "$T/destroy.err" "destroy: says the domain went"
jtrue --arg re "$stopped" '.session.error | test($re)' "$T/destroy.json" >/dev/null &&
	ok "destroy: the report's session.error says so ($(jq .session.error "$T/destroy.json"))" ||
	fail "destroy: session.error $(jq .session.error "$T/destroy.json")"
jtrue '.events.by_type.loss == 1' "$T/destroy.json" >/dev/null &&
	ok "destroy: a loss recorded" || fail "destroy: $(jq -c .events.by_type "$T/destroy.json")"

# --- the daemon killed under a watch: the connection closes ------------------------------
start_guest || finish
start_watch killed || finish
kill -9 "$daemon"
wait "$daemon" 2>/dev/null
daemon=
wait $watch
rc=$?
[ $rc -eq 1 ] && ok "daemon killed: exit 1" || fail "daemon killed: exit $rc"
expect_grep "libvirt connection to qemu:///session.* closed \(.*\): the monitor's events stopped" \
	"$T/killed.err" "daemon killed: says the connection closed"
jtrue '(.session.error | test("connection .* closed")) and .events.by_type.loss == 1' \
	"$T/killed.json" >/dev/null && ok "daemon killed: session.error and a loss in the report" ||
	fail "daemon killed: $(jq -c '[.session.error, .events.by_type]' "$T/killed.json")"
finish
