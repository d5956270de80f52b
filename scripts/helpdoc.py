#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Man pages and bash completion from migscope's own --help, so there is one source.

  helpdoc.py man BIN OUTDIR          migscope.8 and migscope-CMD.8 for every command
  helpdoc.py completion BIN OUT      the bash completion script
  helpdoc.py options BIN [CMD]       the options the parser sees, one a line (tests)

The help texts follow one layout (tools/*.c usage()): "Usage:" lines, prose
paragraphs, then sections headed by a line "Title:" at column 0.  In a section,
an item starts at two to six spaces of indentation ("  -v, --verbose  text",
"  name  text"); deeper lines continue it.  In "Examples:" every line is a
command.  Anything the parser does not recognise stays prose, so nothing in
--help is lost from the man page.
"""
import re
import subprocess
import sys

# "  -d, --device NAME   text", "      --perfetto FILE write ..." (one space before the
# text is enough when a metavariable ends the option), "      --no-set   text"; a
# metavariable is upper case (FILE, ADDR:PORT, FILE|-, SRC.log), words to choose
# from (on|off) or k=v
OPT_RE = re.compile(
    r"^(?P<ind> {2,6})(?P<spec>(?:-[A-Za-z], )?--[a-z0-9][a-z0-9-]*"
    r"(?: (?:[A-Z]\S*|[a-z]+(?:\|[a-z]+)+|[a-z]+=[a-z]+))?)(?: +(?P<text>.*))?$"
)
ITEM_RE = re.compile(r"^(?P<ind> {2,6})(?P<tag>\S(?:\S| (?! ))*)(?: {2,}(?P<text>.*))?$")
# a section title: "Options:", "Reference device options (ref:key=value,...):"; a sentence
# ending in a colon ("The transcript has one JSON object per line:") is prose
HEAD_RE = re.compile(r"^[A-Z][a-z]*(?: [a-z]+){0,3}(?: \([^)]*\))?:$")


def run_help(binary, cmd=None):
    argv = [binary] + ([cmd] if cmd else []) + ["--help"]
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def parse(text):
    """Usage lines, prose blocks and sections [(title, [items or prose])]."""
    lines = text.rstrip("\n").split("\n")
    usage = []
    i = 0
    while i < len(lines) and lines[i].strip():
        usage.append(re.sub(r"^(Usage:| {6})\s*", "", lines[i], count=1))
        i += 1
    body = []  # (title or None, entries)
    cur = (None, [])
    body.append(cur)
    for line in lines[i:]:
        if HEAD_RE.match(line):
            cur = (line[:-1], [])
            body.append(cur)
            continue
        entries = cur[1]
        if not line.strip():
            entries.append(("blank",))
            continue
        if cur[0] is not None and cur[0].lower() == "examples":
            entries.append(("example", line.strip() if line.startswith("  ") and not
                            line.startswith("      ") else line[2:]))
            continue
        m = OPT_RE.match(line) if cur[0] is not None else None
        if m:
            col = len(line) - len(m["text"]) if m["text"] else len(m["ind"]) + 4
            entries.append(["option", m["spec"], [m["text"]] if m["text"] else [], len(m["ind"]),
                            col])
            continue
        m = ITEM_RE.match(line) if cur[0] is not None else None
        if m and m["text"]:
            entries.append(["item", m["tag"], [m["text"]], len(m["ind"]),
                            len(line) - len(m["text"])])
            continue
        last = entries[-1] if entries else None
        if (last and isinstance(last, list) and line.startswith(" ") and
                len(line) - len(line.lstrip()) > last[3]):
            # deeper than the item's text: a list inside it, kept as laid out
            ind = len(line) - len(line.lstrip())
            last[2].append(("\0" if ind > last[4] else "") + line.strip())
            continue
        if line.startswith("  "):
            entries.append(("pre", line[2:]))
        else:
            entries.append(("text", line))
    return usage, body


def options(body):
    """[(names, metavar)] of the Options-like sections."""
    out = []
    for _title, entries in body:
        for e in entries:
            if isinstance(e, list) and e[0] == "option":
                spec = e[1].split(" ")
                names = [n.rstrip(",") for n in spec if n.startswith("-")]
                meta = spec[-1] if not spec[-1].startswith("-") else None
                out.append((names, meta))
    return out


def commands(top_body):
    for title, entries in top_body:
        if title == "Commands":
            return [(e[1], " ".join(t.lstrip("\0") for t in e[2])) for e in entries
                    if isinstance(e, list)]
    return []


# --- man -----------------------------------------------------------------------------------------


def esc(s):
    s = s.replace("\\", "\\e")
    return s


def esc_code(s):
    """Escape text meant to be typed: options and commands keep ASCII hyphens."""
    return esc(s).replace("-", "\\-")


def line_safe(s):
    return "\\&" + s if s[:1] in (".", "'") else s


def inline(s):
    """Prose: --options in bold, escaped."""
    s = esc(s)
    return re.sub(r"(?<![\w-])(--?[a-z][a-z0-9-]*)", lambda m: "\\fB" + m[1].replace(
        "-", "\\-") + "\\fR", s)


def man_spec(spec):
    parts = spec.split(" ")
    out = []
    for p in parts:
        if p.startswith("-"):
            out.append("\\fB" + esc_code(p) + "\\fR")
        else:
            out.append("\\fI" + esc_code(p) + "\\fR")
    return " ".join(out)


def man_entries(entries, out):
    pre = None  # "pre" (indented) or "example": inside a no-fill block

    def end_pre():
        nonlocal pre
        if pre:
            out.append(".fi")
            if pre == "pre":
                out.append(".RE")
            pre = None

    para_open = False
    for e in entries:
        kind = e[0]
        if kind != pre:
            end_pre()
        if kind == "blank":
            para_open = False
            continue
        if kind == "text":
            if not para_open:
                out.append(".PP")
                para_open = True
            out.append(line_safe(inline(e[1])))
        elif kind == "pre":
            if not pre:
                out.append(".RS 4")
                out.append(".nf")
                pre = kind
            out.append(line_safe(esc_code(e[1])))
            para_open = False
        elif kind == "example":
            if not pre:
                out.append(".PP")
                out.append(".nf")
                pre = kind
            out.append(line_safe(esc_code(e[1])))
            para_open = False
        elif kind in ("option", "item"):
            out.append(".TP")
            out.append(man_spec(e[1]) if kind == "option" else "\\fB" + esc_code(e[1]) + "\\fR")
            nofill = False
            for t in e[2]:
                if t.startswith("\0") != nofill:
                    nofill = not nofill
                    out.append(".nf" if nofill else ".fi")
                out.append(line_safe(inline(t.lstrip("\0"))))
            if nofill:
                out.append(".fi")
            para_open = False
    end_pre()


def man_page(name, section_name, summary, usage, body, version, see_also):
    title = name.upper()
    out = ['.\\" Generated by scripts/helpdoc.py from "%s --help"; do not edit.' %
           name.replace("-", " ", 1),
           '.TH %s 8 "" "migscope %s" "migscope manual"' % (title, version),
           ".SH NAME",
           "%s \\- %s" % (esc_code(name), esc(summary)),
           ".SH SYNOPSIS",
           ".nf"]
    for u in usage:
        out.append(line_safe(esc_code(u)))
    out.append(".fi")
    for title_, entries in body:
        if title_ is None:
            heading = "DESCRIPTION"
        else:
            head, paren, rest = title_.partition(" (")
            heading = head.upper() + paren + rest
        # drop leading and trailing blanks
        while entries and entries[0][0] == "blank":
            entries = entries[1:]
        if not entries:
            continue
        out.append('.SH "%s"' % esc(heading))
        man_entries(entries, out)
    out.append(".SH SEE ALSO")
    out.append(".nh")  # no page name broken across lines
    out.append(",\n".join("\\fB%s\\fR(8)" % esc_code(s) for s in see_also))
    return "\n".join(out) + "\n"


def cmd_man(binary, outdir):
    top = run_help(binary)
    version = subprocess.run([binary, "-V"], check=True, capture_output=True,
                             text=True).stdout.split("\n")[0].split(" ")[1]
    usage, body = parse(top)
    cmds = commands(body)
    names = ["migscope-" + c for c, _ in cmds]
    # the command list links its pages
    for title, entries in body:
        if title == "Commands":
            for e in entries:
                if isinstance(e, list):
                    e[1] = "migscope-" + e[1]
    with open("%s/migscope.8" % outdir, "w") as f:
        f.write(man_page("migscope", None, "live migration of passthrough devices, made visible",
                         usage, body, version, names))
    for c, summary in cmds:
        usage, body = parse(run_help(binary, c))
        with open("%s/migscope-%s.8" % (outdir, c), "w") as f:
            f.write(man_page("migscope-" + c, c, summary, usage, body, version,
                             ["migscope"] + [n for n in names if n != "migscope-" + c]))


# --- bash completion ----------------------------------------------------------------------------

# a metavariable naming a path: complete file names
FILE_META = re.compile(r"FILE|SOCK|OUT|CAPTURE|\.")


def sh_words(words):
    return " ".join(words)


def cmd_completion(binary, out_path):
    _usage, body = parse(run_help(binary))
    cmds = [c for c, _ in commands(body)]
    top_opts = [n for names, _ in options(body) for n in names]
    cases = []
    for c in cmds:
        usage, cbody = parse(run_help(binary, c))
        opts, files, choices, args = [], [], [], []
        for names, meta in options(cbody):
            opts += names
            if meta is None:
                continue
            if FILE_META.search(meta):
                files += names
            elif "|" in meta:
                choices.append((names, meta.split("|")))
            else:
                args += names
        # subcommands: "migscope capture check FILE"
        subs = []
        for u in usage:
            m = re.match(r"migscope %s ([a-z][a-z-]*)\b" % re.escape(c), u)
            if m and m[1] not in subs:
                subs.append(m[1])
        choice_lines = "".join(
            "\t\t%s) COMPREPLY=($(compgen -W '%s' -- \"$cur\")); return ;;\n" %
            ("|".join(n), " ".join(ws)) for n, ws in choices)
        cases.append(
            "\t%s)\n"
            "\t\tcase $prev in\n"
            "%s"
            "%s"
            "%s"
            "\t\tesac\n"
            "\t\topts='%s'\n"
            "\t\tsubs='%s'\n"
            "\t\t;;\n" % (
                c,
                "\t\t%s) _migscope_files; return ;;\n" % "|".join(files) if files else "",
                choice_lines,
                "\t\t%s) return ;;\n" % "|".join(args) if args else "",
                sh_words(opts), sh_words(subs)))
    text = """# bash completion for migscope(8)
# Generated by scripts/helpdoc.py from migscope's --help; do not edit.
# SPDX-License-Identifier: GPL-2.0-only

_migscope_files()
{
	compopt -o filenames 2>/dev/null
	COMPREPLY=($(compgen -f -- "$cur"))
}

_migscope()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local cmd='' opts subs='' i npos=0

	COMPREPLY=()
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-*) ;;
		*)
			if [[ -z $cmd ]]; then
				cmd=${COMP_WORDS[i]}
			else
				npos=$((npos + 1))
			fi
			;;
		esac
	done
	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '%s' -- "$cur"))
		else
			COMPREPLY=($(compgen -W '%s' -- "$cur"))
		fi
		return
	fi
	case $cmd in
%s	*) return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
	elif [[ -n $subs && $npos -eq 0 ]]; then
		COMPREPLY=($(compgen -W "$subs" -- "$cur"))
	else
		_migscope_files
	fi
}
complete -F _migscope migscope
""" % (sh_words(top_opts), sh_words(cmds), "".join(cases))
    with open(out_path, "w") as f:
        f.write(text)


def cmd_options(binary, cmd=None):
    _usage, body = parse(run_help(binary, cmd))
    for names, meta in options(body):
        print(" ".join(names) + (" " + meta if meta else ""))


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "man":
        cmd_man(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 4 and sys.argv[1] == "completion":
        cmd_completion(sys.argv[2], sys.argv[3])
    elif len(sys.argv) in (3, 4) and sys.argv[1] == "options":
        cmd_options(sys.argv[2], sys.argv[3] if len(sys.argv) == 4 else None)
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
