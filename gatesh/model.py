"""Frozen data passed between the pipeline stages.

parse -> Program (the IR); unwrap -> Invocation; classify -> Match; decide -> Decision.
Records are frozen named tuples (record.py): as immutable as frozen dataclasses, without
their start-up cost on every `gatesh -c`.
"""

from __future__ import annotations

from enum import Enum

from .record import Record

__all__ = [
    "PartKind", "Part", "Word", "lit", "Assign", "Heredoc", "Redirect", "SimpleCommand", "Compound",
    "Pipeline", "Program", "Feed", "Invocation", "Severity", "Verdict", "Match", "Decision",
]


class PartKind(str, Enum):
    """What one piece of a shell word is, after quote removal."""

    LIT = "lit"        # literal characters (quoted or not), quotes and escapes removed
    GLOB = "glob"      # unquoted *, ? or [...] (text is the pattern as written)
    TILDE = "tilde"    # unquoted leading ~ or ~user (text is "~" or "~user")
    VAR = "var"        # $NAME or ${NAME} with no operator (text is NAME)
    CMDSUB = "cmdsub"  # $(...) or `...` (program holds the parsed body)
    PROCSUB = "procsub"  # <(...) or >(...) (program holds the parsed body)
    OTHER = "other"    # any other expansion: ${x:-y}, $((...)), $@, $1, ... (text is the source)


class Part(Record):
    """One piece of a word: kind, text, whether it was quoted, and a parsed body if any."""

    __slots__ = ()
    _fields = ("kind", "text", "quoted", "program")
    kind: PartKind
    text: str
    quoted: bool
    program: Program | None

    def __new__(cls, kind: PartKind, text: str, quoted: bool = False,
                program: Program | None = None) -> Part:
        return tuple.__new__(cls, (kind, text, quoted, program))


class Word(Record):
    """One shell word: its exact source text and its parts after quote removal.

    value is computed once, when the word is built: the word as bash passes it when it
    holds no expansion (globs and ~ kept as text), else None.
    """

    __slots__ = ()
    _fields = ("text", "parts", "value")
    text: str
    parts: tuple[Part, ...]
    value: str | None

    def __new__(cls, text: str, parts: tuple[Part, ...], value: object = None) -> Word:
        if len(parts) == 1:
            p = parts[0]
            v = p[1] if p[0] is PartKind.LIT or p[0] is PartKind.GLOB or p[0] is PartKind.TILDE \
                else None
        else:
            out = []
            for p in parts:
                if p[0] is PartKind.LIT or p[0] is PartKind.GLOB or p[0] is PartKind.TILDE:
                    out.append(p[1])
                else:
                    out = None  # type: ignore[assignment]
                    break
            v = None if out is None else "".join(out)
        return tuple.__new__(cls, (text, parts, v))

    @property
    def literal(self) -> str | None:
        """The value when the word is plain literal text: no glob, tilde or expansion."""
        out = []
        for p in self[1]:
            if p[0] is not PartKind.LIT:
                return None
            out.append(p[1])
        return "".join(out)

    @property
    def has_glob(self) -> bool:
        return any(p[0] is PartKind.GLOB for p in self[1])


def lit(text: str) -> Word:
    """A word of plain literal text."""
    return Word(text, (Part(PartKind.LIT, text),))


class Assign(Record):
    """NAME=value (or NAME+=value, or an array assignment) before a command or alone."""

    __slots__ = ()
    _fields = ("name", "value", "items")
    name: str
    value: Word | None            # None for an array assignment NAME=(...)
    items: tuple[Word, ...]       # the words of an array assignment

    def __new__(cls, name: str, value: Word | None, items: tuple[Word, ...] = ()) -> Assign:
        return tuple.__new__(cls, (name, value, items))


