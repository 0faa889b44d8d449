"""`gatectl log`: the audit log as a table (or JSON lines), filtered, optionally followed.

One row per `decision` record, joined with the approver's `answer`/`withdrawn` records of the
same request to say who decided and how long it took; a `pending` record without a decision
is a command still waiting.  Every command is untrusted: it goes through display.visible()
into a rich Text, never through markup.
"""

from __future__ import annotations

import os

from .config import Config
from .logtail import Tail, between

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

    from rich.console import Console
    from rich.text import Text

__all__ = ["Joiner", "Tail", "decided_by", "show"]

POLL_S = 0.25
_JOINED = ("request", "answer", "withdrawn")   # folded into the decision's row
_VERDICT_STYLE = {"allow": "green", "ask": "yellow", "deny": "red"}
_HOW = {"no_approver": "no approver", "no_human": "no-human mode", "denied": "human denied",
        "timeout": "timeout", "disconnected": "approver gone", "interrupted": "interrupted"}
Rec = dict[str, object]  # one audit record, as read


def _secs(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def _rules(rec: Rec) -> list[str]:
    rules = rec.get("rules")
    return [str(r) for r in rules] if isinstance(rules, list) else []


def decided_by(rec: Rec, answer: Rec | None) -> tuple[str, float | None]:
    """("who decided, how", seconds waited) for a decision record and its approver answer."""
    a, verdict = rec.get("approval"), rec.get("verdict")
    if rec.get("mode") == "dry-run" and verdict != "allow":
        return "dry-run", None
    if verdict in ("allow", "deny"):
        who = "tamper" if rec.get("reason") == "tamper" else \
            ("auto" if verdict == "allow" else "rule")
        return f"{who} ({verdict})", None
    if isinstance(a, dict):
        reason = str(a.get("answer") or "")
        how = str(a.get("how") or (answer or {}).get("how") or "")
        return (f"human {how}".strip() if reason == "approved" else
                _HOW.get(reason, reason.replace("_", " "))), _secs(a.get("seconds"))
    if answer is not None and answer.get("event") == "answer":
        approved = answer.get("answer") == "approve"
        return (f"human {answer.get('how') or ''}".strip() if approved else "human denied",
                _secs(answer.get("seconds")))
    reason = str(rec.get("reason") or "")
    return _HOW.get(reason, reason.replace("_", " ") or "-"), None


class Joiner:
    """Turns records, in file order, into what to print: filters applied, answers joined."""

    def __init__(self, args: argparse.Namespace, since: float | None,
                 decided: set[str] | None = None) -> None:
        self.since = since
        self.verdict, self.rule = args.verdict, args.rule
        self.session, self.grep = args.session, args.grep
        self.narrowed = bool(self.verdict or self.rule or self.session or self.grep)
        self.decided = decided or set()     # requests whose decision is already on file
        self.answers: dict[str, Rec] = {}   # request id -> the approver's answer/withdrawn
        self.matched: set[str] = set()      # request ids whose command passed the filters

    def matches(self, rec: Rec) -> bool:
        """The row filters (--verdict, --rule, --session, --grep) on a command's record."""
        from fnmatch import fnmatchcase
        if self.verdict and rec.get("verdict", "ask") != self.verdict:
            return False
        if self.rule and not any(fnmatchcase(r, self.rule) for r in _rules(rec)):
            return False
        ids = {str(rec[k]) for k in ("session", "pid", "gate_pid") if rec.get(k) is not None}
        if self.session and self.session not in ids:
            return False
        texts = (str(rec.get("command", "")), str(rec.get("inner", "")))
        return not self.grep or any(self.grep in t for t in texts)

    def wanted(self, rec: Rec) -> bool:
        """Whether the record passes every filter (the joined records follow their command)."""
        from .timewindow import record_time
        ev, req = rec.get("event"), str(rec.get("request", ""))
        if ev in _JOINED[1:]:
            self.answers[req] = rec
        if self.since is not None and (record_time(rec) or 0.0) < self.since:
            return False
        if ev in ("decision", "pending", "request"):
            ok = req in self.matched or self.matches(rec)
            if ok and req:
                self.matched.add(req)
            return ok
        if ev in _JOINED:
            return not self.narrowed or req in self.matched
        return not self.narrowed

    def row(self, rec: Rec) -> tuple[list[Text], str] | None:
        """Table cells and a row style for a wanted record; None for joined records."""
        from rich.text import Text
        ev, req = rec.get("event"), str(rec.get("request", ""))
        if ev in _JOINED or (ev == "pending" and req in self.decided):
            return None
        if ev not in ("decision", "pending"):
            what = "unreadable line" if "_bad" in rec else str(ev or "?")
            detail = rec.get("_bad") or rec.get("command") or rec.get("why") or ""
            sess = rec.get("session") or rec.get("approver_pid") or rec.get("pid") or ""
            return [_cell(_when(rec)), _cell(sess), Text(what), Text(""), _cell(detail),
                    _cell(_home(rec.get("cwd"))), Text(""), Text("")], "dim"
        verdict = str(rec.get("verdict", "?"))
        who, secs = decided_by(rec, self.answers.get(req)) if ev == "decision" else \
            ("waiting", None)
        outcome = str(rec.get("outcome", "")) if ev == "decision" else "waiting"
        shown = verdict if outcome == "waiting" or (verdict, outcome) == ("allow", "run") \
            else f"{verdict} {outcome}"
        style = _VERDICT_STYLE.get(verdict, "")
        style = f"bold {style}" if outcome in ("blocked", "waiting") else \
            ("dim " + style if verdict == "allow" else style)
        return [_cell(_when(rec)), _cell(rec.get("session") or rec.get("pid") or ""),
                Text(shown, style=style), _cell(", ".join(dict.fromkeys(_rules(rec))) or "-"),
                _cell(rec.get("inner") or rec.get("command") or ""), _cell(_home(rec.get("cwd"))),
                Text(who, style=style if outcome in ("blocked", "waiting") else ""),
                Text("" if secs is None else f"{secs:.1f}s")], ""


def _cell(value: object) -> Text:
    """Untrusted text as a rich Text: control characters shown as escapes, never markup."""
    from rich.text import Text

    from .display import visible
    return Text(visible(str(value)))


def _home(path: object) -> str:
    """A directory with the home directory written as ~ (nothing else is shortened)."""
    home = os.path.expanduser("~").rstrip("/")
    text = str(path or "")
    return "~" + text[len(home):] if home and (text + "/").startswith(home + "/") else text


def _when(rec: Rec) -> str:
    """The record's local time, HH:MM:SS today, else with the date."""
    import time

    from .timewindow import record_time
    t = record_time(rec)
    if t is None:
        return "?"
    local = time.localtime(t)
    today = time.strftime("%Y-%m-%d") == time.strftime("%Y-%m-%d", local)
    return time.strftime("%H:%M:%S" if today else "%Y-%m-%d %H:%M:%S", local)


_HEAD = ("time", "session", "verdict", "rule", "command", "cwd", "decided by", "wait")


def _table(rows: list[tuple[list[Text], str]], header: bool, time_width: int) -> object:
    """The rows as a table; text folds onto more lines, it is never cut.  time_width > 0
    fixes every width (--follow prints one table per batch, and they must line up)."""
    from rich.table import Table
    fixed = time_width > 0
    t = Table(show_header=header, header_style="bold", box=None, pad_edge=False, expand=fixed)
    widths = (time_width, 7, 12, 18, 0, 0, 12, 5)
    for name, width in zip(_HEAD, widths):
        ratio = (2 if name == "command" else 1) if fixed and not width else None
        t.add_column(name, width=width if fixed and width else None, ratio=ratio,
                     overflow="fold", no_wrap=name in ("time", "wait") and not fixed)
    for cells, style in rows:
        t.add_row(*cells, style=style or None)
    return t


def show(cfg: Config, args: argparse.Namespace) -> int:
    """`gatectl log [show]`: print the matching records, then follow when asked; exit 0."""
    import time

    from .timewindow import parse_when
    since = parse_when(args.since, time.time()) if args.since else None
    tail = Tail(cfg.audit_path) if args.follow else None  # opened first: nothing is missed
    recs = between(cfg.audit_path, (0, 0), tail.ino if tail else (-1, -1))
    recs += tail._drain() if tail else []
    decided = {str(r["request"]) for r in recs if r.get("event") == "decision"
               and r.get("request")}
    joiner = Joiner(args, since, decided)
    out = _Printer(bool(args.json), recs, tail is not None)
    if not recs:
        out.note(f"no audit records yet at {cfg.audit_path}")
    elif not out.emit([r for r in recs if joiner.wanted(r)], joiner):
        out.note("no matching records")
    if tail is None:
        return 0
    try:
        while True:
            time.sleep(POLL_S)
            new = tail.poll()
            if new:
                out.emit([r for r in new if joiner.wanted(r)], joiner)
    except KeyboardInterrupt:
        return 0


class _Printer:
    """Writes batches of records as JSON lines or as tables (aligned ones when following)."""

    def __init__(self, as_json: bool, recs: list[Rec], follow: bool) -> None:
        from rich.console import Console
        self.json = as_json
        self.con: Console = Console(highlight=False, markup=False, emoji=False)
        dated = any(len(_when(r)) > 8 for r in recs)
        self.time_width = (19 if dated else 8) if follow else 0
        self.header = True

    def note(self, text: str) -> None:
        import sys
        print(text, file=sys.stderr if self.json else sys.stdout, flush=True)

    def emit(self, recs: list[Rec], joiner: Joiner) -> int:
        """Print the records (the table skips joined ones); return how many lines it printed."""
        import sys
        if self.json:
            from .audit import canonical
            for r in recs:
                sys.stdout.write(canonical(r).decode("utf-8", "surrogateescape") + "\n")
            sys.stdout.flush()
            return len(recs)
        rows = [row for row in map(joiner.row, recs) if row is not None]
        if rows:
            self.con.print(_table(rows, self.header, self.time_width))
            self.header = False
            self.con.file.flush()
        return len(rows)
