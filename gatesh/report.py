"""`gatectl report`: what the gate allowed, asked or denied over a time window.

Counts `decision` records of the audit log (rotated files first, the current one last) by
verdict, outcome and mode, by rule and by session, with the distinct commands behind each rule;
suggests, for review only, user rules for rules that asked often about routine commands.

A record's session is its "session" field when the gate wrote one; older records lack it and
fall back to their parent pid ("ppid N"): the agent process that ran `bash -c`, which is one per
agent session for the common harnesses.  A record naming a rule twice counts once for it; an ask
or deny that names no rule (an unparseable command, a failing gate) counts under its reason in
parentheses, such as "(unparseable)", so that every ask and deny appears under some key.
"""

from __future__ import annotations

import os

from .config import Config
from .errors import UsageError
from .record import Record

__all__ = ["Summary", "Suggestion", "collect", "summary_json", "run_report", "THRESHOLD",
           "session_key", "expected_counts"]

VERDICTS = ("allow", "ask", "deny")
THRESHOLD = 5          # asks of one rule in the window before a suggestion is considered
_RISKY = ("(root)", "(system)", "(device)", "(home)", "(home_config)", "(outside_project)")
_BENIGN = ("(inside_project)", "(build_output)", "(temp)")
_BUCKETS = (3600, 3 * 3600, 6 * 3600, 86400, 7 * 86400)


class Tally(Record):
    """Counts for one rule or one session; commands (rules only) most frequent first."""

    __slots__ = ()
    _fields = ("total", "verdicts", "commands", "first", "last")
    total: int
    verdicts: dict[str, int]
    commands: list[tuple[str, int]]
    first: float
    last: float

    def __new__(cls, *a: object, **kw: object) -> Tally:
        return tuple.__new__(cls, a or tuple(kw[f] for f in cls._fields))


class Summary(Record):
    """The counted window, every command as the log holds it (escape when showing)."""

    __slots__ = ()
    _fields = ("since", "until", "decisions", "verdicts", "outcomes", "modes", "rules",
               "sessions", "bucket", "timeline", "routine")
    since: float
    until: float
    decisions: int
    verdicts: dict[str, int]
    outcomes: dict[str, int]
    modes: dict[str, int]
    rules: dict[str, Tally]                 # most frequent first
    sessions: dict[str, Tally]              # in order of first appearance
    bucket: int                             # timeline bucket width in seconds
    timeline: list[tuple[float, dict[str, int]]]
    routine: dict[str, tuple[int, list[tuple[str, int]]]]  # rule -> (dry-run asks,
    #                                           the routine ones' commands, most frequent first)

    def __new__(cls, *a: object, **kw: object) -> Summary:
        return tuple.__new__(cls, a or tuple(kw[f] for f in cls._fields))


class Suggestion(Record):
    """A user rule the report proposes; never applied."""

    __slots__ = ()
    _fields = ("rule", "asked", "commands", "config", "rule_file", "rule_text")
    rule: str
    asked: int
    commands: list[tuple[str, int]]
    config: str        # the config.toml lines
    rule_file: str     # where the narrower rule would go ("" when none could be built)
    rule_text: str

    def __new__(cls, *a: object, **kw: object) -> Suggestion:
        return tuple.__new__(cls, a or tuple(kw[f] for f in cls._fields))


def session_key(rec: dict[str, object]) -> str:
    if rec.get("session") not in (None, ""):
        return f"session {rec['session']}"
    return f"ppid {rec.get('ppid', '?')}"


def _iso(t: float) -> str:
    import time
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _window(args: object, now: float) -> tuple[float, float]:
    from .timewindow import parse_when
    since = parse_when(str(getattr(args, "since", None) or "7d"), now)
    until_text = getattr(args, "until", None)
    until = parse_when(str(until_text), now) if until_text else now
    if since >= until:
        raise UsageError(f"the window is empty: --since {_iso(since)} is not before "
                         f"--until {_iso(until)}; widen it")
    return since, until


def _records(cfg: Config, since: float) -> list[dict[str, object]]:
    from . import audit
    files = audit.log_files(cfg.audit_path) if hasattr(audit, "log_files") else [cfg.audit_path]
    out: list[dict[str, object]] = []
    for i, path in enumerate(files):
        try:
            if i < len(files) - 1 and os.path.getmtime(path) < since:
                continue  # a rotated file last written before the window holds nothing in it
        except OSError:
            continue
        try:
            out.extend(audit.read_records(path))
        except OSError as e:
            raise UsageError(f"cannot read the audit log {path}: {e.strerror}; "
                             "run gatectl report as the user who owns it") from None
    return out