class Heredoc(Record):
    """A here-document: delimiter, whether it was quoted (literal body), and the body."""

    __slots__ = ()
    _fields = ("delimiter", "quoted", "strip_tabs", "body", "substitutions")
    delimiter: str                # after quote removal
    quoted: bool                  # any quoting in the delimiter: the body is literal
    strip_tabs: bool              # <<- form
    body: str                     # body text as written (tabs already stripped for <<-)
    substitutions: tuple[Program, ...]  # $(...) and `...` inside an unquoted body

    def __new__(cls, delimiter: str, quoted: bool, strip_tabs: bool, body: str,
                substitutions: tuple[Program, ...] = ()) -> Heredoc:
        return tuple.__new__(cls, (delimiter, quoted, strip_tabs, body, substitutions))


class Redirect(Record):
    """op: '<' '>' '>>' '>|' '&>' '&>>' '<&' '>&' '<>' '<<' '<<-' '<<<'."""

    __slots__ = ()
    _fields = ("op", "fd", "target", "heredoc")
    op: str
    fd: str | None                # explicit left-hand fd ("2", "{var}") or None
    target: Word | None           # file, fd word or here-string word; None for a heredoc
    heredoc: Heredoc | None

    def __new__(cls, op: str, fd: str | None, target: Word | None,
                heredoc: Heredoc | None = None) -> Redirect:
        return tuple.__new__(cls, (op, fd, target, heredoc))


class SimpleCommand(Record):
    """argv after brace expansion (may be empty: an assignment or redirect alone)."""

    __slots__ = ()
    _fields = ("argv", "assigns", "redirects")
    argv: tuple[Word, ...]
    assigns: tuple[Assign, ...]
    redirects: tuple[Redirect, ...]

    def __new__(cls, argv: tuple[Word, ...], assigns: tuple[Assign, ...] = (),
                redirects: tuple[Redirect, ...] = ()) -> SimpleCommand:
        return tuple.__new__(cls, (argv, assigns, redirects))


class Compound(Record):
    """A compound command; control flow is flattened: every branch may run.

    kind: subshell, group, if, while, until, for, select, case, function, arith, test,
    coproc.  words: the words it evaluates itself (for-loop items, case subject and patterns,
    test and arithmetic operands), which may hold substitutions.
    """

    __slots__ = ()
    _fields = ("kind", "body", "words", "redirects", "name")
    kind: str
    body: Program
    words: tuple[Word, ...]
    redirects: tuple[Redirect, ...]
    name: str                     # function name, for kind == "function"

    def __new__(cls, kind: str, body: Program, words: tuple[Word, ...] = (),
                redirects: tuple[Redirect, ...] = (), name: str = "") -> Compound:
        return tuple.__new__(cls, (kind, body, words, redirects, name))


Node = SimpleCommand | Compound


class Pipeline(Record):
    """Elements joined by | or |&."""

    __slots__ = ()
    _fields = ("elements", "negated", "background")
    elements: tuple[Node, ...]
    negated: bool
    background: bool

    def __new__(cls, elements: tuple[Node, ...], negated: bool = False,
                background: bool = False) -> Pipeline:
        return tuple.__new__(cls, (elements, negated, background))


class Program(Record):
    """A list of pipelines in source order, whatever joins them (; && || & newline)."""

    __slots__ = ()
    _fields = ("pipelines",)
    pipelines: tuple[Pipeline, ...]

    def __new__(cls, pipelines: tuple[Pipeline, ...]) -> Program:
        return tuple.__new__(cls, (pipelines,))


# --- after unwrapping -------------------------------------------------------------------


class Feed(Record):
    """What a command reads on stdin when the gate can tell.

    kind: "pipe" (source is the upstream element), "heredoc", "herestring", "file",
    "procsub".  literal: the exact text fed, when it is static; None when it cannot be known.
    """

    __slots__ = ()
    _fields = ("kind", "literal", "source")
    kind: str
    literal: str | None
    source: str

    def __new__(cls, kind: str, literal: str | None, source: str = "") -> Feed:
        return tuple.__new__(cls, (kind, literal, source))


