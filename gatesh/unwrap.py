"""Flatten a Program into the commands that will run, peeling wrappers recursively.

`sudo env X=1 bash -c 'rm -rf ~'` yields one Invocation, `rm -rf ~`, with via
("sudo", "env", "bash -c").  Code the gate cannot read (a pipe from curl into sh, eval of a
variable) becomes a fail-closed Match instead of a guess.
"""

from __future__ import annotations

from .model import (Assign, Feed, Invocation, Match, PartKind, Pipeline, Program,
                    Redirect, Severity, SimpleCommand, Verdict, Word)
from . import latercode, runners, wrappers
from .shellvalues import (DATA_COMMANDS, bind, echo_output, mktemp_value, split_words,
                          unquoted_body)

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from .steps import Step

__all__ = ["Unwrapped", "unwrap", "MAX_DEPTH"]

MAX_DEPTH = 8


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


def unwrap(program: Program, env: dict[str, str], cwd: str = "/", *, depth: int = 0,
           suspects: frozenset[str] = frozenset(), source: str = "") -> Unwrapped:
    """All invocations in program; env holds variables whose values the gate knows.

    suspects: command names that rules look at; an unknown program whose operands start
    such a command (`tool git reset --hard`) is judged as if it ran them.
    """
    out = Unwrapped()
    _Walker(out, dict(env), cwd, suspects, source).program(program, (), None, depth, "")
    return out


