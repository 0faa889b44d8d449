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


# Commands that only read, print or look up their operands: `echo rm -rf /` is data.
DATA_COMMANDS = frozenset({
    "echo", "printf", "print", "man", "which", "type", "whatis", "whereis", "help", "info",
    "apropos", "tldr", "grep", "egrep", "fgrep", "rg", "ag", "ack", "cat", "less", "more",
    "head", "tail", "wc", "sort", "uniq", "cut", "tr", "ls", "file", "stat", "test", "[", "[[",
    "true", "false", ":", "history", "complete", "compgen", "declare", "typeset", "local",
    "read", "printenv", "hash", "shopt", "set", "unset", "cd", "pushd", "popd", "pwd",
    "basename", "dirname", "realpath", "readlink", "date", "sleep", "seq", "touch", "mkdir",
    "diff", "cmp", "jq", "yq", "xxd", "hexdump", "od", "strings", "base64", "md5sum",
    "sha1sum", "sha256sum", "column", "fmt", "fold", "nl", "paste", "join", "comm", "rev",
    "tac", "look", "git", "apt", "apt-get", "apt-cache", "brew", "pip", "pip3", "npm", "yarn",
    "pnpm", "cargo", "gem", "dnf", "yum", "pacman", "snap", "conda", "mamba", "uv", "pipx",
    "go", "rustup", "nix", "choco", "winget", "port", "zypper", "apk", "flatpak", "alias",
    "unalias", "export", "readonly", "let", "trap", "wait", "jobs", "fg", "bg", "disown",
    "kill", "getopts", "shift", "return", "exit", "break", "continue", "logger", "notify-send",
    "say", "espeak", "cowsay", "figlet", "toilet", "lolcat", "banner", "write", "wall",
})


def unwrap(program: Program, env: dict[str, str], cwd: str = "/", *, depth: int = 0,
           suspects: frozenset[str] = frozenset(), source: str = "") -> Unwrapped:
    """All invocations in program; env holds variables whose values the gate knows.

    suspects: command names that rules look at; an unknown program whose operands start
    such a command (`tool git reset --hard`) is judged as if it ran them.
    """
    out = Unwrapped()
    w = _Walker(out, dict(env), cwd)
    w.suspects = suspects
    w.source = source
    w.program(program, (), None, depth, "")
    return out


def _split_value(value: str) -> tuple[Word, ...]:
    """A variable's value after word splitting; a leading ~ is kept as a tilde (be safe)."""
    out = []
    for t in value.split():
        if t.startswith("~"):
            head, sep, tail = t.partition("/")
            parts = (Part(PartKind.TILDE, head),) + ((Part(PartKind.LIT, sep + tail),) if sep else ())
            out.append(Word(t, parts))
        else:
            out.append(Word(t, (Part(PartKind.LIT, t),)))
    return tuple(out)


def split_words(words: tuple[Word, ...], vars: dict[str, str]) -> tuple[Word, ...]:
    """Word splitting of lone variables holding spaces (`W='rm -rf ~'; $W`).

    The command word splits even when quoted: "$W" naming a command cannot run as one.
    """
    if all(w[2] is not None for w in words):
        return words
    out: list[Word] = []
    changed = False
    for k, w in enumerate(words):
        if len(w.parts) == 1:
            name = _param_name(w.parts[0])
            val = vars.get(name) if name is not None else None
            if val is not None and any(c in val for c in " \t\n") and (
                    k == 0 or not w.parts[0].quoted):
                out.extend(_split_value(val))
                changed = True
                continue
        out.append(w)
    return tuple(out) if changed else words


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
    if word[2] is not None:
        return word  # a known value means no expansion at all
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


