"""Recognise the wrappers agent harnesses put around a command, to show the agent's own.

Extraction only changes what is displayed and recorded as the inner command: the whole
string is still parsed and classified, so text outside the extracted part cannot escape.
"""

from __future__ import annotations

from .model import Program, SimpleCommand, Word

__all__ = ["extract"]


def _top_commands(prog: Program) -> list[SimpleCommand]:
    out = []
    for pl in prog.pipelines:
        for el in pl.elements:
            if isinstance(el, SimpleCommand):
                out.append(el)
    return out


def _val(w: Word) -> str:
    v = w.value
    return v if v is not None else ""


def _claude(cmds: list[SimpleCommand]) -> str | None:
    """`source SNAP ... && eval 'CMD' < /dev/null && pwd -P >| /tmp/claude-XXXX-cwd`."""
    evals = [c for c in cmds if c.argv and _val(c.argv[0]) == "eval" and len(c.argv) == 2]
    marker = any(c.argv and _val(c.argv[0]) == "pwd" and any(
        r.op == ">|" and r.target is not None and "claude-" in _val(r.target)
        and _val(r.target).endswith("-cwd") for r in c.redirects) for c in cmds)
    if marker and len(evals) == 1:
        return evals[0].argv[1].value
    return None


def _opencode(cmds: list[SimpleCommand]) -> str | None:
    """`shopt -s expand_aliases; ... cd -- "$1"; eval "CMD"`."""
    if len(cmds) < 2:
        return None
    last = cmds[-1]
    cd = any(c.argv and _val(c.argv[0]) == "cd" and len(c.argv) == 3 and _val(c.argv[1]) == "--"
             and c.argv[2].text == '"$1"' for c in cmds)
    shopt = any(c.argv and _val(c.argv[0]) == "shopt" and "expand_aliases" in
                [_val(w) for w in c.argv] for c in cmds)
    if cd and shopt and last.argv and _val(last.argv[0]) == "eval" and len(last.argv) == 2:
        return last.argv[1].value
    return None


def _codex(cmds: list[SimpleCommand]) -> str | None:
    """`if . 'SNAP' >/dev/null 2>&1; then :; fi ... exec 'SHELL' -c 'CMD'`."""
    if not cmds:
        return None
    last = cmds[-1]
    argv = [_val(w) for w in last.argv]
    if len(argv) == 4 and argv[0] == "exec" and argv[2] == "-c" and argv[1].startswith("/"):
        return last.argv[3].value
    return None


def _gemini(text: str) -> str | None:
    """Both known forms: the `( trap ...; CMD )` body, and `{ CMD; }; __code=$?; ...`."""
    if text.startswith("{ ") and "; }; __code=$?; pgrep -g 0 >" in text:
        body, _, tail = text[2:].rpartition("; }; __code=$?; pgrep -g 0 >")
        if tail.rstrip().endswith("exit $__code;") and "\n" not in tail.strip():
            return body
    if text.startswith("shopt -u promptvars") and "\n(\n" in text:
        head, _, rest = text.partition("\n(\n")
        if "_bgpids_file=" not in head:
            return None
        first, _, body = rest.partition("\n")
        if not first.strip().startswith("trap ") or "_bgpids_file" not in first:
            return None
        inner, sep, tail = body.rpartition("\n)\n")
        if sep and tail.strip().startswith("__code=$?") and tail.strip().endswith("exit $__code"):
            return inner
    return None


def extract(text: str, prog: Program | None) -> tuple[str, str]:
    """(harness name, the agent's own command); ("", text) when no wrapper is recognised."""
    if "__code" in text:
        g = _gemini(text)
        if g is not None:
            return "gemini", g
    if prog is None or ("eval" not in text and "exec" not in text):
        return "", text  # every other known wrapper ends in eval or exec
    cmds = _top_commands(prog)
    for name, fn, marker in (("claude-code", _claude, "claude-"), ("opencode", _opencode, "eval"),
                             ("codex", _codex, "exec")):
        if marker in text:
            got = fn(cmds)
            if got is not None:
                return name, got
    return "", text
