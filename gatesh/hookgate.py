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


def _append(cfg: Config, fields: dict[str, object]) -> None:
    from .audit import append
    append(cfg.audit_path, fields, max_bytes=cfg.audit_max_bytes, export=cfg.audit_syslog)


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
    from .channel import new_id
    from .errors import AuditUnwritable
    from .gate import _ask_human, _record_fields, block_message, failure, review
    try:
        d = review(req, cfg)
    except Exception as e:  # noqa: BLE001 - a crashing gate never lets a command through
        d = failure(req.command, "internal_error",
                    f"gatesh failed while reviewing the command ({type(e).__name__}: {e})",
                    cfg.mode)
    d = replace(d, harness=harness)
    handed = False
    request_id = ""
    hooked = None
    if take_grant and d.blocked and d.mode == "enforce" and d.reason in ("ask", "unparseable"):
        from .approvals import take_command
        hooked = take_command(cfg.runtime_dir, req.command, req.cwd, d.matches)
    if hooked is not None:
        request_id = hooked
        d = replace(d, blocked=False, reason="approved_hook",
                    notes=d.notes + (f"approved through the hook, request {hooked}",))
    elif d.blocked and d.mode == "enforce" and d.reason in ("ask", "unparseable"):
        request_id = new_id()
        try:  # the wait is on record: a hook killed while waiting still left a trace
            _append(cfg, {**_record_fields(req, d), "event": "pending", "outcome": "waiting",
                          "request": request_id})
        except AuditUnwritable as e:
            d = replace(d, reason="audit_unwritable", why=str(e))
            return Result(DENY, block_message(d).rstrip("\n"), request_id, d)
        d = _ask_human(d, req, cfg, request_id)
        if handoff and d.reason == "no_approver":
            d = replace(d, reason=HARNESS_ASK)
            handed = True
    fields = _record_fields(req, d)
    if handed:
        fields["outcome"] = HARNESS_ASK
    try:
        _append(cfg, fields)
    except AuditUnwritable as e:
        if cfg.mode != "dry-run":  # nothing runs unrecorded, not even through the harness
            d = replace(d, blocked=True, reason="audit_unwritable", why=str(e))
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
