#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The man pages (build/man, generated from --help by scripts/helpdoc.py): one
# for migscope and each command, rendered by man and groff without warnings,
# every option and example of --help in it, installed by make install.
. "$(dirname "$0")/lib.sh"
B=${MIGSCOPE_BUILD:-build}
MAN=$B/man

if ! command -v groff >/dev/null || ! command -v man >/dev/null; then
	echo "SKIP: man pages: groff or man (man-db) not installed (scripts/setup.sh installs them)"
	exit 0
fi

# the options of a --help text, read here on their own (not by helpdoc.py): an
# option line starts with 2-6 spaces and a dash
help_options() {
	grep -oE '^ {2,6}(-[A-Za-z], )?--[a-z0-9][a-z0-9-]*' "$1" | tr -d ',' | tr ' ' '\n' |
		grep -v '^$' | sort -u
}
# the option tags of a man page (the line after .TP), roff escapes undone
man_tags() {
	awk '/^\.TP/ { getline; print }' "$1" | sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' |
		tr ' ,' '\n\n' | grep -E '^-' | sort -u
}
# the page as plain text: roff escapes undone, for finding the examples
man_source() {
	sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\e/\\/g' -e 's/^\\&//' "$1"
}

# check_page NAME HELP PAGE: 0 if PAGE is a good page for HELP; says why not
check_page() {
	local name=$1 help=$2 page=$3 missing bad=0 o
	[ -s "$page" ] || { echo "no page $page"; return 1; }
	missing=$(comm -23 <(help_options "$help") <(man_tags "$page"))
	[ -z "$missing" ] || { echo "$name: options of --help missing from $page:" $missing; bad=1; }
	while IFS= read -r o; do
		grep -qF -- "$o" <(man_source "$page") ||
			{ echo "$name: example missing from $page: $o"; bad=1; }
	done < <(awk '/^Examples:/ { on = 1; next } /^$/ { on = 0 } on { sub(/^ +/, ""); print }' "$help")
	return $bad
}

cmds=$("$MIGSCOPE" --help | awk '/^Commands:/ { on = 1; next } /^$/ { on = 0 } on { print $1 }')
[ -n "$cmds" ] || fail "no commands in migscope --help"
"$MIGSCOPE" --help >"$T/help"
for page in migscope $(printf 'migscope-%s\n' $cmds); do
	if [ "$page" = migscope ]; then
		"$MIGSCOPE" --help >"$T/help"
	else
		"$MIGSCOPE" "${page#migscope-}" --help >"$T/help"
	fi
	f=$MAN/$page.8
	if why=$(check_page "$page" "$T/help" "$f"); then
		ok "$page(8): every option and example of --help"
	else
		fail "$why"
		continue
	fi
	w=$(groff -ww -z -man "$f" 2>&1)
	[ -z "$w" ] && ok "$page(8): groff -ww: no warnings" || fail "$page(8): groff: $w"
	w=$(MANWIDTH=80 man --warnings -l "$f" 2>&1 >"$T/rendered")
	[ -z "$w" ] && ok "$page(8): man --warnings: no warnings" || fail "$page(8): man: $w"
	grep -q '^NAME' "$T/rendered" && grep -q "^ *${page//-/.}" "$T/rendered" &&
		ok "$page(8): renders with its NAME" || fail "$page(8): rendering has no NAME"
done
# no page for a command that is gone
for f in "$MAN"/*.8; do
	p=$(basename "$f" .8)
	[ "$p" = migscope ] || grep -qx "${p#migscope-}" <<<"$cmds" || fail "stale man page $f"
done

# the check above catches an option added to --help and not to the page
"$MIGSCOPE" replay --help | sed 's/^\(Options:\)$/\1\n      --brand-new FILE  an option no page has/' >"$T/help"
if why=$(check_page migscope-replay "$T/help" "$MAN/migscope-replay.8"); then
	fail "an option missing from the page went unnoticed"
else
	grep -q -- '--brand-new' <<<"$why" && ok "an option missing from the page is named" ||
		fail "wrong complaint: $why"
fi

# make install puts them under PREFIX/share/man/man8 (and the completion beside)
if command -v make >/dev/null && [ -f Makefile ]; then
	if make -s --no-print-directory install BUILD="$B" DESTDIR="$T/root" PREFIX=/usr \
		>"$T/install.log" 2>&1; then
		n=$(ls "$T/root/usr/share/man/man8" | wc -l)
		want=$(($(wc -w <<<"$cmds") + 1))
		[ "$n" -eq "$want" ] && ok "make install: $n man pages in PREFIX/share/man/man8" ||
			fail "make install: $n man pages, want $want"
		[ -s "$T/root/usr/share/bash-completion/completions/migscope" ] &&
			ok "make install: the bash completion" || fail "make install: no bash completion"
		MANPATH="$T/root/usr/share/man" MANWIDTH=80 man 8 migscope-replay 2>/dev/null |
			grep -q 'migscope-replay' && ok "man finds an installed page by name" ||
			fail "man 8 migscope-replay: not found under the installed MANPATH"
	else
		fail "make install failed:"; tail -5 "$T/install.log"
	fi
fi
finish
