"""Rule packs: TOML files read with tomllib, validated strictly, compiled for matching.

Built-in packs ship in the package (gatesh/rules/*.toml); user packs live in
$XDG_CONFIG_HOME/gatesh/rules/; project packs in .gatesh/rules/ may only tighten.
Any error names the file and line and makes every command fail closed.
"""

from __future__ import annotations

import os
from .errors import RuleFileError
from .model import Severity, Verdict
from .record import Record

__all__ = ["Rule", "Tool", "RuleSet", "load_ruleset", "load_file", "builtin_dir", "extended",
           "compiled", "MATCH_KEYS"]

MATCH_KEYS = {
    "command": list, "subcommand": list, "flags": list, "flags_all": list, "no_flags": list,
    "args": list, "no_args": list, "targets": list, "paths": list, "redirect_targets": list,
    "redirect_paths": list, "dest_paths": list, "env": list, "remote": bool, "text": str, "branch": list,
    "min_positionals": int, "via": list, "stdin": list, "production": bool, "sql": list,
    "recursive": bool, "all_targets": list,
}


class Tool(Record):
    """What rules know about a command's options."""

    __slots__ = ()
    _fields = ("value_options", "operands", "pair_options", "optional_values")
    value_options: frozenset[str]
    operands: str                        # "all" | "leading" (find: start points first)
    pair_options: frozenset[str]         # options followed by two values (find -fprintf)
    optional_values: dict[str, frozenset[str]]  # --track [direct|inherit]

    def __new__(cls, value_options: frozenset[str] = frozenset(), operands: str = "all",
                pair_options: frozenset[str] = frozenset(),
                optional_values: dict[str, frozenset[str]] | None = None) -> Tool:
        return tuple.__new__(cls, (value_options, operands, pair_options,
                                   optional_values or {}))


class Rule(Record):
    """One rule as loaded from a pack; compiled holds its patterns, built once."""

    __slots__ = ()
    _fields = ("id", "pack", "severity", "verdict", "why", "safer", "match", "raise_if",
               "unless", "examples_match", "examples_ignore", "tamper", "source", "origin",
               "compiled")
    id: str
    pack: str
    severity: Severity
    verdict: Verdict
    why: str
    safer: str
    match: dict[str, object]
    raise_if: dict[str, object] | None
    unless: dict[str, object] | None
    examples_match: tuple[str, ...]
    examples_ignore: tuple[str, ...]
    tamper: bool
    source: str                          # the file it came from
    origin: str                          # "builtin" | "user" | "project"
    compiled: dict[str, object]

    def __new__(cls, id: str, pack: str, severity: Severity, verdict: Verdict, why: str,
                safer: str, match: dict[str, object], raise_if: dict[str, object] | None,
                unless: dict[str, object] | None, examples_match: tuple[str, ...],
                examples_ignore: tuple[str, ...], tamper: bool, source: str, origin: str,
                compiled: dict[str, object] | None = None) -> Rule:
        return tuple.__new__(cls, (id, pack, severity, verdict, why, safer, match, raise_if,
                                   unless, examples_match, examples_ignore, tamper, source,
                                   origin, {} if compiled is None else compiled))

    def __hash__(self) -> int:
        return hash(self.id)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Rule) and other.id == self.id and other.source == self.source

    @property
    def commands(self) -> tuple[str, ...]:
        cmds = self.match.get("command") or ["*"]
        return tuple(str(c) for c in cmds)  # type: ignore[union-attr]


def _needs_redirect(rule: Rule) -> bool:
    """The rule can only match a command that writes a file with a redirect."""
    return "redirect_paths" in rule.match or "redirect_targets" in rule.match


class RuleSet:
    """Loaded rules, indexed by command name for matching."""

    __slots__ = ("rules", "tools", "by_command", "wildcard", "problems", "suspects",
                 "wildcard_plain", "by_sub", "pending", "_disabled", "selections")

    def __init__(self, rules: list[Rule], tools: dict[str, Tool],
                 by_command: dict[str, list[Rule]], wildcard: list[Rule],
                 problems: list[str]) -> None:
        self.rules, self.tools, self.by_command = rules, tools, by_command
        self.wildcard, self.problems = wildcard, problems
        self.suspects = frozenset(by_command)   # names some rule looks at
        self.pending: dict[str, list[list[object]]] = {}  # name -> packs not loaded yet
        self._disabled: tuple[str, ...] = ()
        # per command: rules by the first word of their subcommand, and rules without one
        self.by_sub: dict[str, tuple[dict[str, list[Rule]], list[Rule]]] = {}
        self._index_names(by_command)
        self.wildcard_plain = [r for r in wildcard if not _needs_redirect(r)]
        # rules that can match, by command, subcommand and invocation shape (prefilter.py)
        self.selections: dict[str | None, dict[object, object]] = {}

    def _index_names(self, names: object) -> None:
        for name in names:  # type: ignore[attr-defined]
            subs: dict[str, list[Rule]] = {}
            plain: list[Rule] = []
            for r in self.by_command.get(name, ()):
                seqs = r.match.get("subcommand")
                if seqs:
                    for first in {str(q).split()[0].lower() for q in seqs}:  # type: ignore[union-attr]
                        subs.setdefault(first, []).append(r)
                else:
                    plain.append(r)
            self.by_sub[name] = (subs, plain)

    def defer(self, names: tuple[str, ...], loader: object, disabled: tuple[str, ...]) -> None:
        """A pack to load only when one of names occurs in a command."""
        entry: list[object] = [loader]
        for name in names:
            self.pending.setdefault(name, []).append(entry)
        self.suspects = self.suspects | frozenset(names)
        self._disabled = disabled

    def ensure(self, name: str) -> None:
        """Load the packs that have rules for name, if they are still pending."""
        entries = self.pending.pop(name, ())
        touched: set[str] = set()
        for entry in entries:
            if not entry:
                continue  # loaded already through another of its names
            loader = entry.pop()
            for r in loader():  # type: ignore[operator]
                if r.id in self._disabled:
                    continue
                self.rules.append(r)
                for c in r.commands:
                    self.by_command.setdefault(c, []).append(r)
                    touched.add(c)
        self._index_names(touched)
        for c in touched:
            self.selections.pop(c, None)  # these commands' rule lists just changed

    def for_command(self, name: str | None, redirects: bool = True) -> list[Rule]:
        wild = self.wildcard if redirects else self.wildcard_plain
        if name is None:
            return wild
        own = self.by_command.get(name)
        return own + wild if own else wild


