"""Wrapper commands and their own options: what each one runs, and how.

peel(name, argv) returns a Step: the inner argv, code to re-parse (shell, Python, ...), code
read from stdin, or an opaque payload the gate cannot read.  None means "not a wrapper".
"""

from __future__ import annotations

from .model import Assign, Part, PartKind, Word
from .targets import BUILD_OUTPUT

__all__ = ["Step", "peel", "is_wrapper", "UNKNOWN_INPUT", "skip_options"]

# Stands for words the gate cannot see (xargs input, find's {}): rules treat it as unknown.
UNKNOWN_INPUT = Word("{input}", (Part(PartKind.OTHER, "{input}"),))


class Step:
    __slots__ = ("label", "note", "argv", "assigns", "code", "lang", "stdin_code", "opaque",
                 "opaque_rule", "remote", "keep_redirects", "keep_stdin", "extra", "script")

    def __init__(self, label: str, *, note: str = "", argv: tuple[Word, ...] = (),
                 assigns: tuple[Assign, ...] = (), code: str | None = None, lang: str = "sh",
                 stdin_code: bool = False, opaque: str = "", opaque_rule: str = "opaque_payload",
                 remote: str | None = None, keep_redirects: bool = True, keep_stdin: bool = True,
                 extra: tuple[Word, ...] | None = None, script: str | None = None) -> None:
        self.label, self.note, self.argv, self.assigns = label, note, argv, assigns
        self.code, self.lang, self.stdin_code = code, lang, stdin_code
        self.opaque, self.opaque_rule, self.remote = opaque, opaque_rule, remote
        self.keep_redirects, self.keep_stdin, self.extra = keep_redirects, keep_stdin, extra
        self.script = script


def skip_options(args: tuple[Word, ...], short_val: str = "", long_val: tuple[str, ...] = (),
                 stop_at_operand: bool = True) -> tuple[int, dict[str, str | None]]:
    """Index of the first operand after options, and the options seen (value or None).

    short_val: short options that take a value; long_val: long options that take one.
    An option word whose text is unknown ends the options (it may be anything).
    """
    seen: dict[str, str | None] = {}
    i = 0
    while i < len(args):
        v = args[i].value
        if v is None:
            return i, seen
        if v == "--":
            return i + 1, seen
        if v.startswith("--") and len(v) > 2:
            key, eq, val = v.partition("=")
            if eq:
                seen[key] = val
            elif key in long_val and i + 1 < len(args):
                seen[key] = args[i + 1].value
                i += 1
            else:
                seen[key] = None
            i += 1
            continue
        if v.startswith("-") and len(v) > 1:
            j = 1
            while j < len(v):
                ch = v[j]
                if ch in short_val:
                    rest = v[j + 1:]
                    if rest:
                        seen["-" + ch] = rest
                    elif i + 1 < len(args):
                        seen["-" + ch] = args[i + 1].value
                        i += 1
                    else:
                        seen["-" + ch] = None
                    break
                seen["-" + ch] = None
                j += 1
            i += 1
            continue
        if stop_at_operand:
            return i, seen
        i += 1
    return i, seen


def _text(argv: tuple[Word, ...]) -> str:
    return " ".join(w.text for w in argv)


def _join_code(words: tuple[Word, ...], label: str) -> Step:
    vals = [w.value for w in words]
    if any(v is None for v in vals):
        return Step(label, opaque=f"{label} runs code built at run time ({_text(words)})",
                    opaque_rule="opaque_code")
    return Step(label, code=" ".join(v for v in vals if v is not None))


def _sudo(argv: tuple[Word, ...]) -> Step | None:
    rest = argv[1:]
    i, seen = skip_options(rest, "ugphCDrtUT", ("--user", "--group", "--host", "--prompt",
                                               "--close-from", "--chdir", "--role", "--type",
                                               "--other-user", "--command-timeout"))
    cmd = rest[i:]
    if not cmd:
        return None
    if "-s" in seen or "-i" in seen or "--shell" in seen or "--login" in seen:
        return _join_code(cmd, argv[0].value or "sudo")
    if "-e" in seen or "--edit" in seen:
        return None
    return Step(argv[0].value or "sudo", argv=cmd)