def _unquoted_body(body: str) -> str | None:
    """An unquoted heredoc's text as fed, when it holds no expansion: \\$, \\`, \\\\
    and backslash-newline are its only escapes."""
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt == "\n":
                i += 2
                continue
            out.append(nxt if nxt in "$`\\" else ch + nxt)
            i += 2
            continue
        if ch in "$`":
            return None
        out.append(ch)
        i += 1
    return "".join(out)


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
        self.suspects: frozenset[str] = frozenset()
        self.source = ""                    # the whole command text, for cross-references

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
        last = len(pl.elements) - 1
        for i, el in enumerate(pl.elements):
            if isinstance(el, SimpleCommand):
                self.simple(el, feed, via, remote, depth, context)
                if i < last:  # what the next element reads
                    text = " ".join(w.text for w in el.argv)
                    out = _echo_output(tuple(bind(w, self.vars) for w in el.argv))
                    if out is None and [w.value for w in el.argv] in (["cat"], ["cat", "-"]):
                        own = None
                        for r in el.redirects:
                            own = self._redirect_feed(r, own)
                        out = own.literal if own is not None else None  # cat <<'EOF' | sh
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
        argv = tuple(bind(w, self.vars) for w in split_words(cmd.argv, self.vars))
        if argv:
            self.command(argv, cmd.assigns, cmd.redirects, feed, via, remote, depth, context)

    def _redirect_feed(self, r: Redirect, feed: Feed | None) -> Feed | None:
        if r.fd not in (None, "0"):
            return feed
        if r.heredoc is not None:
            h = r.heredoc
            if h.quoted:
                return Feed("heredoc", h.body, "<<" + h.delimiter)
            return Feed("heredoc", _unquoted_body(h.body), "<<" + h.delimiter)
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
        if step is None and name.startswith("python") and feed is not None and feed.literal:
            # a Python script fed a literal heredoc: its strings may be commands it runs
            from . import interp
            for lit in interp.literals(feed.literal):
                if " " in lit:
                    self.code(lit, "sh?", via + (name,), remote, depth + 1, argv)
        if step is None:
            if name not in DATA_COMMANDS and name not in self.suspects and self.suspects \
                    and not wrappers.is_wrapper(name):
                self.suffix(argv, assigns, redirects, feed, via, remote, depth, context)
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

    def suffix(self, argv: tuple[Word, ...], assigns: tuple[Assign, ...],
               redirects: tuple[Redirect, ...], feed: Feed | None, via: tuple[str, ...],
               remote: str | None, depth: int, context: str) -> None:
        """An unknown program may be a wrapper: judge a command its operands spell out."""
        suspects = self.suspects
        for k in range(1, len(argv)):
            v = argv[k][2]
            if v is None or v[:1] == "-":
                continue
            base = v.rsplit("/", 1)[-1].lower()
            if base not in suspects and base.removesuffix(".exe") not in suspects and \
                    not wrappers.is_wrapper(base):
                continue
            sub = Invocation(argv[k:])
            if sub.name is not None and (sub.name in suspects or wrappers.is_wrapper(sub.name)):
                self.out.steps.append(f"{argv[0].text}: may run {sub.name}")
                self.command(argv[k:], assigns, (), None, via + (f"{argv[0].text}?",), remote,
                             depth + 1, context)
                return

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
        elif lang == "sh?":
            # a guess: text that may be shell (a string in other code); unreadable is fine
            from .parse import parse
            from .errors import Unparseable
            try:
                prog = parse(text)
            except Unparseable:
                return
            self.program(prog, via, remote, depth, "string")
        else:
            from . import interp
            for item in interp.scan(lang, text):
                if isinstance(item, str):
                    self.code(item, "sh", via, remote, depth, argv)
                else:
                    self.command(item, (), (), None, via + (lang,), remote, depth, "interpreter")
            if len(text) <= 4096:
                # over-approximate: the code itself, and each string in it, read as shell
                self.code(text, "sh?", via + (lang,), remote, depth, argv)
                for lit in interp.literals(text) if lang == "python" else ():
                    if " " in lit:
                        self.code(lit, "sh?", via + (lang,), remote, depth, argv)

    def script(self, path: str, via: tuple[str, ...], remote: str | None, depth: int,
               argv: tuple[Word, ...]) -> None:
        import os
        import stat
        if remote is None:
            full = path if path.startswith("/") else os.path.join(self.cwd, path)
            text = None
            written_here = self.source.count(os.path.basename(path)) > 1
            try:
                st = os.stat(full)
                # only a regular file that this same command does not write first; never
                # open /dev/stdin, FIFOs or devices: reading them could hang or consume input
                if stat.S_ISREG(st.st_mode) and not written_here and not full.startswith(
                        ("/dev/", "/proc/")):
                    with open(full, "rb") as f:
                        text = f.read(1 << 20).decode("utf-8", "surrogateescape")
            except OSError:
                text = None
            if text is not None:
                self.code(text, "sh", via, remote, depth, argv)
                return
            if not os.path.lexists(full) and not written_here:
                return  # missing and not created by this command: bash only reports it
        _opaque(self.out, "opaque_script",
                f"{argv[0].text} runs the script {path}, which the gate cannot read",
                " ".join(w.text for w in argv))

    def stdin_code(self, name: str, lang: str, feed: Feed | None, via: tuple[str, ...],
                   remote: str | None, depth: int, argv: tuple[Word, ...]) -> None:
        if feed is None:
            if name == "parallel":
                _opaque(self.out, "opaque_stdin", "parallel runs commands it reads from its "
                        "input, which the gate cannot see", " ".join(w.text for w in argv))
            return  # a shell reading the caller's own stdin: interactive or a nested gate
        if feed.literal is not None:
            self.code(feed.literal, lang, via, remote, depth, argv)
            return
        _opaque(self.out, "opaque_stdin",
                f"{name} runs code it reads from {feed.kind} `{feed.source}`, which the gate "
                "cannot read", " ".join(w.text for w in argv))