def extended(base: RuleSet, extra: list[Rule], tools: dict[str, Tool]) -> RuleSet:
    """base plus extra rules (replacing same-id ones): for testing a rule file in place."""
    ids = {r.id for r in extra}
    rules = [r for r in base.rules if r.id not in ids] + extra
    merged = dict(base.tools)
    for name, tool in tools.items():
        old = merged.get(name, Tool())
        merged[name] = _merge(old, tool)
    return _index(rules, merged, list(base.problems))


def _merge(old: Tool, new: Tool) -> Tool:
    return Tool(old.value_options | new.value_options,
                new.operands if new.operands != "all" else old.operands,
                old.pair_options | new.pair_options,
                {**old.optional_values, **new.optional_values})


def builtin_dir() -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    packaged = os.path.join(here, "rules")
    if os.path.isdir(packaged):
        return packaged
    return os.path.join(os.path.dirname(here), "rules")  # a source checkout


def compiled(rule: Rule, part: str) -> dict[str, object]:
    """The rule's patterns for one condition table, compiled on first use."""
    got = rule.compiled.get(part)
    if got is None:
        table = getattr(rule, part)
        from .rulefile import compile_match
        got = compile_match(table) if table else {}
        rule.compiled[part] = got
    return got  # type: ignore[return-value]


def _pack_files(d: str) -> list[str]:
    try:
        return sorted(os.path.join(d, n) for n in os.listdir(d) if n.endswith(".toml"))
    except OSError:
        return []


def load_ruleset(user_dir: str | None = None, project_root: str | None = None,
                 disabled: tuple[str, ...] = (), cache_dir: str | None = None) -> RuleSet:
    """Built-in, user and project rules; project rules can only tighten."""
    rules: list[Rule] = []
    tools: dict[str, Tool] = {}
    problems: list[str] = []
    seen: dict[str, Rule] = {}
    sources = [(p, "builtin") for p in _pack_files(builtin_dir())]
    if user_dir:
        sources += [(p, "user") for p in _pack_files(user_dir)]
    if project_root:
        sources += [(p, "project") for p in _pack_files(os.path.join(project_root, ".gatesh", "rules"))]
    from .rulecache import Cache
    cache = Cache(cache_dir)
    deferred: list[tuple[tuple[str, ...], object]] = []
    for path, origin in sources:
        names, file_tools, loader = cache.peek(path, origin)
        for name, tool in file_tools.items():
            old = tools.get(name, Tool())
            tools[name] = _merge(old, tool)
        if cache_dir and origin == "builtin" and "*" not in names:
            deferred.append((names, loader))  # loaded when one of its commands occurs
            continue
        file_rules = loader()  # type: ignore[operator]
        for r in file_rules:
            prev = seen.get(r.id)
            if prev is not None:
                if origin == "project":
                    # replacing a rule could narrow it: project files may only add rules
                    problems.append(f"{path}: rule {r.id} would replace the rule from "
                                    f"{prev.source}; project rules can only add, so it is ignored")
                    continue
                if origin == "builtin":
                    raise RuleFileError(path, None, f"duplicate rule id {r.id}", r.id)
                rules = [x for x in rules if x.id != r.id]
            if r.id in disabled and origin != "project":
                continue
            seen[r.id] = r
            rules.append(r)
    cache.save()
    rs = _index(rules, tools, problems)
    for names, loader in deferred:
        rs.defer(names, loader, disabled)
    return rs


def _index(rules: list[Rule], tools: dict[str, Tool], problems: list[str]) -> RuleSet:
    by_command: dict[str, list[Rule]] = {}
    wildcard: list[Rule] = []
    for r in rules:
        for c in r.commands:
            if c == "*":
                wildcard.append(r)
            else:
                by_command.setdefault(c, []).append(r)
    return RuleSet(rules, tools, by_command, wildcard, problems)


def load_file(path: str, origin: str = "builtin") -> tuple[list[Rule], dict[str, Tool]]:
    """Read and validate one pack file (see rulefile); raise RuleFileError naming its line."""
    from .rulefile import load_file as _load
    return _load(path, origin)
