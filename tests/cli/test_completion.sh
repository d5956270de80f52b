#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The bash completion (build/completion/migscope, generated from --help by
# scripts/helpdoc.py), driven as bash drives it: COMP_WORDS and COMP_CWORD set,
# the function called, COMPREPLY read.
. "$(dirname "$0")/lib.sh"
COMP=${MIGSCOPE_BUILD:-build}/completion/migscope
[ -s "$COMP" ] || { fail "no completion script $COMP"; finish; }

# complete WORD...: the candidates for the last word, one a line, sorted
complete_words() {
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}; _migscope; printf "%s\n" "${COMPREPLY[@]}"' \
		_ "$COMP" "$@" | grep -v '^$' | sort
}
# same_set DESCRIPTION GOT WANT
same_set() {
	if [ "$2" = "$3" ]; then ok "$1"; else
		fail "$1"; diff <(echo "$2") <(echo "$3") | sed 's/^/    /' | head -10
	fi
}
help_options() {
	grep -oE '^ {2,6}(-[A-Za-z], )?--[a-z0-9][a-z0-9-]*' | tr -d ',' | tr ' ' '\n' |
		grep -v '^$' | sort -u
}

cmds=$("$MIGSCOPE" --help | awk '/^Commands:/ { on = 1; next } /^$/ { on = 0 } on { print $1 }' | sort)
same_set "the commands" "$(complete_words migscope '')" "$cmds"
same_set "a command by its prefix" "$(complete_words migscope re)" "replay"
same_set "migscope's own options" "$(complete_words migscope -)" \
	"$("$MIGSCOPE" --help | help_options)"
for c in $cmds; do
	same_set "$c: every option of its --help" "$(complete_words migscope "$c" -)" \
		"$("$MIGSCOPE" "$c" --help | help_options)"
done
same_set "options after others" "$(complete_words migscope -v replay x.mscap --che)" "--check"

mkdir -p "$T/d"
touch "$T/d/run.mscap" "$T/d/run.log"
same_set "a FILE option completes file names" \
	"$(complete_words migscope watch --qmp s --qemu-log "$T/d/run.l")" "$T/d/run.log"
same_set "--record FILE too" "$(complete_words migscope synth --record "$T/d/")" \
	"$(printf '%s\n' "$T/d/run.log" "$T/d/run.mscap")"
same_set "the capture argument completes file names" \
	"$(complete_words migscope replay "$T/d/run.m")" "$T/d/run.mscap"
same_set "on|off choices" "$(complete_words migscope replay x --switchover-ack '')" \
	"$(printf 'off\non\n')"
same_set "a value that is no file gets nothing" "$(complete_words migscope synth --events '')" ""
same_set "capture's subcommands" "$(complete_words migscope capture '')" \
	"$(printf 'check\nrepair\n')"
same_set "after the subcommand, the file" "$(complete_words migscope capture check "$T/d/run.m")" \
	"$T/d/run.mscap"

# the option forms other commands are about to use, from a stand-in CLI whose
# --help has them: the generator must see every one, as man and completion
cat >"$T/fake" <<'FAKE'
#!/bin/sh
case "$1" in
--help) printf 'Usage: migscope <command>\n\nCommands:\n  watch      watch it\n\nOptions:\n  -h, --help  this help\n' ;;
watch) printf 'Usage: migscope watch [options]\n\nWatch.\n\nOptions:\n      --listen ADDR:PORT  serve /metrics\n      --events-json FILE|-  one object a line\n      --label k=v     a label\n      --mode auto|on|off  the mode\n      --metrics FILE write it\n  -x, --exact         a flag\n' ;;
-V) echo "migscope 9.9" ;;
esac
FAKE
chmod +x "$T/fake"
if python3 scripts/helpdoc.py completion "$T/fake" "$T/fake.bash" 2>"$T/err"; then
	COMP=$T/fake.bash
	same_set "stand-in: every option form" "$(complete_words migscope watch -)" \
		"$(printf '%s\n' --events-json --exact --label --listen --metrics --mode -x | sort)"
	same_set "stand-in: FILE|- completes file names" \
		"$(complete_words migscope watch --events-json "$T/d/run.l")" "$T/d/run.log"
	same_set "stand-in: auto|on|off" "$(complete_words migscope watch --mode '')" \
		"$(printf 'auto\noff\non\n')"
	same_set "stand-in: ADDR:PORT gets nothing" "$(complete_words migscope watch --listen '')" ""
else
	fail "helpdoc.py completion of the stand-in failed: $(head -1 "$T/err")"
fi
finish
