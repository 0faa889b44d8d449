"""One rule pack file: read with tomllib, validated strictly, errors naming file and line."""

from __future__ import annotations

import os
import re

from .errors import RuleFileError
from .model import Severity, Verdict
from .rules import MATCH_KEYS, Rule, Tool

__all__ = ["load_file", "compile_match", "any_glob"]

_RULE_KEYS = {"id", "severity", "verdict", "why", "safer", "match", "raise_if", "unless",
              "examples", "tamper", "pack"}
_TOOL_KEYS = {"value_options", "operands", "pair_options", "optional_values"}


def _line(text: str, needle: str) -> int | None:
    for n, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return n
    return None


def any_glob(patterns: list[str]) -> re.Pattern[str]:
    """One regex matching when any of the glob patterns matches the whole string."""
    from fnmatch import translate
    return re.compile("|".join(f"(?:{translate(p)})" for p in patterns))


def compile_match(match: dict[str, object]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key in ("args", "no_args", "branch"):
        if key in match:
            out[key] = any_glob([str(p) for p in match[key]])  # type: ignore[union-attr]
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
        compile_match(match)
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
