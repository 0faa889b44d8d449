"""Flatten a Program into the commands that will run, peeling wrappers recursively.

`sudo env X=1 bash -c 'rm -rf ~'` yields one Invocation, `rm -rf ~`, with via
("sudo", "env", "bash -c").  Code the gate cannot read (a pipe from curl into sh, eval of a
variable) becomes a fail-closed Match instead of a guess.
"""

from __future__ import annotations

from .model import (Assign, Feed, Invocation, Match, Part, PartKind, Pipeline, Program,
                    Redirect, Severity, SimpleCommand, Verdict, Word)
from . import wrappers

__all__ = ["Unwrapped", "unwrap", "MAX_DEPTH"]

MAX_DEPTH = 8
_SHELLS = frozenset({"bash", "sh", "dash", "zsh", "ksh", "ash", "mksh", "yash", "gatesh"})


class Unwrapped:
    """What unwrapping found: the invocations, fail-closed matches, and the steps taken."""

    __slots__ = ("invocations", "matches", "steps", "functions")

    def __init__(self) -> None:
        self.invocations: list[Invocation] = []
        self.matches: list[Match] = []
        self.steps: list[str] = []
        self.functions: set[str] = set()


def _opaque(out: Unwrapped, rule: str, why: str, command: str) -> None:
    out.matches.append(Match(rule_id=f"gatesh:{rule}", severity=Severity.HIGH, verdict=Verdict.ASK,
                             why=why, command=command))


def unwrap(program: Program, env: dict[str, str], cwd: str = "/", *, depth: int = 0) -> Unwrapped:
    """All invocations in program; env holds variables whose values the gate knows."""
    out = Unwrapped()
    _Walker(out, dict(env), cwd).program(program, (), None, depth, "")
    return out


def lit(text: str) -> Word:
    return Word(text, (Part(PartKind.LIT, text),))


def _param_name(p: Part) -> str | None:
    """NAME for a $NAME part, or N for a positional parameter written $N or ${N}."""
    if p.kind is PartKind.VAR:
        return p.text
    if p.kind is PartKind.OTHER:
        t = p.text.removeprefix("$").removeprefix("{").removesuffix("}")
        if t.isdigit():
            return t
    return None


def bind(word: Word, vars: dict[str, str]) -> Word:
    """Replace $NAME (and $N) parts whose value is known by literal text."""
    if not any(p.kind is PartKind.VAR or p.kind is PartKind.OTHER for p in word.parts):
        return word
    parts: list[Part] = []
    for p in word.parts:
        name = _param_name(p)
        if name is not None and name in vars:
            val = vars[name]
            if not p.quoted and any(c in val for c in " \t\n*?["):
                parts.append(p)  # would be split or globbed: leave it unknown
            else:
                parts.append(Part(PartKind.LIT, val, True))
        else:
            parts.append(p)
    return Word(word.text, tuple(parts))


def _echo_output(argv: tuple[Word, ...]) -> str | None:
    """The literal output of `echo WORDS` or `printf FMT`, when it is static."""
    vals = [w.value for w in argv]
    if any(v is None for v in vals) or not vals:
        return None
    name = vals[0]
    rest = [v for v in vals[1:] if v is not None]
    if name == "echo":
        newline = True
        while rest and rest[0] in ("-n", "-e", "-E", "-ne", "-en"):
            newline = newline and "n" not in rest[0]
            rest = rest[1:]
        return " ".join(rest) + ("\n" if newline else "")
    if name == "printf" and len(rest) == 1 and "%" not in rest[0] and "\\" not in rest[0]:
        return rest[0]
    return None