def _env(argv: tuple[Word, ...]) -> Step | None:
    rest = argv[1:]
    assigns: list[Assign] = []
    i = 0
    while i < len(rest):
        j, seen = skip_options(rest[i:], "uCP", ("--unset", "--chdir"))
        if "-S" in seen or "--split-string" in seen or any(k.startswith("-S") for k in seen):
            break
        i += j
        if i < len(rest):
            v = rest[i].value
            first = rest[i].parts[0] if rest[i].parts else None
            if v is None and first is not None and first.kind is PartKind.LIT and \
                    "=" in first.text and first.text.split("=")[0].isidentifier():
                assigns.append(Assign(first.text.split("=")[0], None))
                i += 1
                continue
            if v is not None and "=" in v and not v.startswith("=") and v.split("=")[0].isidentifier():
                name, _, val = v.partition("=")
                assigns.append(Assign(name, Word(val, (Part(PartKind.LIT, val),))))
                i += 1
                continue
            if v == "-":
                i += 1
                continue
        break
    # env -S 'cmd args' / --split-string: the string is split like shell words
    for k in range(len(rest)):
        v = rest[k].value or ""
        if v in ("-S", "--split-string") or v.startswith("--split-string=") or (
                v.startswith("-S") and len(v) > 2):
            if v in ("-S", "--split-string"):
                payload = rest[k + 1:]
            else:
                first = v[2:] if v.startswith("-S") else v.split("=", 1)[1]
                payload = (Word(first, (Part(PartKind.LIT, first),)),) + rest[k + 1:]
            return _join_code(payload, "env -S")
    cmd = rest[i:]
    if not cmd:
        return None
    return Step("env", argv=cmd, assigns=tuple(assigns))


def _simple(short_val: str = "", long_val: tuple[str, ...] = (), operands: int = 0,
            no_cmd_opts: tuple[str, ...] = ()) -> object:
    def peel_(argv: tuple[Word, ...]) -> Step | None:
        rest = argv[1:]
        i, seen = skip_options(rest, short_val, long_val)
        if any(o in seen for o in no_cmd_opts):
            return None
        cmd = rest[i + operands:]
        if not cmd:
            return None
        return Step(argv[0].value or "", argv=cmd)
    return peel_


def _nice(argv: tuple[Word, ...]) -> Step | None:
    rest = argv[1:]
    if rest and (rest[0].value or "").lstrip("-+").isdigit() and (rest[0].value or "")[:1] == "-":
        rest = rest[1:]
    i, _ = skip_options(rest, "n", ("--adjustment",))
    cmd = rest[i:]
    return Step("nice", argv=cmd) if cmd else None


def _command(argv: tuple[Word, ...]) -> Step | None:
    rest = argv[1:]
    i, seen = skip_options(rest)
    if "-v" in seen or "-V" in seen or not rest[i:]:
        return None  # only looks the name up
    return Step(argv[0].value or "command", argv=rest[i:])


def _watch(argv: tuple[Word, ...]) -> Step | None:
    rest = argv[1:]
    i, seen = skip_options(rest, "nqd", ("--interval", "--equexit", "--differences"))
    cmd = rest[i:]
    if not cmd:
        return None
    if "-x" in seen or "--exec" in seen:
        return Step("watch", argv=cmd)
    step = _join_code(cmd, "watch")
    step.argv = cmd  # sh -c of the joined words, but quoting lost: judge the words too
    return step


def _replace_input(words: tuple[Word, ...], token: str) -> tuple[Word, ...]:
    """The words with xargs -I's token replaced by input the gate cannot see: the whole
    word when it is just the token, else an unknown part inside it (`FILE={}`)."""
    out = []
    for w in words:
        v = w.value
        if v is None or token not in v:
            out.append(w)
        elif v == token:
            out.append(UNKNOWN_INPUT)
        else:
            head, _, tail = v.partition(token)
            parts = ((Part(PartKind.LIT, head),) if head else ()) + (
                Part(PartKind.OTHER, "{input}"),) + ((Part(PartKind.LIT, tail),) if tail else ())
            out.append(Word(w.text, parts))
    return tuple(out)


