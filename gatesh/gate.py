"""The gate: parse, unwrap, classify, decide and record one command.

review() is pure apart from reading rule files; enforce() adds the write-ahead audit record.
Neither raises for a bad command: every failure becomes a Decision that blocks.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from .config import Config
from .errors import AuditUnwritable, GateshError
from .model import Decision, Match, Verdict
from .record import Record, replace

__all__ = ["Request", "review", "enforce", "block_message", "failure", "known_vars"]

_RULESETS: dict[tuple[str, ...], object] = {}


class Request(Record):
    """One command to review: its text, the directory it runs in, and its environment."""

    __slots__ = ()
    _fields = ("command", "cwd", "origin", "env", "params")
    command: str
    cwd: str
    origin: str                          # c | script | check | hook
    env: Mapping[str, str] | None
    params: tuple[str, ...]              # $0, $1, ... when the shell was given them

    def __new__(cls, command: str, cwd: str, origin: str = "c",
                env: Mapping[str, str] | None = None, params: tuple[str, ...] = ()) -> Request:
        return tuple.__new__(cls, (command, cwd, origin, env, tuple(params)))


def known_vars(env: Mapping[str, str], cfg: Config, cwd: str,
               params: tuple[str, ...] = ()) -> dict[str, str]:
    """Variables whose value at run time the gate knows: bash gets exactly this environment
    (gatesh execs it unchanged) and these positional parameters."""
    out = dict(env)
    out["HOME"] = env.get("HOME") or cfg.home
    out["PWD"] = cwd
    if "SHELL" not in env:
        out["SHELL"] = _login_shell()
    for i, p in enumerate(params):
        out[str(i)] = p
    return out


def _login_shell() -> str:
    """What bash puts in an unset SHELL: the user's login shell."""
    import pwd
    try:
        return pwd.getpwuid(os.getuid()).pw_shell or "/bin/sh"
    except KeyError:
        return "/bin/sh"


def _ruleset(cfg: Config, project_root: str) -> object:
    key = (cfg.user_rules_dir, project_root, *cfg.disabled_rules)
    rs = _RULESETS.get(key)
    if rs is None:
        from .rules import load_ruleset  # here, not above: an import statement costs per call
        rs = load_ruleset(cfg.user_rules_dir, project_root, cfg.disabled_rules,
                          cfg.cache_dir or None)
        _RULESETS[key] = rs
    return rs


_STAGES: list[object] = []


def _load_stages() -> list[object]:
    """The pipeline's modules, imported on first use (not at gatesh start) and kept."""
    from .classify import classify
    from .errors import Unparseable
    from .harness import extract
    from .parse import parse
    from .policy import decide
    from .context import Context
    from .unwrap import unwrap
    _STAGES[:] = [classify, Unparseable, extract, parse, decide, Context, unwrap]
    return _STAGES


def failure(command: str, reason: str, why: str, mode: str, display: str | None = None) -> Decision:
    """A Decision for a gate that could not review the command: it blocks (fails closed)."""
    return Decision(verdict=Verdict.ASK, parsed=False, matches=(), why=why, reason=reason,
                    command=command, display=display if display is not None else command,
                    mode=mode, blocked=mode != "dry-run")


def review(req: Request, cfg: Config, ruleset: object = None) -> Decision:
    """Parse, unwrap, classify and decide; never raises for a bad command or rule."""
    classify, Unparseable, extract, parse, decide, Context, unwrap = _STAGES or _load_stages()

    command, cwd, mode = req.command, req.cwd, cfg.mode  # read once: each is a property call
    env = req.env if req.env is not None else os.environ
    ctx = Context(cwd, cfg.home, env, {"config_dir": cfg.config_dir,
                                       "state_dir": cfg.state_dir,
                                       "runtime_dir": cfg.runtime_dir,
                                       "cache_dir": cfg.cache_dir})
    notes: list[str] = []
    try:
        if ruleset is None:
            ruleset = _ruleset(cfg, ctx.project_root)
    except GateshError as e:
        return failure(command, e.reason, str(e), mode)
    try:
        prog = parse(command)
        parsed = True
    except Unparseable as e:
        prog, parsed = None, False
        notes.append(f"unparseable: {e}")
    harness, display = extract(command, prog)
    matches: list[Match] = []
    if prog is not None:
        vars = known_vars(env, cfg, cwd, req.params) if "$" in command else {
            "HOME": env.get("HOME") or cfg.home, "PWD": cwd}
        found = unwrap(prog, vars, cwd, suspects=ruleset.suspects,  # type: ignore[attr-defined]
                       source=command)
        matches.extend(found.matches)
        if found.steps:
            notes.extend(f"unwrapped {s}" for s in found.steps)
        matches.extend(classify(found.invocations, ruleset, ctx))  # type: ignore[arg-type]
    outcome = decide(tuple(matches), parsed, mode)
    for m in matches:
        if m.targets:
            notes.append(f"{m.rule_id}: {', '.join(m.targets)}")
    return Decision(outcome.verdict, parsed, tuple(matches), outcome.why, outcome.reason,
                    command, display, harness, mode, outcome.blocked, tuple(notes))


