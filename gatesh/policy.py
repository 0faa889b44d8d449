"""Decide: matches, parse status and mode in; a verdict and whether the command runs, out.

Fail closed: a command that did not parse is `ask` whatever its readable parts say; tamper
is `deny`.  `ask` in enforce mode comes out blocked with reason `ask`: the gate then asks the
approver (approve.py), and only a human's yes unblocks it.
"""

from __future__ import annotations

from .model import Match, Severity, Verdict

__all__ = ["decide", "Outcome", "REASON_TEXT", "severity_of"]

REASON_TEXT = {
    "rule_deny": "a gatesh rule forbids this command",
    "tamper": "the command touches gatesh's approval channel, rules, config or log",
    "no_human": "it needs a human's approval and gatesh runs in no-human mode, where nobody "
                "can give it",
    "ask": "it needs a human's approval",
    "no_approver": "no approver is running; a human must run `gatectl approve` in a separate "
                   "terminal",
    "denied": "a human denied it in gatectl approve",
    "timeout": "no decision within {timeout} s; treated as denied",
    "disconnected": "the approver disconnected before deciding; treated as denied",
    "invalid_approver": "the process answering on the approval socket is not a valid "
                        "approver: {detail}",
    "malformed_reply": "the approver's reply was malformed; treated as denied",
    "interrupted": "the request was withdrawn by a signal before a human decided",
    "traced": "gatesh is being traced, and a traced gate cannot ask for approval",
    "unparseable": "gatesh could not parse this command, and what it cannot read needs a "
                   "human's approval",
    "bad_config": "gatesh's configuration or rule files are invalid",
    "bad_rules": "gatesh's configuration or rule files are invalid",
    "audit_unwritable": "the audit record could not be written, and nothing runs unrecorded",
    "internal_error": "gatesh failed while reviewing the command",
}


class Outcome:
    __slots__ = ("verdict", "blocked", "reason", "why")

    def __init__(self, verdict: Verdict, blocked: bool, reason: str, why: str) -> None:
        self.verdict, self.blocked, self.reason, self.why = verdict, blocked, reason, why


_NO_MATCH = Outcome(Verdict.ALLOW, False, "allow", "no rule matched")  # shared: only read


def decide(matches: tuple[Match, ...], parsed: bool, mode: str) -> Outcome:
    """The verdict, and whether the command is blocked in this mode."""
    if not matches and parsed:
        return _NO_MATCH  # most commands
    verdict = Verdict.ALLOW
    reason = "allow"
    why = "no rule matched"
    tamper = any(m.tamper for m in matches)
    for m in matches:
        if m.verdict.rank > verdict.rank:
            verdict = m.verdict
    if not parsed:
        if verdict is Verdict.ALLOW:
            verdict = Verdict.ASK
        reason, why = "unparseable", "gatesh could not parse this command"
    if tamper:
        verdict, reason = Verdict.DENY, "tamper"
    elif verdict is Verdict.DENY:
        reason = "rule_deny"
    if matches:
        top = max(matches, key=lambda m: (m.verdict.rank, m.severity.rank))
        why = top.why
    if verdict is Verdict.ALLOW:
        return Outcome(verdict, False, "allow", why)
    if mode == "dry-run":
        return Outcome(verdict, False, reason if reason != "allow" else "ask", why)
    if verdict is Verdict.ASK and reason not in ("unparseable",):
        reason = "no_human" if mode == "no-human" else "ask"
    elif verdict is Verdict.ASK and mode != "no-human":
        reason = "unparseable"
    return Outcome(verdict, True, reason, why)


def severity_of(matches: tuple[Match, ...]) -> Severity | None:
    """The highest severity among the matches, None when there are none."""
    return max((m.severity for m in matches), key=lambda s: s.rank, default=None)
