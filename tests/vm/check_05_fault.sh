#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# VM check 5, fault path (kernel 6.12's mtty driver refusing a resume): an
# mtty-2 source migrated into an mtty-1 destination.  mtty checks the header
# of the stream it resumes and refuses a state saved from a device with
# another number of ports, on the first pre-copy bytes, while the source is
# in PRE_COPY.  Then:
#   - profile exits non-zero with one line naming the destination, the
#     driver's refusal and the rollback;
#   - every device is rolled back: the kernel says both are RUNNING, and the
#     capture's timelines end in RUNNING;
#   - the report of the capture says the session failed and why: its status,
#     and session.error is the line profile printed;
#   - nothing is lost: the same source migrates into a good destination
#     afterwards, its data verified.
. /checks/lib.sh

SRC_UUID=8c5c9f3e-5a4e-4c2b-9a53-000000000501
BAD_UUID=8c5c9f3e-5a4e-4c2b-9a53-000000000502
GOOD_UUID=8c5c9f3e-5a4e-4c2b-9a53-000000000503
trap 'mtty_remove $SRC_UUID; mtty_remove $BAD_UUID; mtty_remove $GOOD_UUID' EXIT
src=$(mtty_create mtty-2 $SRC_UUID) || skip "no mtty-2 mdev type (CONFIG_SAMPLE_VFIO_MDEV_MTTY)"
bad=$(mtty_create mtty-1 $BAD_UUID) || fail "failed to create an mtty-1 device"
good=$(mtty_create mtty-2 $GOOD_UUID) || fail "failed to create a second mtty-2 device"
say "source $src (mtty-2), refusing destination $bad (mtty-1), good destination $good (mtty-2)"

"$MIGSCOPE" profile --device "vfio:$src,dest=$bad,name=src" --record "$T/fail.mscap" --json \
	>"$T/r.json" 2>"$T/err"
rc=$?
show "$T/err"
[ $rc -ne 0 ] || fail "profile into a refusing destination exited 0"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "expected one line on stderr, got $(wc -l <"$T/err")"
grep -q 'src\.dst: ' "$T/err" || fail "the error does not name the destination: $(cat "$T/err")"
grep -q 'every device rolled back to RUNNING$' "$T/err" || fail "the error does not say the devices were rolled back"

/usr/bin/vm_mig_state "$src" "$bad" >"$T/state" 2>&1 || { show "$T/state"; fail "vm_mig_state failed"; }
show "$T/state"
[ "$(grep -c ' RUNNING$' "$T/state")" -eq 2 ] || fail "not rolled back: $(tr '\n' ' ' <"$T/state")"

"$MIGSCOPE" replay "$T/fail.mscap" --json >"$T/replay.json" 2>"$T/replay.err" ||
	{ show "$T/replay.err"; fail "the failed run's capture does not replay"; }
status=$(jq '.session.status' "$T/replay.json")
say "capture: session status $status"
[ "$status" -lt 0 ] 2>/dev/null || fail "the report does not say the session failed (status $status)"
why=$(jq -r '.session.error' "$T/replay.json")
[ "migscope: profile: $why" = "$(cat "$T/err")" ] || fail "the report's session.error '$why' is not the error printed"
for role in source destination; do
	last=$(jq -r ".devices[] | select(.role == \"$role\") | .timeline[-1].to" "$T/replay.json")
	say "$role timeline: $(jq -r ".devices[] | select(.role == \"$role\") |
		[.timeline[] | \"\(.from)->\(.to)\(if .err != 0 then \"(\(.err))\" else \"\" end)\"] | join(\" \")" \
		"$T/replay.json")"
	[ "$last" = RUNNING ] || fail "the $role's timeline ends in $last, not RUNNING"
done

"$MIGSCOPE" profile --device "vfio:$src,dest=$good" >"$T/again" 2>&1 ||
	{ show "$T/again"; fail "the source could not migrate after the rollback"; }
grep -q 'data verified intact' "$T/again" || fail "the second migration's data was not verified"
pass "mtty refused the resume ($(sed 's/^migscope: //' "$T/err" | cut -c1-90)); rolled back to RUNNING, status $status; the source migrated afterwards"