class _Walker:
    def __init__(self, out: Unwrapped, vars: dict[str, str], cwd: str,
                 suspects: frozenset[str] = frozenset(), source: str = "") -> None:
        self.out = out
        self.vars = vars
        self.cwd = cwd
        self.suspects = suspects
        self.run_dir: str | None = None     # after a `cd`; None while still the request's cwd
        self.source = source                # the whole command text, for cross-references

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
                    out = echo_output(tuple(bind(w, self.vars) for w in el.argv))
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
        argv, assigns, redirects = cmd
        plain = True  # every word a known value: nothing to unwrap, bind or split in them
        for w in argv:
            if w[2] is None:  # only a word with an expansion can hold a substitution
                plain = False
                self.word_subs(w, via, remote, depth)
        for a in assigns:
            if a.value is not None:
                self.word_subs(a.value, via, remote, depth)
            for w in a.items:
                self.word_subs(w, via, remote, depth)
        for r in redirects:
            self.redirect_subs(r, via, remote, depth)
            feed = self._redirect_feed(r, feed)
        if assigns and depth < MAX_DEPTH:   # PROMPT_COMMAND=..., PS1='$(...)': run later
            later = latercode.assigned_code(assigns)
            if later is not None:
                self.later(later, via, remote, depth, argv)
        if not argv:
            for a in assigns:
                val = bind(a.value, self.vars).value if a.value is not None else None
                if val is None and a.value is not None:
                    val = mktemp_value(a.value, self.vars)
                elif val is not None and a.value is not None and a.value.parts and \
                        a.value.parts[0].kind is PartKind.TILDE:   # d=~ holds the home path
                    home = self.vars.get("HOME") if a.value.parts[0].text == "~" else None
                    val = home + val[1:] if home else None
                if val is not None and not a.items:
                    self.vars[a.name] = val
                else:
                    self.vars.pop(a.name, None)
            if redirects:
                self.emit(Invocation((), assigns, redirects, feed, via, remote, depth, context))
            return
        if not plain:
            argv = tuple(bind(w, self.vars) for w in split_words(argv, self.vars))
        if argv:
            self.command(argv, assigns, redirects, feed, via, remote, depth, context)

    def _redirect_feed(self, r: Redirect, feed: Feed | None) -> Feed | None:
        if r.fd not in (None, "0"):
            return feed
        if r.heredoc is not None:
            h = r.heredoc
            if h.quoted:
                return Feed("heredoc", h.body, "<<" + h.delimiter)
            return Feed("heredoc", unquoted_body(h.body), "<<" + h.delimiter)
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
        inv = Invocation(argv, assigns, redirects, feed, via, remote, depth, context,
                         self.run_dir if remote is None else None)
        self.out.invocations.append(inv)  # emit(), inlined: this runs for every command
        name = inv.name
        if name in ("cd", "pushd") and remote is None:
            self.change_dir(argv)
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
        if step is None and name in runners.RUNNERS:
            step = runners.string_code(name, argv)
            if step is None:
                k = runners.runner_start(name, argv)
                if k is not None:
                    self.out.steps.append(f"{name}: runs {' '.join(w.text for w in argv[k:])}")
                    self.command(argv[k:], assigns, (), None, via + (name,), remote, depth + 1,
                                 context)
                return
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
        if assigns and step.lang == "sh" and (step.code is not None or step.script or
                                              step.stdin_code):
            self.startup_file(assigns, new_via, new_remote, depth + 1, argv)
        if step.code is not None and step.params is not None:
            self.with_params(step, new_via, new_remote, depth + 1, argv)
        elif step.code is not None:
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

    def with_params(self, step: Step, via: tuple[str, ...], remote: str | None, depth: int,
                    argv: tuple[Word, ...]) -> None:
        """`sh -c CODE NAME A B`: the code's $0, $1, $2 are NAME, A, B where they are known."""
        assert step.code is not None and step.params is not None
        keys = [str(n) for n in range(10)]
        saved = {k: self.vars.pop(k) for k in keys if k in self.vars}
        for k, w in zip(keys, step.params):
            v = bind(w, self.vars).value
            if v is not None:
                self.vars[k] = v
        try:
            self.code(step.code, step.lang, via, remote, depth, argv)
        finally:
            for k in keys:
                self.vars.pop(k, None)
            self.vars.update(saved)

    def startup_file(self, assigns: tuple[Assign, ...], via: tuple[str, ...],
                     remote: str | None, depth: int, argv: tuple[Word, ...]) -> None:
        """`BASH_ENV=F bash ...` (`ENV=F sh ...`): a non-interactive shell sources F first."""
        for a in assigns:
            if a.name not in ("BASH_ENV", "ENV"):
                continue
            path = bind(a.value, self.vars).value if a.value is not None else None
            if path is None or a.items:
                _opaque(self.out, "opaque_script", f"{argv[0].text} first runs the file named "
                        f"by {a.name}, which is only known at run time",
                        " ".join(w.text for w in argv))
            elif path:
                self.script(path, via + (a.name,), remote, depth, argv)

    def later(self, step: Step, via: tuple[str, ...], remote: str | None, depth: int,
              argv: tuple[Word, ...]) -> None:
        self.out.steps.append(step.label)
        if step.opaque:
            _opaque(self.out, step.opaque_rule, step.opaque, " ".join(w.text for w in argv))
        elif step.code:
            self.code(step.code, "sh", via + (step.label,), remote, depth + 1, argv)

    def change_dir(self, argv: tuple[Word, ...]) -> None:
        """Follow `cd DIR`: later commands' relative paths resolve there ("?" when unknown)."""
        import os
        args = [w for w in argv[1:] if w.value not in ("-L", "-P", "-e", "-@", "--")]
        if not args:
            self.run_dir = self.vars.get("HOME") or "?"
            return
        w = args[0]
        v = w.value
        if v is None or v == "-" or w.has_glob or self.run_dir == "?":
            self.run_dir = "?"
            return
        if any(p.kind is PartKind.TILDE for p in w.parts):
            v = (self.vars.get("HOME") or "/") + v[1:] if v.startswith("~") else v
        base = self.run_dir or self.cwd
        self.run_dir = os.path.normpath(os.path.join(base, v))

    def suffix(self, argv: tuple[Word, ...], assigns: tuple[Assign, ...],
               redirects: tuple[Redirect, ...], feed: Feed | None, via: tuple[str, ...],
               remote: str | None, depth: int, context: str) -> None:
        """An unknown program may be a wrapper: judge a command its operands spell out."""
        suspects = self.suspects
        is_wrapper = wrappers.is_wrapper
        for k in range(1, len(argv)):
            v = argv[k][2]
            if v is None or v[:1] == "-":
                continue
            base = v.rsplit("/", 1)[-1].lower()
            if base not in suspects and base.removesuffix(".exe") not in suspects and \
                    not is_wrapper(base):
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
                what = f"passed to {argv[0].text}" if argv else "that the shell runs later"
                _opaque(self.out, "nested_unparseable",
                        f"the shell code {what} could not be parsed ({e})", source)
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
