"""What `gatectl demo` shows: the strip above the console, and the summary printed after it.

Commands and their output are untrusted text even here: they go through display.visible()
into plain prompt_toolkit fragments or rich Text objects, never into markup.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .demoworld import Step
from .display import visible

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from .demoworld import World

__all__ = ["Outcome", "Progress", "Row", "Summary", "panel_fragments", "print_summary",
           "summarize"]

Fragments = list[tuple[str, str]]
_CMD_WIDTH = 40
_REASONS = {
    "rule_deny": "BLOCKED by a rule; nobody was asked",
    "tamper": "BLOCKED: it would switch the gate off; nobody was asked",
    "denied": "BLOCKED: the answer was no",
    "timeout": "BLOCKED: no answer in time",
    "disconnected": "BLOCKED: the console closed before answering",
    "no_approver": "BLOCKED: no console was listening",
}


@dataclass(frozen=True)
class Outcome:
    """What one command of the script came to, as the agent saw it."""

    exit: int
    out: str                   # the first of its output, on one line
    reason: str                # the gate's reason code when it blocked it, else ""
    told: tuple[str, ...] = () # the first and last lines of the BLOCKED message


@dataclass
class Progress:
    """The demo's state, changed only in the console's event loop."""

    steps: tuple[Step, ...]
    root: str
    auto: str = ""             # "yes" or "no" with --auto
    pids: dict[int, int] = field(default_factory=dict)         # step -> gate pid
    results: dict[int, Outcome] = field(default_factory=dict)  # step -> outcome
    current: int = -1
    ended: bool = False        # the agent is gone (finished or failed)
    failure: str = ""

    @property
    def finished(self) -> bool:
        return len(self.results) == len(self.steps)


def _narration(p: Progress) -> str:
    if p.failure:
        return f"the scripted agent stopped: {visible(p.failure)}"
    if p.ended:
        return "done: leaving the console to print the summary ..."
    step = p.steps[p.current] if 0 <= p.current < len(p.steps) else None
    if step is not None and step.asks and p.current not in p.results:
        if p.auto:
            return f"the agent wants to delete its project. --auto {p.auto}: answering for you"
        return "the agent wants to delete its project. y lets it run, n blocks it."
    return f"a scripted agent runs commands through gatesh; ~ is {visible(p.root)}/home"


def _result(step: Step, i: int, p: Progress) -> tuple[str, Fragments]:
    r = p.results.get(i)
    if r is None:
        if i != p.current:
            return "·", [("class:dim", step.note)]
        if step.asks:
            who = f"waiting: --auto {p.auto} answers" if p.auto else "waiting for the human: y or n"
            return "▶", [("class:warn", who)]
        return "▶", [("class:dim", "running ...")]
    status = f"exit {r.exit:<4}"
    if r.reason:
        text = _REASONS.get(r.reason, f"BLOCKED ({r.reason})")
        return "✗", [("class:denied", status), ("class:denied", text)]
    if step.asks:
        return "✓", [("class:approved", status),
                     ("class:approved", "approved, so it really ran")]
    style = "class:approved" if r.exit == 0 else "class:warn"
    frags: Fragments = [(style, status), ("class:dim", step.note)]
    if r.out:
        frags.append(("class:dim", "  > " + visible(r.out)))
    return ("✓" if r.exit == 0 else "!"), frags


def panel_fragments(p: Progress) -> Fragments:
    """The strip under the console's header: a line of narration, then one line per step."""
    out: Fragments = [("class:label", " DEMO  "), ("bold", _narration(p)), ("", "\n")]
    width = min(_CMD_WIDTH, max(len(s.command) for s in p.steps))
    for i, step in enumerate(p.steps):
        mark, frags = _result(step, i, p)
        out.append(("bold" if i == p.current else "", f" {mark} $ "))
        out.append(("", f"{visible(step.command):<{width}} "))
        for style, text in frags:
            out.append((style, text + " "))
        out.append(("", "\n"))
    return out


@dataclass(frozen=True)
class Row:
    exit: str                  # "-" when the command never ran
    command: str
    how: str                   # verdict, outcome and who decided, from the audit log
    blocked: bool


@dataclass(frozen=True)
class Summary:
    """What the summary says, gathered while the throwaway world still exists."""

    rows: tuple[Row, ...]
    chain: str                 # the audit log's hash chain, verified
    ending: str                # what became of the command the human decided
    told: tuple[str, ...]      # what the agent was told the last time it was blocked
    root: str
    home: str
    audit_path: str