class _Walker:
    def __init__(self, out: Unwrapped, vars: dict[str, str], cwd: str) -> None:
        self.out = out
        self.vars = vars
        self.cwd = cwd

    # --- tree walk ------------------------------------------------------------------------

    def program(self, prog: Program, via: tuple[str, ...], remote: str | None, depth: int,
                context: str) -> None:
        if depth > MAX_DEPTH:
            _opaque(self.out, "too_deep", f"commands nested more than {MAX_DEPTH} levels deep "
                    "cannot be reviewed", "")
            return
        for pl in prog.pipelines:
            self.pipeline(pl, via, remote, depth, context)

    def pipeline(self, pl: Pipeline, via: tuple[str, ...], remote: str | None, depth: int,
                 context: str) -> None:
        feed: Feed | None = None
        for el in pl.elements:
            if isinstance(el, SimpleCommand):
                self.simple(el, feed, via, remote, depth, context)
                text = " ".join(w.text for w in el.argv)
                out = _echo_output(tuple(bind(w, self.vars) for w in el.argv))
                feed = Feed("pipe", out, text)
            else:
                for w in el.words:
                    self.word_subs(w, via, remote, depth)
                for r in el.redirects:
                    self.redirect_subs(r, via, remote, depth)
                ctx = f"function:{el.name}" if el.kind == "function" else context
                if el.kind == "function" and el.name:
                    self.out.functions.add(el.name)
                self.program(el.body, via, remote, depth, ctx)
                feed = Feed("pipe", None, el.kind)

    def word_subs(self, w: Word, via: tuple[str, ...], remote: str | None, depth: int) -> None:
        for p in w.parts:
            if p.program is not None:
                ctx = "cmdsub" if p.kind is PartKind.CMDSUB else "procsub"
                self.program(p.program, via, remote, depth, ctx)

    def redirect_subs(self, r: Redirect, via: tuple[str, ...], remote: str | None,
                      depth: int) -> None:
        if r.target is not None:
            self.word_subs(r.target, via, remote, depth)
        if r.heredoc is not None:
            for sub in r.heredoc.substitutions:
                self.program(sub, via, remote, depth, "heredoc")

    def simple(self, cmd: SimpleCommand, feed: Feed | None, via: tuple[str, ...],
               remote: str | None, depth: int, context: str) -> None:
        for w in cmd.argv:
            self.word_subs(w, via, remote, depth)
        for a in cmd.assigns:
            if a.value is not None:
                self.word_subs(a.value, via, remote, depth)
            for w in a.items:
                self.word_subs(w, via, remote, depth)
        for r in cmd.redirects:
            self.redirect_subs(r, via, remote, depth)
            feed = self._redirect_feed(r, feed)
        if not cmd.argv:
            for a in cmd.assigns:
                val = bind(a.value, self.vars).value if a.value is not None else None
                if val is not None and not a.items:
                    self.vars[a.name] = val
                else:
                    self.vars.pop(a.name, None)
            if cmd.redirects:
                self.emit(Invocation((), cmd.assigns, cmd.redirects, feed, via, remote, depth,
                                     context))
            return
        argv = tuple(bind(w, self.vars) for w in cmd.argv)
        self.command(argv, cmd.assigns, cmd.redirects, feed, via, remote, depth, context)

    def _redirect_feed(self, r: Redirect, feed: Feed | None) -> Feed | None:
        if r.fd not in (None, "0"):
            return feed
        if r.heredoc is not None:
            h = r.heredoc
            static = h.quoted or ("$" not in h.body and "`" not in h.body and "\\" not in h.body)
            return Feed("heredoc", h.body if static else None, "<<" + h.delimiter)
        if r.op == "<<<" and r.target is not None:
            v = bind(r.target, self.vars).value
            return Feed("herestring", None if v is None else v + "\n", r.target.text)
        if r.op == "<" and r.target is not None:
            kind = "procsub" if any(p.kind is PartKind.PROCSUB for p in r.target.parts) else "file"
            return Feed(kind, None, r.target.text)
        return feed

    # --- one command, possibly a wrapper --------------------------------------------------

    def emit(self, inv: Invocation) -> None:
        self.out.invocations.append(inv)

    def command(self, argv: tuple[Word, ...], assigns: tuple[Assign, ...],
                redirects: tuple[Redirect, ...], feed: Feed | None, via: tuple[str, ...],
                remote: str | None, depth: int, context: str) -> None:
        inv = Invocation(argv, assigns, redirects, feed, via, remote, depth, context)
        self.emit(inv)
        name = inv.name
        if name is None or depth >= MAX_DEPTH:
            if depth >= MAX_DEPTH:
                _opaque(self.out, "too_deep", "wrappers nested too deeply to review", argv[0].text)
            return
        step = wrappers.peel(name, argv)
        if step is None:
            return
        self.out.steps.append(f"{name}: {step.note}" if step.note else name)
        if step.opaque:
            _opaque(self.out, step.opaque_rule, step.opaque, " ".join(w.text for w in argv))
            return
        new_via = via + (step.label,)
        new_remote = step.remote or remote
        if step.code is not None:
            self.code(step.code, step.lang, new_via, new_remote, depth + 1, argv)
        if step.script is not None:
            self.script(step.script, new_via, new_remote, depth + 1, argv)
        if step.stdin_code:
            self.stdin_code(name, step.lang, feed, new_via, new_remote, depth + 1, argv)
        if step.argv:
            env_assigns = assigns + step.assigns
            self.command(step.argv, env_assigns, redirects if step.keep_redirects else (),
                         feed if step.keep_stdin else None, new_via, new_remote, depth + 1,
                         context)
        if step.extra is not None:
            self.command(step.extra, assigns, (), None, new_via, new_remote, depth + 1, context)

    def code(self, text: str, lang: str, via: tuple[str, ...], remote: str | None, depth: int,
             argv: tuple[Word, ...]) -> None:
        source = " ".join(w.text for w in argv)
        if lang == "sh":
            from .parse import parse
            from .errors import Unparseable
            try:
                prog = parse(text)
            except Unparseable as e:
                _opaque(self.out, "nested_unparseable",
                        f"the shell code passed to {argv[0].text} could not be parsed ({e})", source)
                return
            self.program(prog, via, remote, depth, "")
        else:
            from . import interp
            for item in interp.scan(lang, text):
                if isinstance(item, str):
                    self.code(item, "sh", via, remote, depth, argv)
                else:
                    self.emit(Invocation(item, (), (), None, via + (lang,), remote, depth,
                                         "interpreter"))

    def script(self, path: str, via: tuple[str, ...], remote: str | None, depth: int,
               argv: tuple[Word, ...]) -> None:
        import os
        if remote is None:
            full = path if path.startswith("/") else os.path.join(self.cwd, path)
            try:
                with open(full, "rb") as f:
                    text = f.read(1 << 20).decode("utf-8", "surrogateescape")
            except OSError:
                text = None
            if text is not None:
                self.code(text, "sh", via, remote, depth, argv)
                return
        _opaque(self.out, "opaque_script",
                f"{argv[0].text} runs the script {path}, which the gate cannot read",
                " ".join(w.text for w in argv))

    def stdin_code(self, name: str, lang: str, feed: Feed | None, via: tuple[str, ...],
                   remote: str | None, depth: int, argv: tuple[Word, ...]) -> None:
        if feed is None:
            return  # reads the caller's own stdin: an interactive or nested gated shell
        if feed.literal is not None:
            self.code(feed.literal, lang, via, remote, depth, argv)
            return
        _opaque(self.out, "opaque_stdin",
                f"{name} runs code it reads from {feed.kind} `{feed.source}`, which the gate "
                "cannot read", " ".join(w.text for w in argv))
