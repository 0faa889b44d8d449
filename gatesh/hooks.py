"""`gatectl hook claude|codex|gemini|cursor`: answer a harness's pre-tool hook (harnesses.md 3).

One JSON object in on stdin, one answer out in the harness's own format: its neutral answer
for `allow` (the harness's own rules still apply), its deny for `deny`, tamper and any `ask`
a human did not approve, an explicit allow only after a human's yes in `gatectl approve`.
Malformed input, a bad config or a crash: the harness's deny; when even that cannot be
written, exit 2 with one line on stderr (a block in Claude Code, Codex and Gemini CLI).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import TextIO

from .record import Record

__all__ = ["HARNESSES", "Call", "BadInput", "parse_call", "render", "run"]

HARNESSES = ("claude", "codex", "gemini", "cursor")
_TITLES = {"claude": "Claude Code", "codex": "Codex", "gemini": "Gemini CLI", "cursor": "Cursor"}
_EVENTS = {"claude": ("PreToolUse", "PermissionRequest"),
           "codex": ("PreToolUse", "PermissionRequest"),
           "gemini": ("BeforeTool",), "cursor": ("beforeShellExecution",)}
_SHELL_TOOL = {"claude": "Bash", "codex": "Bash", "gemini": "run_shell_command"}
MAX_INPUT = 4 << 20


class BadInput(Exception):
    """The hook input is not what the harness sends; the hook blocks."""

    def __init__(self, why: str, event: str | None = None) -> None:
        super().__init__(why)
        self.event = event


class Call(Record):
    """One hook call: which event, the command (None: not a shell tool) and where it runs."""

    __slots__ = ()
    _fields = ("harness", "event", "command", "cwd")
    harness: str
    event: str
    command: str | None
    cwd: str

    def __new__(cls, harness: str, event: str, command: str | None, cwd: str) -> Call:
        return tuple.__new__(cls, (harness, event, command, cwd))


def _str_or_none(obj: Mapping[str, object], key: str, event: str) -> str | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise BadInput(f'"{key}" is not a string', event)
    return value


def parse_call(harness: str, raw: bytes) -> Call:
    """The hook input as a Call; BadInput for anything a harness would not send."""
    event = _EVENTS[harness][0]
    if len(raw) > MAX_INPUT:
        raise BadInput(f"the hook input is longer than {MAX_INPUT} bytes", event)
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        # answer in the event's format if its name is legible: a PermissionRequest hook that
        # answers like PreToolUse is ignored, and the harness would prompt without gatesh
        named = [e for e in _EVENTS[harness] if f'"{e}"'.encode() in raw]
        raise BadInput("the hook input is not JSON", named[-1] if named else event) from None
    if not isinstance(obj, dict):
        raise BadInput("the hook input is not a JSON object", event)
    name = obj.get("hook_event_name", event)
    if name not in _EVENTS[harness]:
        raise BadInput(f"unexpected hook event {name!r} for {harness}", event)
    event = str(name)
    cwd = _str_or_none(obj, "cwd", event)
    if harness == "cursor":
        command = obj.get("command")
        roots = obj.get("workspace_roots")
        if cwd is None and isinstance(roots, list) and roots and isinstance(roots[0], str):
            cwd = roots[0]
    else:
        tool = obj.get("tool_input")
        if not isinstance(tool, dict):
            raise BadInput('"tool_input" is missing or not an object', event)
        command = tool.get("command")
        if harness == "gemini":
            dir_path = _str_or_none(tool, "dir_path", event)
            if dir_path:
                cwd = os.path.join(cwd or os.getcwd(), dir_path)
        if command is None and obj.get("tool_name") not in (None, _SHELL_TOOL[harness]):
            return Call(harness, event, None, cwd or os.getcwd())  # not a shell tool
    if command is None:
        raise BadInput("the hook input holds no command", event)
    if not isinstance(command, str):
        raise BadInput('"command" is not a string', event)
    if not command.strip():
        raise BadInput("the command is empty", event)
    return Call(harness, event, command, os.path.normpath(os.path.abspath(cwd or os.getcwd())))


def _pretool(decision: str, message: str) -> dict[str, object]:
    return {"hookSpecificOutput": {"hookEventName": "PreToolUse",
                                   "permissionDecision": decision,
                                   "permissionDecisionReason": message}}


def render(harness: str, event: str, kind: str, message: str) -> str | None:
    """The answer for the harness (None: exit 0 with no output, the neutral answer)."""
    from .hookgate import APPROVED, DENY, HARNESS_ASK
    answer: dict[str, object] | None
    if harness in ("claude", "codex") and event == "PermissionRequest":
        if kind not in (APPROVED, DENY):
            return None   # the harness's own prompt appears
        decision: dict[str, object] = {"behavior": "allow" if kind == APPROVED else "deny"}
        if kind == DENY:
            decision["message"] = message
        answer = {"hookSpecificOutput": {"hookEventName": "PermissionRequest",
                                         "decision": decision}}
    elif harness in ("claude", "codex"):
        if kind == DENY:
            answer = _pretool("deny", message)
        elif harness == "claude" and kind == APPROVED:
            answer = _pretool("allow", message)
        elif harness == "claude" and kind == HARNESS_ASK:
            answer = _pretool("ask", message)
        else:
            answer = None   # Codex fails open on "allow" and "ask": stay neutral
    elif harness == "gemini":
        answer = {"decision": "deny", "reason": message} if kind == DENY else \
            {"decision": "allow"} if kind == APPROVED else {}
    else:
        first = message.split("\n", 1)[0].removeprefix("gatesh: ")
        answer = {"permission": "deny", "user_message": first, "agent_message": message} \
            if kind == DENY else {"permission": "allow"}
        if kind == APPROVED:
            answer["user_message"] = first
    return None if answer is None else json.dumps(answer, ensure_ascii=False)


def _read_stdin(fd: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_INPUT:
        data = os.read(fd, 65536)
        if not data:
            break
        chunks.append(data)
        size += len(data)
    return b"".join(chunks)


def _blocked(why: str) -> str:
    return f"gatesh: BLOCKED - the command was NOT executed: {why}"


def _record_bad_input(harness: str, env: Mapping[str, str], why: str) -> None:
    """Best effort: the refused call is on record like any blocked command."""
    try:
        from .config import load
        from .gate import Request, _record_fields, failure, record
        from .record import replace
        cfg = load(env)
        d = replace(failure("", "bad_hook_input", f"malformed hook input: {why}", cfg.mode),
                    harness=harness, blocked=True)
        record(cfg, _record_fields(Request("", os.getcwd(), "hook", env), d))
    except Exception:  # noqa: BLE001 - the answer (a block) matters more than the record
        pass


def _answer(harness: str, env: Mapping[str, str], stdin_fd: int) -> tuple[str, str, str, str]:
    """(event, kind, message, stderr line) for one call; never raises for bad input."""
    from .hookgate import ALLOW, DENY, judge
    event = _EVENTS[harness][0]
    try:
        call = parse_call(harness, _read_stdin(stdin_fd))
    except BadInput as e:
        _record_bad_input(harness, env, str(e))
        return e.event or event, DENY, _blocked(f"malformed hook input: {e}"), \
            f"gatectl hook {harness}: malformed input: {e}; the command was blocked"
    if call.command is None:
        return call.event, ALLOW, "", ""
    from .config import load
    from .errors import GateshError
    try:
        cfg = load(env)
    except GateshError as e:
        return call.event, DENY, _blocked(str(e)), f"gatectl hook {harness}: {e}"
    try:  # the approver reviews the requester's cwd too: make it the command's
        os.chdir(call.cwd)
    except OSError:
        pass
    from .gate import Request
    req = Request(call.command, call.cwd, "hook", env)
    handoff = _TITLES["claude"] if harness == "claude" and call.event == "PreToolUse" else ""
    regrant = harness == "codex" and call.event == "PermissionRequest"
    result = judge(req, cfg, harness, handoff, take_grant=regrant)
    return call.event, result.kind, result.message, ""


def run(harness: str | None, out: TextIO, err: TextIO,
        env: Mapping[str, str] | None = None, stdin_fd: int = 0) -> int:
    """The whole hook: 0 with the answer on out, or 2 with one line on err."""
    env = os.environ if env is None else env
    if harness not in HARNESSES:
        what = f"unknown harness {harness!r}" if harness else "no harness named"
        err.write(f"gatectl hook: {what}; use gatectl hook {'|'.join(HARNESSES)} "
                  "(the command was blocked)\n")
        return 2
    event = _EVENTS[harness][0]
    try:
        try:
            event, kind, message, note = _answer(harness, env, stdin_fd)
        except BaseException as e:  # noqa: BLE001 - a crashing hook must still block
            from .hookgate import DENY
            kind, note = DENY, f"gatectl hook {harness}: internal error ({type(e).__name__}: {e})"
            message = _blocked(f"gatesh failed while checking the command "
                               f"({type(e).__name__}: {e})")
        text = render(harness, event, kind, message)
        if text is not None:
            out.write(text + "\n")
            out.flush()
        if note:
            err.write(note + "\n")
        return 0
    except BaseException as e:  # noqa: BLE001 - last resort: exit 2 blocks in most harnesses
        try:
            err.write(f"gatectl hook {harness}: blocked: {type(e).__name__}: {e}\n")
        except BaseException:  # noqa: BLE001
            pass
        return 2
