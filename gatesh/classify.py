"""Match invocations against the rules: pure, given the request's Context.

A rule that raises while matching becomes a fail-closed `ask` match, never a skip.
"""

from __future__ import annotations

import re

from .checks import input_danger, production_markers, source, sql_texts, unknown_command
from .facts import NO_TOOL as _NO_TOOL, Facts
from .model import Invocation, Match, PartKind, Severity, Verdict
from .prefilter import candidates
from .rules import Rule, RuleSet, compiled
from .targets import Context

__all__ = ["Facts", "classify", "match_rule"]


def _paths_re(pats: list[str], ctx: Context) -> re.Pattern[str]:
    """The path globs of one rule, with {home}, {config_dir}, ... filled in, as one regex."""
    key = (id(pats), ctx.home, ctx.dirs_key)
    got = _PATHS_RE.get(key)
    if got is None:
        from .rulefile import any_glob
        values = dict(ctx.dirs, home=ctx.home)
        got = any_glob([p.format_map(values) for p in pats])
        if len(_PATHS_RE) > 512:
            _PATHS_RE.clear()
        _PATHS_RE[key] = got
    return got


_PATHS_RE: dict[tuple[object, ...], re.Pattern[str]] = {}


def _env_match(specs: list[str], f: Facts) -> bool:
    """Some variable set for the command matches NAME or NAME=glob."""
    from fnmatch import fnmatchcase
    got = {a.name: (a.value.value if a.value is not None else None) for a in f.inv.assigns}
    for spec in specs:
        name, eq, pat = spec.partition("=")
        if name in got and (not eq or (got[name] is not None and fnmatchcase(got[name] or "", pat))):
            return True
    return False


def _check(cond: dict[str, object], comp: dict[str, object], f: Facts,
           targets: list[str]) -> bool:
    """True when every condition holds; appends what was resolved to targets."""
    skip = 0
    if "command" in cond and f.name not in cond["command"] and "*" not in cond["command"]:  # type: ignore[operator]
        return False
    if "subcommand" in comp:
        got = f.subcommand(comp["subcommand"])  # type: ignore[arg-type]
        if got is None:
            return False
        skip = got
    if "flags" in cond and not any(f.has_flag(x) for x in cond["flags"]):  # type: ignore[union-attr]
        return False
    if "flags_all" in cond and not all(any(f.has_flag(y) for y in x.split("|"))
                                       for x in cond["flags_all"]):  # type: ignore[union-attr]
        return False
    if "no_flags" in cond and any(f.has_flag(x) for x in cond["no_flags"]):  # type: ignore[union-attr]
        return False
    if "remote" in cond and (f.inv.remote is not None) != cond["remote"]:
        return False
    if "env" in cond:
        if not _env_match(cond["env"], f):  # type: ignore[arg-type]
            return False
    if "via" in cond and not any(v.startswith(tuple(cond["via"])) for v in f.inv.via):  # type: ignore[arg-type]
        return False
    if "stdin" in cond and (f.inv.stdin is None or f.inv.stdin.kind not in cond["stdin"]):  # type: ignore[operator]
        return False
    if "min_positionals" in cond and len(f.positionals) - skip < cond["min_positionals"]:  # type: ignore[operator]
        return False
    if "text" in comp and not comp["text"].search(f.text):  # type: ignore[attr-defined]
        return False
    vals = None
    if "args" in comp:
        vals = f.values(skip)
        rx = comp["args"]
        hit = [v for v in vals if v is not None and rx.match(v)]  # type: ignore[attr-defined]
        if not hit:
            return False
        targets.extend(hit)
    if "no_args" in comp:
        vals = f.values(skip) if vals is None else vals
        rx = comp["no_args"]
        if any(v is not None and rx.match(v) for v in vals):  # type: ignore[attr-defined]
            return False
    if "targets" in cond:
        classes = cond["targets"]
        hit_t = [t for t in f.paths(skip) if t.cls in classes]  # type: ignore[operator]
        if not hit_t:
            return False
        targets.extend(f"{t.path or t.text} ({t.cls})" for t in hit_t)
    if "all_targets" in cond:
        ts = f.paths(skip)
        if not ts or any(t.cls not in cond["all_targets"] for t in ts) or any(  # type: ignore[operator]
                w.has_glob for w in f.positionals[skip:]):
            return False  # a glob can name more than the written path
    if "paths" in cond:
        rx = _paths_re(cond["paths"], f.ctx)  # type: ignore[arg-type]
        cands = f.paths(skip) + f.redirect_paths()
        hit_p = [t for t in cands if t.path and rx.match(t.path)]
        if not hit_p:
            return False
        targets.extend(t.path for t in hit_p if t.path)
    if "dest_paths" in cond:
        rx = _paths_re(cond["dest_paths"], f.ctx)  # type: ignore[arg-type]
        ops = f.paths(skip)
        last = ops[-1:] if len(ops) >= 2 else []
        hit_d = [t for t in last if t.path and rx.match(t.path)]
        if not hit_d:
            return False
        targets.extend(t.path for t in hit_d if t.path)
    if "redirect_targets" in cond:
        if not f.inv.redirects:
            return False
        hit_r = [t for t in f.redirect_paths() if t.cls in cond["redirect_targets"]]  # type: ignore[operator]
        if not hit_r:
            return False
        targets.extend(f"{t.path or t.text} ({t.cls})" for t in hit_r)
    if "redirect_paths" in cond:
        if not f.inv.redirects:
            return False
        rx = _paths_re(cond["redirect_paths"], f.ctx)  # type: ignore[arg-type]
        hit_p = [t for t in f.redirect_paths() if t.path and rx.match(t.path)]
        if not hit_p:
            return False
        targets.extend(t.path for t in hit_p if t.path)
    if "recursive" in cond:
        if (f.name is not None and f.inv.context == f"function:{f.name}") != cond["recursive"]:
            return False
        if cond["recursive"]:
            targets.append(f"function {f.name} calls itself")
    if "sql" in cond:
        from .sql import kinds
        want = cond["sql"]
        hit_s = sorted({k for t in sql_texts(f) for k in kinds(t)} & set(want))  # type: ignore[arg-type]
        if not hit_s:
            return False
        targets.extend(f"SQL {k.replace('_', ' ')}" for k in hit_s)
    if "production" in cond:
        marks = production_markers(f)
        if bool(marks) != cond["production"]:
            return False
        targets.extend(f"production: {m}" for m in marks[:3])
    if "branch" in comp:
        bs = f.branches(skip)
        rx = comp["branch"]
        hit_b = [b for b in bs if rx.match(b)]  # type: ignore[attr-defined]
        if not hit_b:
            return False
        targets.extend(f"branch {b}" for b in hit_b)
    return True


