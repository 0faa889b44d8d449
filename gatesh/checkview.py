"""The human-readable `gatectl check` verdict, rendered with rich; untrusted text escaped."""

from __future__ import annotations

from .model import Decision

__all__ = ["show"]

_STYLE = {"allow": "bold green", "ask": "bold yellow", "deny": "bold red"}


def show(d: Decision, explain: bool = False) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from .display import visible

    con = Console(highlight=False)
    verdict = d.verdict.value
    con.print(f"[{_STYLE[verdict]}]{verdict.upper()}[/]  {escape(visible(d.display))}")
    if d.harness:
        con.print(f"  harness wrapper: {escape(d.harness)} (the whole string was checked)")
    if not d.parsed:
        con.print("  [yellow]gatesh could not parse this command[/]")
    con.print(f"  why: {escape(d.why)}")
    if d.matches:
        t = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        for col in ("rule", "severity", "verdict", "targets", "safer"):
            t.add_column(col)
        for m in d.matches:
            t.add_row(escape(m.rule_id), m.severity.value, m.verdict.value,
                      escape(visible(", ".join(m.targets))), escape(m.safer))
        con.print(t)
    if explain:
        con.print("[bold]explain[/]")
        con.print(f"  parsed: {'yes' if d.parsed else 'no'}")
        con.print(f"  command as written: {escape(visible(d.command))}")
        for note in d.notes:
            con.print(f"  {escape(visible(note))}")
        for m in d.matches:
            con.print(f"  decided by {escape(m.rule_id)} on: {escape(visible(m.command))}")
