"""The gate behind `gatectl hook`: gatesh's pipeline, audit records and approval, unchanged.

Like gate.enforce, but the command runs in the harness, not here: the hook only says what the
harness should do.  `ask` goes to `gatectl approve` through the same code gatesh uses, with a
write-ahead `pending` record.  One difference, asked for by the Integrations issue: when no
approver is running, Claude Code's hook may hand the question to Claude's own prompt; the audit
record then says so (reason and outcome `harness_ask`).  A yes leaves a one-shot grant for the
same command (approvals.grant_command): the shell route, or Codex's PermissionRequest right
after its PreToolUse (take_grant), takes it instead of asking the human twice.
"""

from __future__ import annotations

from .record import Record, replace

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .config import Config
    from .gate import Request
    from .model import Decision

__all__ = ["ALLOW", "APPROVED", "DENY", "HARNESS_ASK", "Result", "judge"]

ALLOW, APPROVED, DENY, HARNESS_ASK = "allow", "approved", "deny", "harness_ask"


class Result(Record):
    """What the hook answers (kind), why in words (message), and the request id if asked."""

    __slots__ = ()
    _fields = ("kind", "message", "request_id", "decision")
    kind: str                 # allow | approved | deny | harness_ask
    message: str
    request_id: str
    decision: object

    def __new__(cls, kind: str, message: str, request_id: str = "",
                decision: object = None) -> Result:
        return tuple.__new__(cls, (kind, message, request_id, decision))


def _handoff_message(d: Decision, title: str) -> str:
    from .display import visible
    lines = [f"gatesh: this command needs a human's approval and no `gatectl approve` is "
             f"running, so {title} asks you instead: {d.why}"]
    for m in d.matches:
        target = f" [{', '.join(m.targets)}]" if m.targets else ""
        lines.append(f"gatesh: rule: {m.rule_id} ({m.severity.value}): {m.why}{target}")
        if m.safer:
            lines.append(f"gatesh: safer: {m.safer}")
    return "\n".join(visible(ln) for ln in lines)


def judge(req: Request, cfg: Config, harness: str, handoff: str = "",
          take_grant: bool = False) -> Result:
    """Review, record and (for ask) ask the human; handoff names the harness whose own prompt
    takes an `ask` when no approver is running ("" = never hand off); take_grant: a yes given
    through the hook moments ago for this same command answers instead (Codex's
    PermissionRequest after its PreToolUse), used up."""
    from .errors import AuditUnwritable
    from .gate import ask_on_record, block_message, hook_grant, needs_human, reviewed, settle
    d = replace(reviewed(req, cfg), harness=harness)
    handed = False
    request_id = ""
    if needs_human(d):
        granted = hook_grant(d, cfg, req.command, req.cwd) if take_grant else None
        if granted is not None:
            d, request_id = granted
        else:
            d, request_id = ask_on_record(d, req, cfg)
            if d.reason == AuditUnwritable.reason:
                return Result(DENY, block_message(d).rstrip("\n"), request_id, d)
            if handoff and d.reason == "no_approver":
                d = replace(d, reason=HARNESS_ASK)
                handed = True
    d = settle(d, req, cfg, **({"outcome": HARNESS_ASK} if handed else {}))
    if d.reason == AuditUnwritable.reason:   # nothing runs unrecorded, not even in the harness
        handed = False
    if handed:
        return Result(HARNESS_ASK, _handoff_message(d, handoff), request_id, d)
    if d.blocked:
        return Result(DENY, block_message(d).rstrip("\n"), request_id, d)
    if d.reason == "approved":
        rid = getattr(d.approval, "request_id", request_id)
        from .approvals import grant_command
        grant_command(cfg.runtime_dir, req.command, req.cwd, rid, d.matches)
        return Result(APPROVED, f"gatesh: approved by a human in gatectl approve "
                                f"(request {rid})", rid, d)
    if d.reason == "approved_hook":
        return Result(APPROVED, f"gatesh: approved by a human in gatectl approve moments ago "
                                f"(request {request_id})", request_id, d)
    return Result(ALLOW, "", request_id, d)