def match_rule(rule: Rule, f: Facts) -> Match | None:
    """The Match of rule on one invocation's facts, or None."""
    if f.help_only:
        return None
    targets: list[str] = []
    if not _check(rule.match, compiled(rule, "match"), f, targets):
        return None
    if rule.unless is not None and _check(rule.unless, compiled(rule, "unless"), f, []):
        return None
    severity = rule.severity
    if rule.raise_if is not None and _check(rule.raise_if, compiled(rule, "raise_if"), f, targets):
        severity = Severity.CRITICAL
    return Match(rule.id, severity, rule.verdict, rule.why, rule.safer,
                 tuple(dict.fromkeys(targets)), source(f.inv), rule.tamper)


def classify(invocations: list[Invocation], ruleset: RuleSet, ctx: Context) -> list[Match]:
    """Every match of every rule on every invocation."""
    out: list[Match] = []
    tools = ruleset.tools
    for inv in invocations:
        via = inv.via
        if via and ("xargs" in via or any(v.startswith("find ") for v in via)):
            im = input_danger(inv)
            if im is not None:
                out.append(im)
        name = inv.name
        if not inv.argv:
            name = ""
        facts = None
        if name is not None:
            own = None
            key, sub = None, None  # whose rule list own is (prefilter.candidates)
            if name in ruleset.pending:
                ruleset.ensure(name)
            indexed = ruleset.by_sub.get(name)
            if indexed is not None:
                facts = Facts(inv, tools.get(name, _NO_TOOL), ctx)
                vals = facts.values(0)
                first = vals[0].lower() if vals and vals[0] is not None else None
                sub_rules = indexed[0].get(first) if first is not None else None
                own = sub_rules + indexed[1] if sub_rules else indexed[1]
                key, sub = name, (first if sub_rules else None)
            rules = candidates(ruleset, inv, own, key, sub)
        else:
            rules = []
        if name is None and inv.argv and any(p.kind is not PartKind.LIT for p in inv.argv[0].parts):
            try:
                um = unknown_command(Facts(inv, _NO_TOOL, ctx))
            except Exception as e:  # fail closed
                um = Match("gatesh:unknown_command", Severity.HIGH, Verdict.ASK, f"check failed: {e}")
            if um is not None:
                out.append(um)
            rules = candidates(ruleset, inv, None, None, None)
        if not rules:
            continue
        if facts is None:
            facts = Facts(inv, tools.get(name or "", _NO_TOOL), ctx)
        for rule in rules:
            try:
                m = match_rule(rule, facts)
            except Exception as e:  # a rule that raises must not let the command through
                m = Match(rule.id, Severity.HIGH, Verdict.ASK,
                          f"rule {rule.id} failed while matching ({type(e).__name__}: {e}); "
                          "treated as ask", "", (), source(inv))
            if m is not None:
                out.append(m)
    return out