def _routine(rec: dict[str, object]) -> bool:
    """A command asked about for a reason that looks like everyday work, not a disaster."""
    listed = rec.get("targets")
    targets = [str(t) for t in listed] if isinstance(listed, list) else []
    if not rec.get("parsed", True) or any(t.endswith(_RISKY) for t in targets):
        return False
    if rec.get("severity") in (None, "low", "medium"):
        return True
    return rec.get("severity") == "high" and bool(targets) and all(t.endswith(_BENIGN) for t in targets)


class _Acc:
    """A tally being counted."""

    __slots__ = ("verdicts", "commands", "first", "last")

    def __init__(self, t: float) -> None:
        from collections import Counter
        self.verdicts: Counter[str] = Counter()
        self.commands: Counter[str] = Counter()
        self.first = self.last = t

    def add(self, t: float, verdict: str, command: str | None) -> None:
        self.verdicts[verdict] += 1
        if command is not None:
            self.commands[command] += 1
        self.first, self.last = min(self.first, t), max(self.last, t)

    def done(self) -> Tally:
        return Tally(sum(self.verdicts.values()),
                     {**{v: 0 for v in VERDICTS}, **self.verdicts},
                     self.commands.most_common(), self.first, self.last)


def collect(records: list[dict[str, object]], since: float, until: float) -> Summary:
    """Count the decision records whose time lies in [since, until]."""
    from collections import Counter
    from .timewindow import record_time
    verdicts: Counter[str] = Counter({v: 0 for v in VERDICTS})
    outcomes: Counter[str] = Counter()
    modes: Counter[str] = Counter()
    rules: dict[str, _Acc] = {}
    sessions: dict[str, _Acc] = {}
    asks: Counter[str] = Counter()
    usual: dict[str, Counter[str]] = {}
    times: list[tuple[float, str]] = []
    for rec in records:
        t = record_time(rec) if rec.get("event") == "decision" else None
        if t is None or not since <= t <= until:
            continue
        v = str(rec.get("verdict"))
        verdicts[v] += 1
        outcomes[str(rec.get("outcome"))] += 1
        modes[str(rec.get("mode"))] += 1
        times.append((t, v))
        sessions.setdefault(session_key(rec), _Acc(t)).add(t, v, None)
        listed = rec.get("rules")
        ids = list(dict.fromkeys(str(r) for r in listed)) if isinstance(listed, list) else []
        if not ids and v != "allow":  # asked or denied without a rule: unparseable, ...
            ids = [f"({rec.get('reason') or 'no rule'})"]
        for rid in ids:
            rules.setdefault(rid, _Acc(t)).add(t, v, str(rec.get("command", "")))
            if v == "ask" and rec.get("mode") == "dry-run":
                asks[rid] += 1
                if _routine(rec):
                    usual.setdefault(rid, Counter())[str(rec.get("command", ""))] += 1
    done = {k: acc.done() for k, acc in rules.items()}
    bucket, timeline = _timeline(times)
    return Summary(since, until, len(times), dict(verdicts), dict(outcomes), dict(modes),
                   dict(sorted(done.items(), key=lambda kv: (-kv[1].total, kv[0]))),
                   {k: acc.done() for k, acc in sessions.items()}, bucket, timeline,
                   {k: (n, usual.get(k, Counter()).most_common()) for k, n in asks.items()})