def _how(rec: dict[str, object] | None, answer: dict[str, object] | None) -> str:
    from .logview import decided_by
    if rec is None:
        return "no decision on record"
    who, secs = decided_by(rec, answer)
    how = str((answer or {}).get("how") or "")
    if how.startswith("demo --auto"):
        who = f"{how[5:]} (nobody was asked)"
    took = f" after {secs:.1f}s" if secs else ""
    return f"{rec.get('verdict')}, {rec.get('outcome')}: {who}{took}"


def _rows(p: Progress, audit_path: str) -> tuple[Row, ...]:
    """One row per step, joined with the gate's decision record by the gate's pid."""
    from .audit import read_records
    records = read_records(audit_path)
    answers = {str(r.get("request")): r for r in records if r.get("event") == "answer"}
    decisions = {r.get("pid"): r for r in records if r.get("event") == "decision"}
    rows = []
    for i, step in enumerate(p.steps):
        r = p.results.get(i)
        if i not in p.pids:
            rows.append(Row("-", visible(step.command), "not run", False))
            continue
        rec = decisions.get(p.pids[i])
        how = _how(rec, answers.get(str(rec.get("request"))) if rec else None)
        rows.append(Row("-" if r is None else str(r.exit), visible(step.command), visible(how),
                        r is not None and bool(r.reason)))
    return tuple(rows)


def _chain(audit_path: str) -> str:
    from .auditverify import check
    findings, count, _seq, _hash = check([audit_path], [])
    if findings:
        return f"the audit log's hash chain is broken: {visible(findings[0])}"
    return f"the audit log's hash chain checks out ({count} records)"


def _ending(p: Progress, project: str) -> str:
    import os
    asked = next((i for i, s in enumerate(p.steps) if s.asks), -1)
    last = p.results.get(asked)
    name = "~/" + os.path.basename(project)
    there = os.path.exists(project)
    if last is None:
        return ""
    who = {"": "You answered y", "denied": "You answered n",
           "timeout": "Nobody answered in time"}.get(last.reason, f"It was blocked ({last.reason})")
    if p.auto and last.reason in ("", "denied"):
        who = f"--auto {p.auto} answered for you"
    if not last.reason:
        return (f"{who}, so `{p.steps[asked].command}` really ran: {name} is "
                f"{'still there (?)' if there else 'gone'} (it was the throwaway copy).")
    return f"{who}, so {name} is {'still there' if there else 'gone (?)'}."


def summarize(p: Progress, world: World) -> Summary:
    blocked = [r for r in p.results.values() if r.told]
    told = tuple(visible(t) for t in blocked[-1].told) if blocked else ()
    return Summary(_rows(p, world.audit_path), _chain(world.audit_path),
                   _ending(p, world.project), told, world.root, world.home, world.audit_path)


def print_summary(s: Summary, kept: bool) -> None:
    """What ran and what was blocked, and where the throwaway world is (or was)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    con = Console(highlight=False, markup=False, emoji=False)
    table = Table(box=None, show_edge=False, pad_edge=False, header_style="bold")
    table.add_column("exit", justify="right")
    table.add_column("command")
    table.add_column("decided (from the demo's audit log)")
    for row in s.rows:
        style = "bold red" if row.blocked else ""
        table.add_row(Text(row.exit, style=style), Text(row.command), Text(row.how, style=style))
    ran = sum(1 for r in s.rows if r.exit != "-" and not r.blocked)
    blocked = sum(1 for r in s.rows if r.blocked)
    con.print(Text("gatectl demo: what the agent ran", style="bold"))
    con.print(table)
    con.print(Text(f"{ran} ran, {blocked} blocked (exit 126: not executed); {s.chain}."))
    if s.ending:
        con.print(Text(s.ending))
    if s.told:
        con.print(Text("The last time it was blocked, the agent got exit 126 and this on stderr:"))
        con.print(Text("  " + "\n  ...\n  ".join(s.told), style="dim"))
    if kept:
        con.print(Text(f"Kept the throwaway world {s.root} (HOME {s.home}, log {s.audit_path})."))
    else:
        con.print(Text(f"Removed the throwaway world {s.root}."))
    con.print(Text("To use gatesh: run `gatectl approve` in a second terminal, then start your "
                   "agent with `gatectl run -- AGENT`.", style="dim"))