class Invocation(Record):
    """One command that will run, after wrappers were peeled off."""

    __slots__ = ()
    _fields = ("argv", "assigns", "redirects", "stdin", "via", "remote", "depth", "context",
               "cwd", "name")
    argv: tuple[Word, ...]
    assigns: tuple[Assign, ...]
    redirects: tuple[Redirect, ...]
    stdin: Feed | None
    via: tuple[str, ...]          # wrappers peeled, outermost first: ("sudo", "bash -c")
    remote: str | None            # ssh host when the command runs remotely
    depth: int
    context: str                  # "", "cmdsub", "procsub", "heredoc", "function", ...

    cwd: str | None               # where it runs after a `cd` in the same command; "?" unknown
    name: str | None              # the command's basename, None when only known at run time

    def __new__(cls, argv: tuple[Word, ...], assigns: tuple[Assign, ...] = (),
                redirects: tuple[Redirect, ...] = (), stdin: Feed | None = None,
                via: tuple[str, ...] = (), remote: str | None = None, depth: int = 0,
                context: str = "", cwd: str | None = None, name: object = None) -> Invocation:
        return tuple.__new__(cls, (argv, assigns, redirects, stdin, via, remote, depth, context,
                                   cwd, _command_name(argv)))


def _command_name(argv: tuple[Word, ...]) -> str | None:
    """The command name as a basename, or None when it cannot be known statically."""
    if not argv:
        return None
    v = argv[0][2]
    if v is None:
        return None
    for p in argv[0][1]:  # has_glob, inlined: this runs for every command
        if p[0] is PartKind.GLOB:
            return None
    if "/" in v and not v.endswith("/"):
        v = v.rsplit("/", 1)[-1]
    if "\\" in v:
        v = v.rsplit("\\", 1)[-1]
    if not v.islower() and any("A" <= c <= "Z" for c in v):
        v = v.lower()  # case-insensitive filesystems run RM as rm
    return v[:-4] if v.endswith(".exe") else v


# --- classification and decision --------------------------------------------------------


class Severity(str, Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}


class Verdict(str, Enum):
    ALLOW = "allow"
    ASK = "ask"
    DENY = "deny"

    @property
    def rank(self) -> int:
        return _VERDICT_RANK[self]


_VERDICT_RANK = {Verdict.ALLOW: 0, Verdict.ASK: 1, Verdict.DENY: 2}


class Match(Record):
    """One rule matching one invocation, with what it resolved."""

    __slots__ = ()
    _fields = ("rule_id", "severity", "verdict", "why", "safer", "targets", "command", "tamper")
    rule_id: str
    severity: Severity
    verdict: Verdict
    why: str
    safer: str
    targets: tuple[str, ...]      # what the rule resolved: paths, branches, buckets, ...
    command: str                  # the invocation that matched, as source text
    tamper: bool

    def __new__(cls, rule_id: str, severity: Severity, verdict: Verdict, why: str,
                safer: str = "", targets: tuple[str, ...] = (), command: str = "",
                tamper: bool = False) -> Match:
        return tuple.__new__(cls, (rule_id, severity, verdict, why, safer, targets, command,
                                   tamper))


class Decision(Record):
    """What the gate decided, and whether the command runs (blocked is the outcome)."""

    __slots__ = ()
    _fields = ("verdict", "parsed", "matches", "why", "reason", "command", "display", "harness",
               "mode", "blocked", "notes", "approval")
    verdict: Verdict              # what the rules say
    parsed: bool
    matches: tuple[Match, ...]
    why: str                      # one line
    reason: str                   # reason code: allow, rule_deny, no_human, unparseable, ...
    command: str                  # as written
    display: str                  # the user's command, harness wrapper removed
    harness: str                  # which harness wrapper was recognised, if any
    mode: str
    blocked: bool                 # the outcome: True means the command does not run
    notes: tuple[str, ...]        # explain lines (unwrapping steps, targets)
    approval: object              # the approver's Answer (approve.Answer) when one was asked

    def __new__(cls, verdict: Verdict, parsed: bool, matches: tuple[Match, ...], why: str,
                reason: str, command: str, display: str, harness: str = "",
                mode: str = "enforce", blocked: bool = False,
                notes: tuple[str, ...] = (), approval: object = None) -> Decision:
        return tuple.__new__(cls, (verdict, parsed, matches, why, reason, command, display,
                                   harness, mode, blocked, notes, approval))