def _xargs(argv: tuple[Word, ...]) -> Step | None:
    rest = list(argv[1:])
    seen: dict[str, str | None] = {}
    i = 0
    while i < len(rest):
        v = rest[i].value
        if v is None or not v.startswith("-") or v == "-":
            break
        if v == "--":
            i += 1
            break
        if v.startswith("--"):
            key, eq, val = v.partition("=")
            if not eq and key in ("--arg-file", "--delimiter", "--max-lines", "--max-args",
                                  "--max-procs", "--max-chars", "--process-slot-var"):
                val = rest[i + 1].value or "" if i + 1 < len(rest) else ""
                i += 1
            seen[key] = val if (eq or val) else None
            i += 1
            continue
        j = 1
        while j < len(v):
            ch = v[j]
            if ch in "adEILnPsJRS":           # the value is attached or the next word
                seen["-" + ch] = v[j + 1:] or (rest[i + 1].value if i + 1 < len(rest) else None)
                if not v[j + 1:]:
                    i += 1
                break
            if ch in "iel":                   # an optional value, attached only
                seen["-" + ch] = v[j + 1:] or None
                break
            seen["-" + ch] = None
            j += 1
        i += 1
    cmd = tuple(rest[i:])
    if not cmd:
        cmd = (Word("echo", (Part(PartKind.LIT, "echo"),)),)
    token = None
    for opt in ("-I", "-J", "--replace", "-i"):
        if opt in seen:
            token = seen[opt] or "{}"
    if token is not None:
        cmd = _replace_input(cmd, token)  # -I: input only where the token is, never appended
    else:
        cmd = cmd + (UNKNOWN_INPUT,)
    return Step("xargs", argv=cmd, keep_stdin=False, keep_redirects=False, note="input unknown")


def _parallel(argv: tuple[Word, ...]) -> Step | None:
    rest = argv[1:]
    i, _ = skip_options(rest, "jJadEILnNPSX", ("--jobs", "--arg-file", "--delimiter", "--sshlogin",
                                             "--joblog", "--results", "--tmpdir", "--timeout",
                                             "--retries", "--delay", "--memfree", "--load",
                                             "--workdir", "--colsep", "--tagstring"))
    rest = rest[i:]
    seps = [k for k, w in enumerate(rest) if w.value in (":::", "::::", ":::+", "::::+")]
    cmd = rest[:seps[0]] if seps else rest
    inputs = rest[seps[0] + 1:] if seps else ()
    if not cmd:
        if seps and not inputs:
            return None  # `parallel :::` has nothing to run
        if inputs and rest[seps[0]].value == ":::":
            return _join_code(inputs[:1], "parallel") if len(inputs) == 1 else Step(
                "parallel", code="\n".join(w.value or "" for w in inputs)) if all(
                w.value is not None for w in inputs) else Step(
                "parallel", opaque="parallel runs commands built at run time",
                opaque_rule="opaque_code")
        return Step("parallel", stdin_code=True)
    if not inputs or (seps and rest[seps[0]].value.startswith("::::")):  # type: ignore[union-attr]
        inputs = (UNKNOWN_INPUT,)
    first = inputs[0]
    out: list[Word] = []
    used = False
    for w in cmd:
        v = w.value
        if v is not None and "{}" in v and first.value is not None:
            out.append(Word(w.text, (Part(PartKind.LIT, v.replace("{}", first.value)),)))
            used = True
        elif v is not None and "{}" in v:
            out.append(UNKNOWN_INPUT)
            used = True
        else:
            out.append(w)
    if not used:
        out.extend(inputs[:50])
    if len(out) == 1 or (len(cmd) == 1 and " " in (cmd[0].value or "")):
        return _join_code(tuple(out), "parallel")
    return Step("parallel", argv=tuple(out), keep_stdin=False)