def _timeline(times: list[tuple[float, str]]) -> tuple[int, list[tuple[float, dict[str, int]]]]:
    """Counts per bucket from the first record's bucket to the last's: hours (or 3 hours, ...,
    at most ~200 buckets), minutes or 5 minutes when the records span under 1 or 6 hours."""
    if not times:
        return 3600, []
    lo, hi = min(t for t, _ in times), max(t for t, _ in times)
    span = hi - lo
    bucket = 60 if span <= 3600 else 300 if span <= 6 * 3600 else \
        next((b for b in _BUCKETS if span / b < 200), _BUCKETS[-1])
    first = int(lo // bucket) * bucket
    n = int(hi // bucket) * bucket // bucket - first // bucket + 1
    rows = [{v: 0 for v in VERDICTS} for _ in range(n)]
    for t, v in times:
        if v in VERDICTS:
            rows[int(t // bucket) - first // bucket][v] += 1
    return bucket, [(float(first + i * bucket), row) for i, row in enumerate(rows)]


def summary_json(s: Summary, sugg: list[Suggestion]) -> dict[str, object]:
    return {
        "window": {"since": _iso(s.since), "until": _iso(s.until)},
        "decisions": s.decisions, "verdicts": s.verdicts, "outcomes": s.outcomes,
        "modes": s.modes,
        "rules": {k: {"total": r.total, "verdicts": r.verdicts,
                      "commands": [{"command": c, "count": n} for c, n in r.commands]}
                  for k, r in s.rules.items()},
        "sessions": {k: {"total": x.total, "verdicts": x.verdicts,
                         "first": _iso(x.first), "last": _iso(x.last)}
                     for k, x in s.sessions.items()},
        "timeline": {"bucket_seconds": s.bucket,
                     "buckets": [{"start": _iso(t), **row} for t, row in s.timeline]},
        "suggestions": [{"rule": x.rule, "asked": x.asked, "config": x.config,
                         "rule_file": x.rule_file, "rule_text": x.rule_text} for x in sugg],
    }


def expected_counts(answers: list[dict[str, object]]
                    ) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """The totals and per-rule counts a report must show for commands `gatectl check` answered
    with `answers` (its --json/--jsonl objects): the acceptance check's other side."""
    from collections import Counter
    verdicts = Counter({v: 0 for v in VERDICTS})
    rules: dict[str, Counter[str]] = {}
    for a in answers:
        verdicts[str(a["decision"])] += 1
        listed = a["rules"] if isinstance(a["rules"], list) else []
        ids = list(dict.fromkeys(listed)) or (
            [f"({a['reason']})"] if a["decision"] != "allow" else [])
        for rid in ids:
            rules.setdefault(str(rid), Counter())[str(a["decision"])] += 1
    return dict(verdicts), {k: {v: c[v] for v in VERDICTS} for k, c in rules.items()}


def show(s: Summary, sugg: list[Suggestion], html_path: str | None) -> None:
    """The terminal report; every command and id is plain text, never markup."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text
    from .display import visible
    con = Console(highlight=False)
    con.print(Text.assemble(("gatesh report ", "bold"), f"{_iso(s.since)} to {_iso(s.until)}: ",
                            (f"{s.decisions} decisions", "bold")))
    v = s.verdicts
    con.print(Text.assemble("  allow ", (str(v.get("allow", 0)), "green"), "   ask ",
                            (str(v.get("ask", 0)), "yellow"), "   deny ",
                            (str(v.get("deny", 0)), "red"), "   outcomes: ",
                            ", ".join(f"{k} {n}" for k, n in sorted(s.outcomes.items())) or "none",
                            "   modes: ",
                            ", ".join(f"{k} {n}" for k, n in sorted(s.modes.items())) or "none"))
    if s.rules:
        t = Table(title="by rule", box=None, header_style="bold", title_justify="left")
        for col in ("rule", "ask", "deny", "allow", "commands"):
            t.add_column(col, overflow="fold")
        for rid, r in s.rules.items():
            cmds = r.commands
            shown = Text()
            for c, n in cmds[:3]:
                shown.append(f"{n}x ", "dim").append(visible(c)).append("\n")
            if len(cmds) > 3:
                shown.append(f"... {len(cmds) - 3} more distinct", "dim")
            shown.rstrip()
            rv = r.verdicts
            t.add_row(Text(rid), str(rv["ask"]), str(rv["deny"]), str(rv["allow"]), shown)
        con.print(t)
    if s.sessions:
        t = Table(title="by session", box=None, header_style="bold", title_justify="left")
        for col in ("session", "total", "ask", "deny", "first", "last"):
            t.add_column(col)
        for key, x in s.sessions.items():
            t.add_row(Text(visible(key)), str(x.total), str(x.verdicts["ask"]),
                      str(x.verdicts["deny"]), _iso(x.first), _iso(x.last))
        con.print(t)
    if sugg:
        con.print(Text("suggested user rules (review them; nothing is applied automatically)",
                       "bold"))
    for g in sugg:
        con.print(Text(f"\n{g.rule} asked {g.asked} times in dry-run; "
                       "the routine commands behind it:"))
        for c, n in g.commands[:5]:
            con.print(Text(f"    {n}x {visible(c)}"))
        con.print(Text(f"  to switch it off, in config.toml:\n{g.config}"))
        if g.rule_text:
            con.print(Text(f"  or, instead, disable it and add this narrower copy as {g.rule_file}:"))
            con.print(Text(g.rule_text), soft_wrap=True)
    if html_path:
        con.print(Text(f"HTML report written to {html_path}"))


def run_report(cfg: Config, args: object) -> int:
    import json
    import sys
    import time
    since, until = _window(args, time.time())
    s = collect(_records(cfg, since), since, until)
    from .reportsuggest import suggest
    sugg = suggest(s, cfg)
    html_path = getattr(args, "html", None)
    if html_path:
        from .reporthtml import render
        try:
            with open(html_path, "w", encoding="utf-8") as f:
                f.write(render(s, sugg))
        except OSError as e:
            raise UsageError(f"cannot write {html_path}: {e.strerror}; choose another file") from None
    if getattr(args, "json", False):
        sys.stdout.write(json.dumps(summary_json(s, sugg), ensure_ascii=False, indent=1) + "\n")
        return 0
    show(s, sugg, html_path)
    return 0
