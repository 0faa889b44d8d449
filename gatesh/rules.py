"""Rule packs: TOML files read with tomllib, validated strictly, compiled for matching.

Built-in packs ship in the package (gatesh/rules/*.toml); user packs live in
$XDG_CONFIG_HOME/gatesh/rules/; project packs in .gatesh/rules/ may only tighten.
Any error names the file and line and makes every command fail closed.
"""

from __future__ import annotations

import os
import re
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
_RULE_KEYS = {"id", "severity", "verdict", "why", "safer", "match", "raise_if", "unless",
              "examples", "tamper", "pack"}
_TOOL_KEYS = {"value_options", "operands", "pair_options", "optional_values"}


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
                 "wildcard_plain", "wildcard_args_re", "by_sub")

    def __init__(self, rules: list[Rule], tools: dict[str, Tool],
                 by_command: dict[str, list[Rule]], wildcard: list[Rule],
                 problems: list[str]) -> None:
        self.rules, self.tools, self.by_command = rules, tools, by_command
        self.wildcard, self.problems = wildcard, problems
        self.suspects = frozenset(by_command)   # names some rule looks at
        # per command: rules by the first word of their subcommand, and rules without one
        self.by_sub: dict[str, tuple[dict[str, list[Rule]], list[Rule]]] = {}
        for name, rs in by_command.items():
            subs: dict[str, list[Rule]] = {}
            plain: list[Rule] = []
            for r in rs:
                seqs = r.match.get("subcommand")
                if seqs:
                    for first in {str(q).split()[0].lower() for q in seqs}:  # type: ignore[union-attr]
                        subs.setdefault(first, []).append(r)
                else:
                    plain.append(r)
            self.by_sub[name] = (subs, plain)
        self.wildcard_plain = [r for r in wildcard if not _needs_redirect(r)]
        # wildcard rules that only look at operands: one regex decides if any can match
        args_only = [r for r in self.wildcard_plain if set(r.match) <= {"command", "args"}]
        self.wildcard_args_re = _any_glob([str(p) for r in args_only
                                           for p in r.match.get("args", ())]) \
            if args_only and len(args_only) == len(self.wildcard_plain) else None

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


def _line(text: str, needle: str) -> int | None:
    for n, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return n
    return None


def _glob_re(pattern: str) -> re.Pattern[str]:
    from fnmatch import translate
    return re.compile(translate(pattern))


def _any_glob(patterns: list[str]) -> re.Pattern[str]:
    """One regex matching when any of the glob patterns matches the whole string."""
    from fnmatch import translate
    return re.compile("|".join(f"(?:{translate(p)})" for p in patterns))


