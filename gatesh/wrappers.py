"""Wrapper commands and their own options: what each one runs, and how.

peel(name, argv) returns a Step: the inner argv, code to re-parse (shell, Python, ...), code
read from stdin, or an opaque payload the gate cannot read.  None means "not a wrapper".
"""

from __future__ import annotations

from . import latercode
from .model import Assign, PartKind, Word, lit
from .steps import UNKNOWN_INPUT, Step, code_kw, join_code, skip_options

__all__ = ["Step", "peel", "is_wrapper", "UNKNOWN_INPUT", "skip_options"]


def _sudo(argv: tuple[Word, ...]) -> Step | None:
    rest = argv[1:]
    i, seen = skip_options(rest, "ugphCDrtUT", ("--user", "--group", "--host", "--prompt",
                                               "--close-from", "--chdir", "--role", "--type",
                                               "--other-user", "--command-timeout"))
    cmd = rest[i:]
    if not cmd:
        return None
    if "-s" in seen or "-i" in seen or "--shell" in seen or "--login" in seen:
        return join_code(cmd, argv[0].value or "sudo")
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
                assigns.append(Assign(name, lit(val)))
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
                payload = (lit(first),) + rest[k + 1:]
            return join_code(payload, "env -S")
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
    step = join_code(cmd, "watch")
    step.argv = cmd  # sh -c of the joined words, but quoting lost: judge the words too
    return step


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
        return Step(f"{name} -c", code=code, params=operands[1:])
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
    return join_code(argv[1:], "eval")


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
    return Step(f"ssh {host}", remote=host, **code_kw(rest[i + 1:], f"ssh {host}"))


def _su(argv: tuple[Word, ...]) -> Step | None:
    rest = argv[1:]
    for k, w in enumerate(rest):
        if w.value in ("-c", "--command") and k + 1 < len(rest):
            return Step("su -c", **code_kw(rest[k + 1:k + 2], "su -c"))
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
        return Step("flock -c", **code_kw(after[1:2], "flock -c"))  # type: ignore[arg-type]
    return Step("flock", argv=after) if after else None


def _script(argv: tuple[Word, ...]) -> Step | None:
    rest = argv[1:]
    _, seen = skip_options(rest, "cEIOTB", ("--command", "--echo", "--log-in", "--log-out",
                                           "--log-timing", "--log-io"), stop_at_operand=False)
    code = seen.get("-c") or seen.get("--command")
    return Step("script -c", code=code) if code else None


# Peelers kept in modules imported on first use: few commands need them (start-up time).


def _input(name: str) -> object:
    """xargs, parallel or find: commands whose operands come from input."""
    def peel_(argv: tuple[Word, ...]) -> Step | None:
        from .inputs import PEELERS
        return PEELERS[name](argv)
    return peel_


def _interpreter(lang: str, flags: tuple[str, ...]) -> object:
    """python -c CODE, node -e/-p/--eval CODE, perl -e, ruby -e, php -r: also -vc, -c'x'."""
    def peel_(argv: tuple[Word, ...]) -> Step | None:
        from .interpreters import interpreter
        return interpreter(lang, flags, argv)
    return peel_


def _container_exec(argv: tuple[Word, ...]) -> Step | None:
    from .execs import container_exec
    return container_exec(argv)


def _kube_exec(argv: tuple[Word, ...]) -> Step | None:
    from .execs import kube_exec
    return kube_exec(argv)


def _awk(argv: tuple[Word, ...]) -> Step | None:
    from .interpreters import awk
    return awk(argv)


_PEELERS: dict[str, object] = {
    "sudo": _sudo, "doas": _simple("uC"), "env": _env, "command": _command,
    "builtin": _simple(), "exec": _simple("a"), "nohup": _simple(), "setsid": _simple(),
    "nice": _nice, "ionice": _simple("cnt", no_cmd_opts=("-p", "-P", "-u")),
    "time": _simple("fo", ("--format", "--output")),
    "timeout": _simple("sk", ("--signal", "--kill-after"), operands=1),
    "stdbuf": _simple("ioe", ("--input", "--output", "--error")),
    "watch": _watch, "xargs": _input("xargs"), "parallel": _input("parallel"),
    "find": _input("find"), "eval": _eval, "source": _source, ".": _source,
    "ssh": _ssh, "su": _su, "runuser": _runuser, "flock": _flock, "script": _script,
    "chroot": _simple("", ("--userspec", "--groups"), operands=1),
    "unbuffer": _simple(), "torsocks": _simple(), "proxychains": _simple("f"),
    "proxychains4": _simple("f"), "chrt": _simple(operands=1), "taskset": _simple(operands=1),
    "busybox": _simple(), "caffeinate": _simple("tw"), "unshare": _simple(),
    "node": _interpreter("node", ("-e", "--eval", "-p", "--print")),
    "nodejs": _interpreter("node", ("-e", "--eval", "-p", "--print")),
    "perl": _interpreter("perl", ("-e", "-E")), "ruby": _interpreter("ruby", ("-e",)),
    "php": _interpreter("php", ("-r",)),
    "awk": _awk, "gawk": _awk, "mawk": _awk, "nawk": _awk,
    "docker": _container_exec, "podman": _container_exec, "nerdctl": _container_exec,
    "docker-compose": _container_exec, "podman-compose": _container_exec,
    "kubectl": _kube_exec, "oc": _kube_exec, "k": _kube_exec,
}
for _sh in ("bash", "sh", "dash", "zsh", "ksh", "ash", "mksh", "yash", "gatesh"):
    _PEELERS[_sh] = _shell
_PEELERS["trap"] = latercode.trap_code
for _decl in latercode.DECLARERS:
    _PEELERS[_decl] = latercode.declared_code


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
