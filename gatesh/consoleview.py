"""What the approval console draws: plain (style, text) fragments, never markup.

Every piece of request text (command, targets, notes, the agent's justification) goes
through display.visible(), so control, bidi and zero-width characters appear as escapes
and a command cannot redraw the screen (approval.md 6).
"""

from __future__ import annotations

import time

from .approver import PENDING, Pending
from .display import non_ascii, visible

__all__ = ["STYLE", "queue_fragments", "detail_fragments", "help_fragments", "state_label"]

Fragments = list[tuple[str, str]]

STYLE = {
    "header": "reverse bold",
    "sel": "reverse",
    "critical": "bold fg:ansired",
    "high": "bold fg:ansiyellow",
    "medium": "fg:ansiyellow",
    "low": "",
    "label": "fg:ansicyan",
    "danger": "bold fg:ansiwhite bg:ansired",
    "dim": "fg:ansibrightblack",
    "warn": "bold fg:ansiyellow",
    "approved": "bold fg:ansigreen",
    "denied": "bold fg:ansired",
    "untrusted": "italic fg:ansimagenta",
    "alarm": "bold fg:ansiwhite bg:ansired",
}


def state_label(p: Pending) -> str:
    return {"approved": "APPROVED", "denied": "DENIED", "withdrawn": "WITHDRAWN",
            "timeout": "DENY (timeout)"}.get(p.state, "pending")


def queue_fragments(rows: list[Pending], selected: Pending | None) -> Fragments:
    out: Fragments = []
    if not rows:
        return [("class:dim", " no requests yet\n waiting for gated commands\n")]
    for p in rows:
        mark = "▶" if p is selected else " "
        if p.state == PENDING:
            sev = "CRIT" if p.severity == "critical" else p.severity[:4]
            tail = f"{int(p.left()):>3}s"
            style = f"class:{p.severity}"
        else:
            sev, tail, style = "", state_label(p), "class:dim"
        line = f"{mark} {p.id:<11} {sev:<4} {tail}"
        out.append(("class:sel" if p is selected else style, line))
        out.append(("", "\n"))
    return out


def _field(out: Fragments, label: str, text: str, style: str = "") -> None:
    out.append(("class:label", f"{label:<10}"))
    lines = text.split("\n")
    out.append((style, lines[0]))
    for ln in lines[1:]:
        out.append(("", "\n" + " " * 10))
        out.append((style, ln))
    out.append(("", "\n"))


def _highlighted(text: str, parts: list[str]) -> Fragments:
    """text with every occurrence of the dangerous invocations marked."""
    spans: list[tuple[int, int]] = []
    for part in parts:
        if not part:
            continue
        start = text.find(part)
        while start >= 0:
            spans.append((start, start + len(part)))
            start = text.find(part, start + len(part))
    spans.sort()
    out: Fragments = []
    pos = 0
    for a, b in spans:
        if a < pos:
            a = pos
        if a >= b:
            continue
        out.append(("", visible(text[pos:a], keep_newlines=True)))
        out.append(("class:danger", visible(text[a:b], keep_newlines=True)))
        pos = b
    out.append(("", visible(text[pos:], keep_newlines=True)))
    return out


def detail_fragments(p: Pending | None, show_full: bool, alarm: str) -> Fragments:
    out: Fragments = []
    if alarm:
        out += [("class:alarm", f" ALARM: {visible(alarm)} "), ("", "\n\n")]
    if p is None:
        out.append(("class:dim", "Nothing to decide. Gated commands that need a human appear "
                    "here.\n"))
        return out
    sev = p.severity.upper()
    out += [("class:label", "request   "), ("bold", p.id), ("", "   "),
            (f"class:{p.severity}", sev), ("", "   ")]
    if p.state == PENDING:
        out += [("bold", f"time left {int(p.left())} s"), ("", "  (no answer = DENY)\n")]
    else:
        style = "class:approved" if p.state == "approved" else "class:denied"
        detail = f" - {visible(p.state_detail)}" if p.state_detail else ""
        out += [(style, state_label(p)), ("class:dim", detail), ("", "\n")]
    matches = getattr(p.review, "matches", ())
    for m in matches:
        _field(out, "rule", f"{m.rule_id} ({m.severity.value}): {visible(m.why)}")
    if not matches:
        why = getattr(p.review, "why", "")
        _field(out, "rule", f"no rule severity (counts as high): {visible(str(why))}")
    claimed = p.msg.get("rules")
    mine = {m.rule_id for m in matches}
    if isinstance(claimed, list) and set(map(str, claimed)) - mine:
        _field(out, "gate said", visible(", ".join(map(str, claimed))), "class:dim")
    shown = p.command if show_full else p.display
    label = "full" if show_full else "command"
    out.append(("class:label", f"{label:<10}"))
    out += _indent(_highlighted(shown, [m.command for m in matches]))
    out.append(("", "\n"))
    if p.display != p.command:
        out.append(("class:dim", " " * 10 + ("f: show the agent's command" if show_full else
                                            "f: show the full string the harness sent") + "\n"))
    if non_ascii(shown):
        out.append(("class:warn", " " * 10 + "warning: the command holds non-ASCII characters "
                    "(look-alikes are possible)\n"))
    for m in matches:
        if m.command and m.command != p.display:
            _field(out, "runs", visible(m.command, keep_newlines=True), "class:danger")
    r = p.requester
    _field(out, "cwd", visible(r.cwd) or "(unreadable)")
    started = time.strftime("%H:%M:%S", time.localtime(r.started)) if r.started else "?"
    who = f"gate pid {r.pid}, session {r.sid}, tty {r.tty}, uid {r.uid}, started {started}"
    _field(out, "requester", who)
    if r.registered:
        _field(out, "session", f"gatectl run: {visible(r.agent)}")
    else:
        _field(out, "session", "unregistered session (not started with gatectl run)", "class:warn")
    _field(out, "chain", " <- ".join(visible(c) for c in r.chain[:8]), "class:dim")
    targets = sorted({t for m in matches for t in m.targets})
    if targets:
        _field(out, "targets", visible("\n".join(targets), keep_newlines=True))
    if p.preview is None:
        _field(out, "blast", "measuring ...", "class:dim")
    else:
        _field(out, "blast", visible("\n".join(p.preview) or "nothing measurable",
                                     keep_newlines=True))
    just = p.msg.get("justification")
    if isinstance(just, str) and just:
        _field(out, "agent says", "(untrusted) " + visible(just, keep_newlines=True),
               "class:untrusted")
    return out


def _indent(frags: Fragments) -> Fragments:
    out: Fragments = []
    for style, text in frags:
        out.append((style, text.replace("\n", "\n" + " " * 10)))
    return out


def help_fragments(p: Pending | None, mode: str, armed: bool) -> Fragments:
    if p is None or p.state != PENDING:
        return [("class:dim", " up/down select   PgUp/PgDn scroll   q quit (pending requests "
                 "are then denied)")]
    if not armed:
        return [("class:warn", " (keys are ignored for half a second after a request appears)")]
    if mode == "token":
        return [("bold", f" CRITICAL: type  {p.token}  and press Enter to approve. "),
                ("", "Anything else denies (y alone denies). Esc deny   Tab deny with a note   "
                 "up/down select")]
    if mode == "note":
        return [("bold", " note to the agent, Enter sends the denial; Esc goes back")]
    return [("bold", " y approve   n deny   m deny with a note   "),
            ("", "up/down select   PgUp/PgDn scroll   f full string   q quit   "
             "(no answer = DENY)")]