def _severity(d: Decision) -> str | None:
    from .policy import severity_of
    sev = severity_of(d.matches)
    return sev.value if sev is not None else None


def _record_fields(req: Request, d: Decision) -> dict[str, object]:
    from .mask import mask  # credentials in the text never reach the log (nor does the env)
    fields: dict[str, object] = {
        "event": "decision",
        "mode": d.mode,
        "cwd": req.cwd,
        "origin": req.origin,
        "command": mask(d.command),
        "inner": mask(d.display),
        "harness": d.harness,
        "verdict": d.verdict.value,
        "parsed": d.parsed,
        "rules": [m.rule_id for m in d.matches],
        "severity": _severity(d),
        "targets": sorted({t for m in d.matches for t in m.targets}),
        "reason": d.reason,
        "outcome": "blocked" if d.blocked else ("dry-run" if d.mode == "dry-run"
                                                 and d.verdict is not Verdict.ALLOW else "run"),
        "pid": os.getpid(),
        "ppid": os.getppid(),
    }
    a = d.approval
    if a is not None:
        fields["request"] = a.request_id  # type: ignore[attr-defined]
        fields["approval"] = {"answer": a.reason, "approver_pid": a.approver_pid,  # type: ignore[attr-defined]
                              "how": a.how, "seconds": a.seconds, "note": a.note}  # type: ignore[attr-defined]
    return fields


def _ask_human(d: Decision, req: Request, cfg: Config, request_id: str) -> Decision:
    """Ask the approver; only a human's yes unblocks the command."""
    from .approve import ask
    try:
        answer = ask(d, req.cwd, cfg, request_id)
    except Exception as e:  # noqa: BLE001 - a failing approval path blocks the command
        return replace(d, reason="internal_error",
                       why=f"gatesh failed while asking for approval ({type(e).__name__}: {e})")
    if answer.approved:
        return replace(d, blocked=False, reason="approved", approval=answer)
    return replace(d, reason=answer.reason, approval=answer)


def reviewed(req: Request, cfg: Config) -> Decision:
    """review(); a crash in it becomes a block: a crashing gate never lets a command through."""
    try:
        return review(req, cfg)
    except Exception as e:  # noqa: BLE001
        return failure(req.command, "internal_error",
                       f"gatesh failed while reviewing the command ({type(e).__name__}: {e})",
                       cfg.mode)


def needs_human(d: Decision) -> bool:
    return d.blocked and d.mode == "enforce" and d.reason in ("ask", "unparseable")


def record(cfg: Config, fields: dict[str, object]) -> None:
    """One audit record (AuditUnwritable when the log cannot take it)."""
    from .audit import append
    append(cfg.audit_path, fields, max_bytes=cfg.audit_max_bytes, export=cfg.audit_syslog)


def hook_grant(d: Decision, cfg: Config, command: str, cwd: str) -> tuple[Decision, str] | None:
    """d unblocked, and the request id, when a human approved exactly this through an agent's
    hook moments ago (approvals.take_command: used up); None otherwise."""
    from .approvals import take_command
    taken = take_command(cfg.runtime_dir, command, cwd, d.matches)
    if taken is None:
        return None
    return replace(d, blocked=False, reason="approved_hook",
                   notes=d.notes + (f"approved through the hook, request {taken}",)), taken


def ask_on_record(d: Decision, req: Request, cfg: Config) -> tuple[Decision, str]:
    """The write-ahead `pending` record (a gate killed while waiting still left a trace),
    then the human's answer, and the request id.  When the log cannot take the record
    nobody is asked: d comes back still blocked, with reason audit_unwritable."""
    from .channel import new_id
    request_id = new_id()
    try:
        record(cfg, {**_record_fields(req, d), "event": "pending", "outcome": "waiting",
                     "request": request_id})
    except AuditUnwritable as e:
        return replace(d, reason=e.reason, why=str(e)), request_id
    return _ask_human(d, req, cfg, request_id), request_id


