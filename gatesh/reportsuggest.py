"""Suggested user rules for frequent false alarms in a report's window: review them, they are
never applied automatically."""

from __future__ import annotations

import os

from .config import Config
from .report import THRESHOLD, Suggestion, Summary

__all__ = ["suggest"]


def _toml(v: object) -> str:
    """A TOML value for the str / bool / int / list / table values rule files hold."""
    import json
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_toml(str(k)) if not str(k).isidentifier() else k} = "
                                f"{_toml(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"no TOML form for {type(v).__name__}")


def _narrower(rule: object, commands: list[str], cfg: Config) -> tuple[str, str]:
    """(file, text) of a copy of rule that stays quiet for these commands; ("", "") when
    none can be built or the copy fails its own examples."""
    import re
    import tempfile
    from .gate import Request, review
    from .rules import Rule, load_file
    from .rulescli import run_examples
    assert isinstance(rule, Rule)
    if rule.unless is not None and set(rule.unless) != {"text"}:
        return "", ""  # all of unless's keys must hold: the quiet list cannot be or-ed in
    simple: list[str] = []
    for c in commands:  # the simple command the rule matched, as the rule's `text` sees it
        d = review(Request(c, os.getcwd(), "check", os.environ), cfg)
        simple += [m.command for m in d.matches if m.rule_id == rule.id and m.command]
    simple = list(dict.fromkeys(simple))
    if not simple:
        return "", ""
    quiet = "^(?:" + "|".join(re.sub(r"([.^$*+?{}\[\]\\|()])", r"\\\1", x)
                              for x in simple) + ")$"
    if rule.unless is not None:  # a text-only unless: either pattern keeps the copy quiet
        quiet = f"(?:{rule.unless['text']})|{quiet}"
    pack = "my" + rule.pack
    rid = f"{pack}:{rule.id.split(':', 1)[1]}"
    body = {"id": rid, "severity": rule.severity.value, "verdict": rule.verdict.value,
            "why": rule.why, "safer": rule.safer, "match": rule.match,
            "raise_if": rule.raise_if, "unless": {"text": quiet}}
    lines = [f"# narrower copy of {rule.id}: quiet for {len(simple)} routine command(s)",
             "[pack]", f"name = {_toml(pack)}", "", "[[rule]]"]
    lines += [f"{k} = {_toml(v)}" for k, v in body.items() if v not in (None, "")]
    kept = [e for e in rule.examples_match if not re.search(quiet, e)]
    lines += [f"examples.match = {_toml(kept)}",
              f"examples.ignore = {_toml([*rule.examples_ignore, *simple])}"]
    text = "\n".join(lines) + "\n"
    with tempfile.TemporaryDirectory(prefix="gatesh-report-") as tmp:
        path = os.path.join(tmp, pack + ".toml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        try:
            new, tools = load_file(path, "user")
        except Exception:  # noqa: BLE001 - a snippet that does not load is not offered
            return "", ""
        if run_examples(new, cfg, tools):
            return "", ""
    return os.path.join(cfg.user_rules_dir, f"{pack}-{rid.split(':', 1)[1]}.toml"), text


def suggest(s: Summary, cfg: Config, threshold: int = THRESHOLD) -> list[Suggestion]:
    """For file rules that asked >= threshold times in dry-run, at least 80% of them about
    routine commands (not critical, no risky target), and never denied: a `disable` line
    for config.toml and, when one can be built and passes its examples, a narrower copy."""
    picks = [rid for rid, (asked, usual) in s.routine.items()
             if asked >= threshold and sum(n for _, n in usual) * 5 >= asked * 4
             and not s.rules[rid].verdicts["deny"]]
    if not picks:
        return []
    from .rules import load_ruleset
    loaded = {r.id: r for r in load_ruleset(cfg.user_rules_dir, None, ()).rules}
    out = []
    for rid in picks:
        rule = loaded.get(rid)
        if rule is None or rule.tamper or rid in cfg.disabled_rules:
            continue
        asked, usual = s.routine[rid]
        disable = list(dict.fromkeys([*cfg.disabled_rules, rid]))
        path, text = _narrower(rule, [c for c, _ in usual[:8]], cfg)  # only the routine ones
        out.append(Suggestion(rid, asked, usual[:8],
                              f"[rules]\ndisable = {_toml(disable)}\n", path, text))
    return out