def _found(start: Word | None) -> Word:
    """What find's {} stands for: anything under its first start point (the start point
    itself included: `find . -exec rm -rf {} +` with no test empties the directory)."""
    if start is None or start.value is None or start.has_glob:
        return UNKNOWN_INPUT
    parts = start.parts + (Part(PartKind.LIT, "/"), Part(PartKind.GLOB, "*"))
    return Word(start.text + "/{}", parts)


def _find(argv: tuple[Word, ...]) -> Step | None:
    words = argv[1:]
    start = None
    for w in words:
        v = w.value
        if v is None or v.startswith(("-", "(", "!")):
            break
        start = start or w
    if start is None and words and (words[0].value or "").startswith("-"):
        start = Word(".", (Part(PartKind.LIT, "."),))   # no start point: the cwd
    found = _found(start)
    names = [words[k + 1].value for k, w in enumerate(words[:-1])
             if w.value in ("-name", "-iname") and words[k + 1].value]
    if start is not None and start.value is not None and names and all(
            n in BUILD_OUTPUT or (n or "").endswith(".egg-info") for n in names):
        # `find . -name __pycache__ -exec rm -rf {} +`: only regenerable directories
        found = Word(start.text + "/" + names[0], start.parts + (Part(PartKind.LIT, "/" + names[0]),))
    for k, w in enumerate(words):
        if w.value in ("-exec", "-execdir", "-ok", "-okdir"):
            cmd: list[Word] = []
            for x in words[k + 1:]:
                if x.value in (";", "+"):
                    break
                if x.value == "{}":
                    cmd.append(found)
                else:
                    cmd.append(UNKNOWN_INPUT if x.value is not None and "{}" in x.value else x)
            if cmd:
                step = Step(f"find {w.value}", argv=tuple(cmd), keep_stdin=False,
                            keep_redirects=False)
                rest = words[k + 1 + len(cmd) + 1:]
                more = _find((argv[0],) + rest) if rest else None
                if more is not None:
                    step.extra = more.argv
                return step
    return None


def _shell(argv: tuple[Word, ...]) -> Step | None:
    rest = argv[1:]
    i = 0
    has_c = stdin = noexec = False
    while i < len(rest):
        v = rest[i].value
        if v is None and noexec:
            return None  # -n only checks syntax, whatever follows
        if v is None:
            if any(p.kind is PartKind.PROCSUB for p in rest[i].parts):
                return Step(argv[0].text, opaque=f"{argv[0].text} runs a script produced at run "
                            f"time ({rest[i].text})", opaque_rule="opaque_script")
            return Step(argv[0].text, opaque="a shell whose options are computed at run time",
                        opaque_rule="opaque_code")
        if v in ("--", "-"):
            i += 1
            break
        if v in ("--rcfile", "--init-file"):
            i += 2
            continue
        if v.startswith("--"):
            i += 1
            continue
        if v[:1] in "-+" and len(v) > 1:
            if "c" in v[1:] and v[0] == "-":
                has_c = True
            if "s" in v[1:] and v[0] == "-":
                stdin = True
            if "n" in v[1:] and v[0] == "-" and v[-1] not in "oO":
                noexec = True
            if v[-1] in "oO":
                i += 1
            i += 1
            continue
        break
    name = argv[0].value or "sh"
    operands = rest[i:]
    if noexec:
        return None  # -n only reads and checks the syntax
    if has_c:
        if not operands:
            return None
        code = operands[0].value
        if code is None:
            return Step(f"{name} -c", opaque=f"{name} -c runs a string built at run time "
                        f"({operands[0].text})", opaque_rule="opaque_code")
        return Step(f"{name} -c", code=code)
    if operands and not stdin:
        first = operands[0]
        if first.value is None:
            return Step(name, opaque=f"{name} runs a script whose name or content is only "
                        f"known at run time ({first.text})", opaque_rule="opaque_script")
        return Step(name, script=first.value, note=f"script {first.value}")
    return Step(name, stdin_code=True)