def settle(d: Decision, req: Request, cfg: Config, **extra: object) -> Decision:
    """The decision's audit record; a log that cannot take it blocks the command (in every
    mode but dry-run): nothing runs unrecorded."""
    try:
        record(cfg, {**_record_fields(req, d), **extra})
    except AuditUnwritable as e:
        if cfg.mode != "dry-run":
            return replace(d, blocked=True, reason=e.reason, why=str(e))
    return d


def enforce(req: Request, cfg: Config) -> Decision:
    """review(), the human when one is needed, then the audit record; an unwritable log
    blocks the command."""
    d = reviewed(req, cfg)
    if needs_human(d):
        from .approvals import approved_ancestor
        earlier = approved_ancestor(cfg.runtime_dir)
        if earlier is not None:   # inside a command a human approved: not asked again
            d = replace(d, blocked=False, reason="approved_ancestor",
                        notes=d.notes + (f"inside approved request {earlier}",))
        elif (granted := hook_grant(d, cfg, d.display, req.cwd)) is not None:
            d = granted[0]        # just approved through the agent's hook: not asked twice
        else:
            d, _ = ask_on_record(d, req, cfg)
            if d.reason == AuditUnwritable.reason:
                return d
    return settle(d, req, cfg)


def _seconds(s: float) -> str:
    return str(int(s)) if s >= 1 else f"{s:.1f}"


def _deciding_rule(d: Decision) -> str:
    """The rule the status line names: a tamper rule for a tamper block, else the first of
    the denying, then most severe, matches."""
    if not d.matches:
        return "-"
    if d.reason == "tamper":
        for m in d.matches:
            if m.rule_id.startswith("tamper:"):
                return m.rule_id
    return max(d.matches, key=lambda m: (m.verdict is Verdict.DENY, m.severity.rank)).rule_id


def block_message(d: Decision) -> str:
    """The standard message, every line starting `gatesh: `."""
    from .display import visible
    from .policy import REASON_TEXT
    a = d.approval
    if d.reason in ("bad_config", "bad_rules"):
        reason = d.why  # FILE:LINE: what is wrong; what to do
    else:
        reason = REASON_TEXT.get(d.reason, d.why).format(
            timeout=_seconds(a.seconds) if a is not None else "?",  # type: ignore[attr-defined]
            detail=visible(a.detail) if a is not None else "")  # type: ignore[attr-defined]
        if d.reason == "no_approver" and a is not None and a.detail and \
                a.detail != "no approver is running":  # type: ignore[attr-defined]
            reason += f" ({visible(a.detail)})"  # type: ignore[attr-defined]
    lines = [f"BLOCKED - the command was NOT executed: {reason}"]
    shown = visible(d.display, keep_newlines=True).split("\n")
    lines.append(f"command: {shown[0]}")
    lines.extend(f"         {ln}" for ln in shown[1:])
    if d.reason in ("audit_unwritable", "internal_error"):
        lines.append(f"why: {d.why}")
    elif not d.parsed:
        detail = d.notes[0].removeprefix("unparseable: ") if d.notes else ""
        lines.append("why: gatesh could not parse this command" +
                     (f" ({detail})" if detail else ""))
    for m in d.matches:
        target = f" [{', '.join(m.targets)}]" if m.targets else ""
        lines.append(f"rule: {m.rule_id} ({m.severity.value}): {m.why}{target}")
        if m.safer:
            lines.append(f"safer: {m.safer}")
    if a is not None and a.note:  # type: ignore[attr-defined]
        lines.append(f"note from the human: {visible(a.note)}")  # type: ignore[attr-defined]
    lines.append("do not retry this command or a reworded, split or encoded equivalent, and do "
                 "not try to start or answer the approver yourself (gatesh rejects approvals "
                 "from this session). Tell the user what you "
                 "wanted to run and why, then wait for their instruction, or continue with a "
                 "non-destructive alternative.")
    rule = _deciding_rule(d)
    request = f" request={a.request_id}" if a is not None else ""  # type: ignore[attr-defined]
    lines.append(f"status=blocked reason={d.reason}{request} rule={rule}")
    return "".join(f"gatesh: {ln}\n" for ln in lines)
