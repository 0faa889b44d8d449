"""Frozen data passed between the pipeline stages.

parse -> Program (the IR); unwrap -> Invocation; classify -> Match; decide -> Decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

__all__ = [
    "PartKind", "Part", "Word", "Assign", "Heredoc", "Redirect", "SimpleCommand", "Compound",
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


@dataclass(frozen=True, slots=True)
class Part:
    kind: PartKind
    text: str
    quoted: bool = False
    program: Program | None = None


@dataclass(frozen=True, slots=True)
class Word:
    """One shell word: its exact source text and its parts after quote removal."""

    text: str
    parts: tuple[Part, ...]

    @property
    def value(self) -> str | None:
        """The word as bash passes it when it holds no expansion (globs and ~ kept as text)."""
        out = []
        for p in self.parts:
            if p.kind in (PartKind.LIT, PartKind.GLOB, PartKind.TILDE):
                out.append(p.text)
            else:
                return None
        return "".join(out)

    @property
    def literal(self) -> str | None:
        """The value when the word is plain literal text: no glob, tilde or expansion."""
        out = []
        for p in self.parts:
            if p.kind is not PartKind.LIT:
                return None
            out.append(p.text)
        return "".join(out)

    @property
    def has_glob(self) -> bool:
        return any(p.kind is PartKind.GLOB for p in self.parts)

    @property
    def has_expansion(self) -> bool:
        return any(p.kind in (PartKind.VAR, PartKind.CMDSUB, PartKind.PROCSUB, PartKind.OTHER)
                   for p in self.parts)


@dataclass(frozen=True, slots=True)
class Assign:
    """NAME=value (or NAME+=value, or an array assignment) before a command or alone."""

    name: str
    value: Word | None            # None for an array assignment NAME=(...)
    items: tuple[Word, ...] = ()  # the words of an array assignment


@dataclass(frozen=True, slots=True)
class Heredoc:
    delimiter: str                # after quote removal
    quoted: bool                  # any quoting in the delimiter: the body is literal
    strip_tabs: bool              # <<- form
    body: str                     # body text as written (tabs already stripped for <<-)
    substitutions: tuple[Program, ...] = ()  # $(...) and `...` inside an unquoted body


@dataclass(frozen=True, slots=True)
class Redirect:
    op: str                       # '<' '>' '>>' '>|' '&>' '&>>' '<&' '>&' '<>' '<<' '<<-' '<<<'
    fd: str | None                # explicit left-hand fd ("2", "{var}") or None
    target: Word | None           # file, fd word or here-string word; None for a heredoc
    heredoc: Heredoc | None = None


@dataclass(frozen=True, slots=True)
class SimpleCommand:
    argv: tuple[Word, ...]        # after brace expansion; may be empty (assignment only)
    assigns: tuple[Assign, ...] = ()
    redirects: tuple[Redirect, ...] = ()


@dataclass(frozen=True, slots=True)
class Compound:
    """A compound command; control flow is flattened: every branch may run.

    kind: subshell, group, if, while, until, for, select, case, function, arith, test,
    coproc.  words: the words it evaluates itself (for-loop items, case subject and patterns,
    test and arithmetic operands), which may hold substitutions.
    """

    kind: str
    body: Program
    words: tuple[Word, ...] = ()
    redirects: tuple[Redirect, ...] = ()
    name: str = ""                # function name, for kind == "function"


Node = SimpleCommand | Compound


@dataclass(frozen=True, slots=True)
class Pipeline:
    elements: tuple[Node, ...]    # joined by | or |&
    negated: bool = False
    background: bool = False


@dataclass(frozen=True, slots=True)
class Program:
    """A list of pipelines in source order, whatever joins them (; && || & newline)."""

    pipelines: tuple[Pipeline, ...]


# --- after unwrapping -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Feed:
    """What a command reads on stdin when the gate can tell.

    kind: "pipe" (text is the upstream element's source, literal holds its literal output
    when known, e.g. `echo ls |`), "heredoc", "herestring", "file", "procsub".
    literal: the exact text fed, when it is static; None when it cannot be known.
    """

    kind: str
    literal: str | None
    source: str = ""


@dataclass(frozen=True, slots=True)
class Invocation:
    """One command that will run, after wrappers were peeled off."""

    argv: tuple[Word, ...]
    assigns: tuple[Assign, ...] = ()
    redirects: tuple[Redirect, ...] = ()
    stdin: Feed | None = None
    via: tuple[str, ...] = ()     # wrappers peeled, outermost first: ("sudo", "bash -c")
    remote: str | None = None     # ssh host when the command runs remotely
    depth: int = 0
    context: str = ""             # "", "cmdsub", "procsub", "heredoc", "function", ...

    @property
    def name(self) -> str | None:
        """The command name as a basename, or None when it cannot be known statically."""
        if not self.argv:
            return None
        v = self.argv[0].value
        if v is None or self.argv[0].has_glob:
            return None
        return v.rsplit("/", 1)[-1] if "/" in v and not v.endswith("/") else v


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


@dataclass(frozen=True, slots=True)
class Match:
    rule_id: str
    severity: Severity
    verdict: Verdict
    why: str
    safer: str = ""
    targets: tuple[str, ...] = ()   # what the rule resolved: paths, branches, buckets, ...
    command: str = ""               # the invocation that matched, as source text
    tamper: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict                # what the rules say
    parsed: bool
    matches: tuple[Match, ...]
    why: str                        # one line
    reason: str                     # reason code: allow, rule_deny, no_human, unparseable, ...
    command: str                    # as written
    display: str                    # the user's command, harness wrapper removed
    harness: str = ""               # which harness wrapper was recognised, if any
    mode: str = "enforce"
    blocked: bool = False           # the outcome: True means the command does not run
    notes: tuple[str, ...] = field(default=())  # explain lines (unwrapping steps, targets)
