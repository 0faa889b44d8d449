"""Helpers for the parser tests: a compact text form of the IR, and bash as an argv oracle.

dump(program) is one line, so a test can state the expected IR briefly:

    rm -rf / ; a | b &        pipelines, `!` for negated, `&` for background
    X=1 cmd $(ls) >o 2>&1     assigns, argv words, redirects ({fd} op target)
    for[a b]{ echo $i }       compounds: kind, [words], {body}, redirects; function:NAME
Word parts: LIT as text (repr() when not plain), ${NAME} for VAR, $( ) / <( ) with the
parsed body, «source» for OTHER (followed by {body} when it holds substitutions).
"""

from __future__ import annotations

import os
import subprocess

from gatesh.model import Compound, Part, PartKind, Pipeline, Program, Redirect, SimpleCommand, \
    Word

__all__ = ["dump", "dump_word", "executed", "bash_argvs", "bash_builtins", "BASH"]

BASH = "/usr/bin/bash" if os.path.exists("/usr/bin/bash") else "/bin/bash"

_PLAIN = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./,:=+@%^~")


def dump(prog: Program) -> str:
    return " ; ".join(_pipeline(p) for p in prog.pipelines)


def _pipeline(p: Pipeline) -> str:
    body = " | ".join(_node(e) for e in p.elements)
    return ("! " if p.negated else "") + body + (" &" if p.background else "")


def _node(n: object) -> str:
    if isinstance(n, Compound):
        out = n.kind + (f":{n.name}" if n.name else "")
        if n.words:
            out += "[" + " ".join(dump_word(w) for w in n.words) + "]"
        out += "{ " + dump(n.body) + " }" if n.body.pipelines else "{}"
        return " ".join([out, *(_redirect(r) for r in n.redirects)])
    bits = []
    for a in n.assigns:  # type: ignore[attr-defined]
        if a.value is None:
            bits.append(f"{a.name}=(" + " ".join(dump_word(w) for w in a.items) + ")")
        else:
            bits.append(f"{a.name}=" + dump_word(a.value))
    bits.extend(dump_word(w) for w in n.argv)  # type: ignore[attr-defined]
    bits.extend(_redirect(r) for r in n.redirects)  # type: ignore[attr-defined]
    return " ".join(bits)


def _redirect(r: Redirect) -> str:
    fd = r.fd or ""
    if r.heredoc is not None:
        h = r.heredoc
        subs = "".join("{" + dump(s) + "}" for s in h.substitutions)
        return f"{fd}{r.op}{'q' if h.quoted else ''}:{h.delimiter}{subs}"
    return f"{fd}{r.op}{dump_word(r.target) if r.target is not None else ''}"


def dump_word(w: Word) -> str:
    out = "".join(_part(p) for p in w.parts)
    return out if out else "''"


def _part(p: Part) -> str:
    if p.kind is PartKind.LIT:
        return p.text if p.text and _PLAIN.issuperset(p.text) else repr(p.text)
    if p.kind is PartKind.VAR:
        return "${" + p.text + "}"
    if p.kind is PartKind.CMDSUB:
        return "$(" + dump(p.program) + ")" if p.program is not None else "$(?)"
    if p.kind is PartKind.PROCSUB:
        return p.text[0] + "(" + dump(p.program) + ")" if p.program is not None else "<(?)"
    if p.kind is PartKind.OTHER:
        return "«" + p.text + "»" + ("{" + dump(p.program) + "}" if p.program else "")
    return p.text


def executed(prog: Program, env: dict[str, str] | None = None) -> list[list[str | None]]:
    """argv of every simple command the program may run, substitutions included.

    A word's value is None when it is not static; with env, $NAME parts take env's values.
    """
    out: list[list[str | None]] = []
    _walk(prog, out, env or {})
    return out


def _value(w: Word, env: dict[str, str]) -> str | None:
    out = []
    for p in w.parts:
        if p.kind is PartKind.VAR and p.text in env:
            out.append(env[p.text])
        elif p.kind in (PartKind.LIT, PartKind.GLOB, PartKind.TILDE):
            out.append(p.text)
        else:
            return None
    return "".join(out)


def _walk(prog: Program, out: list[list[str | None]], env: dict[str, str]) -> None:
    for pl in prog.pipelines:
        for el in pl.elements:
            words: list[Word] = []
            if isinstance(el, SimpleCommand):
                if el.argv:
                    out.append([_value(w, env) for w in el.argv])
                words.extend(el.argv)
                for a in el.assigns:
                    words.extend(([a.value] if a.value is not None else []) + list(a.items))
            else:
                words.extend(el.words)
                _walk(el.body, out, env)
            for r in el.redirects:
                if r.target is not None:
                    words.append(r.target)
                for sub in r.heredoc.substitutions if r.heredoc is not None else ():
                    _walk(sub, out, env)
            for w in words:
                for p in w.parts:
                    if p.program is not None:
                        _walk(p.program, out, env)


# Every command bash cannot find prints its argv (on fd 9) instead of running: with PATH
# pointing nowhere, `rm -rf /` in a probe only prints rm, -rf and /.  HOME is "~", so a
# tilde that bash expands still reads "~".
_PROBE = ("exec 9>&1 >/dev/null 2>&1\n"   # one printf, one write: pipelines run in parallel
          "command_not_found_handle() { local IFS=$'\\x1f'; printf '%s\\x1f\\x1e' \"$*\" >&9; }\n")


def bash_argvs(command: str, cwd: str, env: dict[str, str] | None = None) -> list[list[str]]:
    """The argv of each external command bash runs for command (none is executed).

    Run it in an empty directory: the command may create files there.
    """
    full = {"PATH": "/nonexistent-gatesh-probe", "HOME": "~", "LC_ALL": "C.UTF-8"}
    full.update(env or {})
    p = subprocess.run([BASH, "-c", _PROBE + command], env=full, cwd=cwd, capture_output=True,
                       timeout=20)
    records = p.stdout.decode("utf-8", "surrogateescape").split("\x1e")[:-1]
    return [r.split("\x1f")[:-1] for r in records]


def bash_builtins() -> set[str]:
    """Names bash runs itself: they never reach the probe."""
    p = subprocess.run([BASH, "-c", "compgen -b"], capture_output=True, text=True,
                       timeout=20)
    return set(p.stdout.split())