def _compile(match: dict[str, object]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key in ("args", "no_args", "branch"):
        if key in match:
            out[key] = _any_glob([str(p) for p in match[key]])  # type: ignore[union-attr]
    if "text" in match:
        out["text"] = re.compile(str(match["text"]))
    if "subcommand" in match:
        out["subcommand"] = [tuple(str(s).split()) for s in match["subcommand"]]  # type: ignore[union-attr]
    return out


def _check_match(path: str, text: str, rid: str, where: str, match: object) -> dict[str, object]:
    if not isinstance(match, dict):
        raise RuleFileError(path, _line(text, rid), f"{where} must be a table", rid)
    for key, val in match.items():
        want = MATCH_KEYS.get(key)
        if want is None:
            raise RuleFileError(path, _line(text, key), f"unknown match key {key!r} in {where}", rid)
        if not isinstance(val, want) or (want is int and isinstance(val, bool)):
            raise RuleFileError(path, _line(text, key), f"{where}.{key} must be a {want.__name__}", rid)
        if want is list and not all(isinstance(v, str) for v in val):
            raise RuleFileError(path, _line(text, key), f"{where}.{key} must list strings", rid)
        if key == "sql":
            from .sql import KINDS
            bad = [v for v in val if v not in KINDS]
            if bad:
                raise RuleFileError(path, _line(text, key), f"unknown sql kind {bad[0]!r}; "
                                    f"known: {', '.join(KINDS)}", rid)
    try:
        _compile(match)
    except re.error as e:
        raise RuleFileError(path, _line(text, rid), f"bad pattern in {where}: {e}", rid) from None
    return match


def load_file(path: str, origin: str = "builtin") -> tuple[list[Rule], dict[str, Tool]]:
    """Read and validate one pack file; raise RuleFileError naming the file and line."""
    import tomllib
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise RuleFileError(path, None, f"cannot read: {e}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        m = re.search(r"at line (\d+)", msg)
        raise RuleFileError(path, int(m.group(1)) if m else None,
                            "not valid TOML: " + msg.split(" (at line")[0]) from None
    pack_tbl = data.get("pack", {})
    if not isinstance(pack_tbl, dict) or not isinstance(pack_tbl.get("name", ""), str):
        raise RuleFileError(path, _line(text, "[pack]"), "[pack] needs a name")
    pack = str(pack_tbl.get("name") or os.path.splitext(os.path.basename(path))[0])
    for key in data:
        if key not in ("pack", "rule", "tools"):
            raise RuleFileError(path, _line(text, key), f"unknown top-level key {key!r}")
    tools: dict[str, Tool] = {}
    for name, spec in (data.get("tools") or {}).items():
        if not isinstance(spec, dict) or set(spec) - _TOOL_KEYS:
            raise RuleFileError(path, _line(text, f"tools.{name}"), f"bad [tools.{name}] table")
        tools[name] = Tool(frozenset(spec.get("value_options", ())), str(spec.get("operands", "all")),
                           frozenset(spec.get("pair_options", ())),
                           {k: frozenset(v.split("|")) for k, v in
                            (o.split("=", 1) for o in spec.get("optional_values", ()))})
    rules: list[Rule] = []
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list):
        raise RuleFileError(path, _line(text, "rule"), "rules must be [[rule]] tables")
    for raw in raw_rules:
        rules.append(_rule(path, text, pack, origin, raw))
    return rules, tools


def _rule(path: str, text: str, pack: str, origin: str, raw: dict[str, object]) -> Rule:
    rid = raw.get("id")
    if not isinstance(rid, str) or ":" not in rid:
        raise RuleFileError(path, _line(text, "[[rule]]"), "every rule needs id = \"pack:name\"")
    if rid.split(":", 1)[0] != pack:
        raise RuleFileError(path, _line(text, rid), f"id must start with the pack name {pack!r}:", rid)
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise RuleFileError(path, _line(text, key), f"unknown rule key {key!r}", rid)
    try:
        severity = Severity(str(raw.get("severity", "")))
    except ValueError:
        raise RuleFileError(path, _line(text, rid), "severity must be low, medium, high or critical",
                            rid) from None
    try:
        verdict = Verdict(str(raw.get("verdict", "ask")))
    except ValueError:
        raise RuleFileError(path, _line(text, rid), "verdict must be ask or deny", rid) from None
    if verdict is Verdict.ALLOW:
        raise RuleFileError(path, _line(text, rid), "verdict must be ask or deny", rid)
    why = raw.get("why")
    if not isinstance(why, str) or not why.strip():
        raise RuleFileError(path, _line(text, rid), "every rule needs a one-sentence why", rid)
    match = _check_match(path, text, rid, "match", raw.get("match"))
    raise_if = raw.get("raise_if")
    unless = raw.get("unless")
    if raise_if is not None:
        raise_if = _check_match(path, text, rid, "raise_if", raise_if)
    if unless is not None:
        unless = _check_match(path, text, rid, "unless", unless)
    ex = raw.get("examples", {})
    if not isinstance(ex, dict) or set(ex) - {"match", "ignore"}:
        raise RuleFileError(path, _line(text, rid), "examples takes match and ignore lists", rid)
    em, ei = ex.get("match", []), ex.get("ignore", [])
    if not all(isinstance(e, str) for e in list(em) + list(ei)):
        raise RuleFileError(path, _line(text, rid), "examples must be strings", rid)
    rule = Rule(rid, pack, severity, verdict, why.strip(), str(raw.get("safer", "")).strip(),
                match, raise_if, unless, tuple(em), tuple(ei),  # type: ignore[arg-type]
                bool(raw.get("tamper", pack == "tamper")), path, origin)
    return rule


def compiled(rule: Rule, part: str) -> dict[str, object]:
    """The rule's patterns for one condition table, compiled on first use."""
    got = rule.compiled.get(part)
    if got is None:
        table = getattr(rule, part)
        got = _compile(table) if table else {}
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
    cache = _Cache(cache_dir)
    for path, origin in sources:
        file_rules, file_tools = cache.load(path, origin)
        for name, tool in file_tools.items():
            old = tools.get(name, Tool())
            tools[name] = _merge(old, tool)
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
    return _index(rules, tools, problems)


class _Cache:
    """Validated packs kept with marshal, keyed by each file's identity.

    Parsing TOML for every pack on every `gatesh -c` would cost more than the rest of the
    gate together.  An entry is used only while the file's path, inode, size and mtime are
    unchanged; the directory is in the tamper pack, like the rules themselves.
    """

    def __init__(self, directory: str | None) -> None:
        self.path = os.path.join(directory, "rules.marshal") if directory else None
        self.entries: dict[str, tuple[object, ...]] = {}
        self.dirty = False
        if self.path:
            try:
                import marshal
                with open(self.path, "rb") as f:
                    data = marshal.load(f)
                if isinstance(data, dict) and data.get("v") == _CACHE_VERSION:
                    self.entries = data["files"]
            except (OSError, EOFError, ValueError, TypeError, KeyError):
                self.entries = {}

    def load(self, path: str, origin: str) -> tuple[list[Rule], dict[str, Tool]]:
        try:
            st = os.stat(path)
            key = (st.st_ino, st.st_size, st.st_mtime_ns, origin)
        except OSError:
            key = None
        hit = self.entries.get(path)
        if key is not None and hit is not None and hit[0] == key:
            rules = [Rule(r[0], r[1], Severity(r[2]), Verdict(r[3]), *r[4:]) for r in hit[1]]
            tools = {n: Tool(frozenset(t[0]), t[1], frozenset(t[2]),  # type: ignore[index]
                             {k: frozenset(v) for k, v in t[3].items()})  # type: ignore[index]
                     for n, t in hit[2].items()}  # type: ignore[union-attr]
            return rules, tools
        rules, tools = load_file(path, origin)
        if key is not None and self.path:
            self.entries[path] = (key, tuple(
                (r.id, r.pack, r.severity.value, r.verdict.value) + tuple(r)[4:14]
                for r in rules), {n: (tuple(t.value_options), t.operands, tuple(t.pair_options),
                                             {k: tuple(v) for k, v in t.optional_values.items()})
                                         for n, t in tools.items()})
            self.dirty = True
        return rules, tools

    def save(self) -> None:
        if not (self.dirty and self.path):
            return
        import marshal
        tmp = f"{self.path}.{os.getpid()}"
        try:
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            with open(tmp, "wb") as f:
                marshal.dump({"v": _CACHE_VERSION, "files": self.entries}, f)
            os.replace(tmp, self.path)
        except (OSError, ValueError):
            try:
                os.unlink(tmp)
            except OSError:
                pass


_CACHE_VERSION = 3


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
