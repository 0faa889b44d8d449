"""Commands whose operands come from input: xargs, parallel, and find's -exec.

The input is unknown to the gate; UNKNOWN_INPUT stands for it.  Imported on first use
by gatesh.wrappers: few commands need it (start-up time).
"""

from __future__ import annotations

import re
import shlex

from .model import Part, PartKind, Word, lit
from .steps import UNKNOWN_INPUT, Step, join_code, skip_options
from .targets import BUILD_OUTPUT

TYPE_CHECKING = False  # importing typing would cost start-up time
if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable

__all__ = ["xargs", "parallel", "find", "PEELERS"]


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


def xargs(argv: tuple[Word, ...]) -> Step | None:
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
        cmd = (lit("echo"),)
    token = None
    for opt in ("-I", "-J", "--replace", "-i"):
        if opt in seen:
            token = seen[opt] or "{}"
    if token is not None:
        cmd = _replace_input(cmd, token)  # -I: input only where the token is, never appended
    else:
        cmd = cmd + (UNKNOWN_INPUT,)
    return Step("xargs", argv=cmd, keep_stdin=False, keep_redirects=False, note="input unknown")


_PARALLEL_LONG = ("--jobs", "--arg-file", "--delimiter", "--sshlogin", "--joblog", "--results",
                  "--tmpdir", "--timeout", "--retries", "--delay", "--memfree", "--load",
                  "--workdir", "--colsep", "--tagstring", "--env", "--sshloginfile", "--slf",
                  "--basefile", "--bf", "--return", "--transferfile", "--tf", "--halt",
                  "--limit", "--nice", "--profile", "--max-args", "--max-replace-args",
                  "--max-chars", "--block", "--block-size", "--recstart", "--recend",
                  "--header", "--termseq", "--rpl", "--ssh", "--shebang-wrap")
_SEPS = (":::", "::::", ":::+", "::::+")
# Without -q, parallel joins its command words with spaces and hands the line to a shell,
# so a word holding one of these is shell syntax, not an operand: `parallel echo 'a; rm x'`.
_SHELL_SPECIAL = re.compile(r"[\s;&|<>()$`'\"\\~*?\[{}!#]")
# Replacement strings: {} {.} {/} {//} {/.} {#} {%} and the positional {1} {1.} {1/} ...
_REPL = re.compile(r"\{(?:\d*(?:\.|/|//|/\.)?|#|%)\}")
_MAX_JOBS = 200


def parallel(argv: tuple[Word, ...]) -> Step | None:
    rest = argv[1:]
    i, opts = skip_options(rest, "jJadEILnNPSX", _PARALLEL_LONG)
    rest = rest[i:]
    seps = [k for k, w in enumerate(rest) if w.value in _SEPS]
    cmd = rest[:seps[0]] if seps else rest
    inputs = rest[seps[0] + 1:] if seps else ()
    if not cmd:
        if seps and not inputs:
            return None  # `parallel :::` has nothing to run
        if inputs and rest[seps[0]].value == ":::":
            return join_code(inputs[:1], "parallel") if len(inputs) == 1 else Step(
                "parallel", code="\n".join(w.value or "" for w in inputs)) if all(
                w.value is not None for w in inputs) else Step(
                "parallel", opaque="parallel runs commands built at run time",
                opaque_rule="opaque_code")
        return Step("parallel", stdin_code=True)
    composed = "-q" not in opts and "--quote" not in opts and any(
        w.value is not None and _SHELL_SPECIAL.search(_REPL.sub("", w.value)) for w in cmd)
    if not inputs or any(rest[k].value in ("::::", "::::+") for k in seps):
        return _from_input(cmd, composed)
    return _jobs(cmd, [w for w in inputs if w.value not in _SEPS], composed)


def _from_input(cmd: tuple[Word, ...], composed: bool) -> Step:
    """parallel fed from stdin or a file: its operands are unknown."""
    if composed:
        return Step("parallel", opaque="parallel runs a command line built at run time",
                    opaque_rule="opaque_code")
    out: list[Word] = []
    for w in cmd:
        out.append(UNKNOWN_INPUT if w.value is not None and _REPL.search(w.value) else w)
    if not any(w is UNKNOWN_INPUT for w in out):
        out.append(UNKNOWN_INPUT)  # no {}: the input is appended
    return Step("parallel", argv=tuple(out), keep_stdin=False)


def _jobs(cmd: tuple[Word, ...], inputs: list[Word], composed: bool) -> Step:
    """Shell code for every job of `parallel CMD ::: INPUTS`, read both ways it may run.

    GNU parallel (without -q) joins the command words with spaces and hands the line to a
    shell; moreutils' parallel and `parallel -q` run the words as they are.  Both readings are
    judged.  Each input is written back as its own source text, so a glob, `~` or `$VAR` the
    outer shell expands stays one: `parallel rm -rf {} ::: *` is judged as `rm -rf *`.
    """
    if len(inputs) > _MAX_JOBS or (composed and any(w.value is None for w in cmd)):
        return Step("parallel", opaque="parallel runs more commands, or a command line built "
                    "at run time, than the gate reads", opaque_rule="opaque_code")
    lines = []
    for inp in inputs:
        lines.append(_job(cmd, inp, False))
        if composed:
            line = _job(cmd, inp, True)
            if "\n" in line or _parses(line):
                lines.append(line)  # a one-line syntax error runs nothing: GNU parallel's shell
    return Step("parallel", code="\n".join(lines))


def _job(cmd: tuple[Word, ...], inp: Word, composed: bool) -> str:
    used = False
    words = []
    q = (lambda x: x) if composed else shlex.quote
    for w in cmd:
        v = w.value
        if v is not None and _REPL.search(v):
            words.append(inp.text.join(q(x) if x else "" for x in _REPL.split(v)))
            used = True
        elif composed:
            words.append(v)  # type: ignore[arg-type]
        else:
            words.append(w.text)
    if not used:
        words.append(inp.text)
    return " ".join(words)  # type: ignore[arg-type]


def _parses(line: str) -> bool:
    from .errors import Unparseable
    from .parse import parse
    try:
        parse(line)
    except Unparseable:
        return False
    return True


def _found(start: Word | None) -> Word:
    """What find's {} stands for: anything under its first start point (the start point
    itself included: `find . -exec rm -rf {} +` with no test empties the directory)."""
    if start is None or start.value is None or start.has_glob:
        return UNKNOWN_INPUT
    parts = start.parts + (Part(PartKind.LIT, "/"), Part(PartKind.GLOB, "*"))
    return Word(start.text + "/{}", parts)


def find(argv: tuple[Word, ...]) -> Step | None:
    words = argv[1:]
    start = None
    for w in words:
        v = w.value
        if v is None or v.startswith(("-", "(", "!")):
            break
        start = start or w
    if start is None and words and (words[0].value or "").startswith("-"):
        start = lit(".")   # no start point: the cwd
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
                more = find((argv[0],) + rest) if rest else None
                if more is not None:
                    step.extra = more.argv
                return step
    return None


PEELERS: dict[str, Callable[[tuple[Word, ...]], Step | None]] = {
    "xargs": xargs, "parallel": parallel, "find": find,
}