def _eval(argv: tuple[Word, ...]) -> Step | None:
    if len(argv) < 2:
        return None
    return _join_code(argv[1:], "eval")


def _source(argv: tuple[Word, ...]) -> Step | None:
    if len(argv) < 2:
        return None
    w = argv[1]
    if any(p.kind in (PartKind.PROCSUB, PartKind.CMDSUB) for p in w.parts):
        return Step("source", opaque=f"source runs code produced at run time ({w.text})",
                    opaque_rule="opaque_code")
    return None


def _ssh(argv: tuple[Word, ...]) -> Step | None:
    rest = argv[1:]
    i, _ = skip_options(rest, "bcDEeFIiJLlmOopQRSWwB")
    if i >= len(rest) - 1:
        return None
    host = rest[i].value or rest[i].text
    return Step(f"ssh {host}", remote=host, **_code_kw(rest[i + 1:], f"ssh {host}"))


def _code_kw(words: tuple[Word, ...], label: str) -> dict[str, object]:
    step = _join_code(words, label)
    if step.opaque:
        return {"opaque": step.opaque, "opaque_rule": step.opaque_rule}
    return {"code": step.code}


def _su(argv: tuple[Word, ...]) -> Step | None:
    rest = argv[1:]
    for k, w in enumerate(rest):
        if w.value in ("-c", "--command") and k + 1 < len(rest):
            return Step("su -c", **_code_kw(rest[k + 1:k + 2], "su -c"))
        if w.value is not None and w.value.startswith("--command="):
            code = w.value.split("=", 1)[1]
            return Step("su -c", code=code)
    return None


def _runuser(argv: tuple[Word, ...]) -> Step | None:
    su = _su(argv)
    if su is not None:
        return su
    rest = argv[1:]
    i, _ = skip_options(rest, "ugG", ("--user", "--group", "--supp-group"))
    return Step("runuser", argv=rest[i:]) if rest[i:] else None


def _flock(argv: tuple[Word, ...]) -> Step | None:
    rest = argv[1:]
    i, seen = skip_options(rest, "wEc", ("--timeout", "--conflict-exit-code", "--command"))
    code = seen.get("-c") or seen.get("--command")
    if code is not None:
        return Step("flock -c", code=code)
    after = rest[i + 1:]  # after the lock file: -c STRING, or a command
    if len(after) >= 2 and after[0].value in ("-c", "--command"):
        return Step("flock -c", **_code_kw(after[1:2], "flock -c"))  # type: ignore[arg-type]
    return Step("flock", argv=after) if after else None


def _script(argv: tuple[Word, ...]) -> Step | None:
    rest = argv[1:]
    _, seen = skip_options(rest, "cEIOTB", ("--command", "--echo", "--log-in", "--log-out",
                                           "--log-timing", "--log-io"), stop_at_operand=False)
    code = seen.get("-c") or seen.get("--command")
    return Step("script -c", code=code) if code else None


def _interpreter(lang: str, flags: tuple[str, ...]) -> object:
    """python -c CODE, node -e/-p/--eval CODE, perl -e, ruby -e, php -r: also -vc, -c'x'."""
    shorts = "".join(f[1] for f in flags if len(f) == 2)
    longs = tuple(f for f in flags if f.startswith("--"))

    def peel_(argv: tuple[Word, ...]) -> Step | None:
        rest = argv[1:]
        label = argv[0].text
        for k, w in enumerate(rest):
            v = w.value
            if v is None:
                return None
            if v.startswith("--"):
                key, eq, val = v.partition("=")
                if key in longs:
                    code = val if eq else (rest[k + 1].value if k + 1 < len(rest) else None)
                    if code is None:
                        return Step(f"{label} {key}", opaque=f"{label} runs code built at run "
                                    "time", opaque_rule="opaque_code")
                    return Step(f"{label} {key}", code=code, lang=lang)
                continue
            if v == "-":
                return Step(label, stdin_code=True, lang=lang)
            if not v.startswith("-"):
                return None  # a script file or module: not read here
            for j, ch in enumerate(v[1:], 1):
                if ch in shorts:
                    tail = v[j + 1:]
                    if tail and all(c.isalpha() for c in tail) and len(tail) <= 3 and (
                            tail[-1] in shorts):
                        continue  # node -pe CODE: flags together, the code is the next word
                    code = tail or (rest[k + 1].value if k + 1 < len(rest) else None)
                    if code is None:
                        return Step(f"{label} -{ch}", opaque=f"{label} runs code built at "
                                    "run time", opaque_rule="opaque_code")
                    return Step(f"{label} -{ch}", code=code, lang=lang)
                if lang == "python" and ch in "mWX":
                    return None if ch == "m" else None
        return Step(label, stdin_code=True, lang=lang)
    return peel_


def _awk(argv: tuple[Word, ...]) -> Step | None:
    """awk PROGRAM: system(), "cmd" | getline and print | "cmd" run shell commands."""
    rest = argv[1:]
    i, seen = skip_options(rest, "fvF", ("--file", "--assign", "--field-separator"))
    if "-f" in seen or "--file" in seen or i >= len(rest):
        return None
    prog = rest[i].value
    if prog is None:
        return Step("awk", opaque="awk runs a program built at run time", opaque_rule="opaque_code")
    return Step("awk", code=prog, lang="awk")


_PEELERS: dict[str, object] = {
    "sudo": _sudo, "doas": _simple("uC"), "env": _env, "command": _command,
    "builtin": _simple(), "exec": _simple("a"), "nohup": _simple(), "setsid": _simple(),
    "nice": _nice, "ionice": _simple("cnt", no_cmd_opts=("-p", "-P", "-u")),
    "time": _simple("fo", ("--format", "--output")),
    "timeout": _simple("sk", ("--signal", "--kill-after"), operands=1),
    "stdbuf": _simple("ioe", ("--input", "--output", "--error")),
    "watch": _watch, "xargs": _xargs, "parallel": _parallel, "find": _find,
    "eval": _eval, "source": _source, ".": _source, "ssh": _ssh, "su": _su,
    "runuser": _runuser, "flock": _flock, "script": _script,
    "chroot": _simple("", ("--userspec", "--groups"), operands=1),
    "unbuffer": _simple(), "torsocks": _simple(), "proxychains": _simple("f"),
    "proxychains4": _simple("f"), "chrt": _simple(operands=1), "taskset": _simple(operands=1),
    "busybox": _simple(), "caffeinate": _simple("tw"), "unshare": _simple(),
    "node": _interpreter("node", ("-e", "--eval", "-p", "--print")),
    "nodejs": _interpreter("node", ("-e", "--eval", "-p", "--print")),
    "perl": _interpreter("perl", ("-e", "-E")), "ruby": _interpreter("ruby", ("-e",)),
    "php": _interpreter("php", ("-r",)),
    "awk": _awk, "gawk": _awk, "mawk": _awk, "nawk": _awk, "busybox": _simple(),
}
for _sh in ("bash", "sh", "dash", "zsh", "ksh", "ash", "mksh", "yash", "gatesh"):
    _PEELERS[_sh] = _shell


def is_wrapper(name: str) -> bool:
    """True for commands whose operands are another command or code."""
    return name in _PEELERS or name.startswith("python")


def peel(name: str, argv: tuple[Word, ...]) -> Step | None:
    """The Step for a wrapper command, or None when name is not a wrapper."""
    fn = _PEELERS.get(name)
    if fn is None:
        if name.startswith("python") and (name[6:].replace(".", "").isdigit() or name == "python"):
            fn = _interpreter("python", ("-c",))
        elif name in ("node", "deno", "bun"):
            fn = _PEELERS["node"]
        else:
            return None
    return fn(argv)  # type: ignore[operator]
