"""Approvals scoped to a process tree: a nested gatesh under an approved command asks no more.

When a human approves a command, the process that runs it is recorded as
`runtime_dir/approved/<pid>-<starttime>` (harnesses.md, requirement 16): the gate's own
process for `gatesh -c` (bash replaces it, same pid), or an interactive session's bash
while the approved line runs (removed at the next prompt).  A nested gatesh (a script's
`#!/usr/bin/env bash`, a `bash -c` inside the command) finds such a record among its
ancestors, alive with the recorded start time, and does not ask again.  Proof is the
kernel's process tree, never a variable the agent could set; a record whose process is gone
or has another start time is removed, not trusted.  The directory is gatesh's own
(tamper rules stop commands that write under runtime_dir).

A command approved through an agent's hook (`gatectl hook`) is about to reach the shell
route too (Claude Code with both wired).  The hook leaves a one-shot record keyed by the
command's text and directory, holding what it matched; the gate that then sees the same
text in the same directory, with nothing matched beyond what the human saw, takes (removes)
it instead of asking a second time.  It lapses after HOOK_GRANT_SECONDS.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time

from . import procinfo

__all__ = ["approved_ancestor", "grant", "grant_command", "revoke", "take_command"]

HOOK_GRANT_SECONDS = 120.0


def _dir(runtime_dir: str) -> str:
    return os.path.join(runtime_dir, "approved")


def grant(runtime_dir: str, pid: int, request_id: str) -> str | None:
    """Record pid (as it is now) as running an approved command; the record's path."""
    st = procinfo.stat(pid)
    if st is None:
        return None
    d = _dir(runtime_dir)
    try:
        os.makedirs(d, mode=0o700, exist_ok=True)
        path = os.path.join(d, f"{pid}-{st.starttime}")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(request_id + "\n")
    except OSError:
        return None   # nested shells will ask again: the safe side
    return path


def revoke(path: str | None) -> None:
    if path:
        with contextlib.suppress(OSError):
            os.unlink(path)


def approved_ancestor(runtime_dir: str, pid: int | None = None) -> str | None:
    """The request id of an approved command running among pid's ancestors, if any."""
    d = _dir(runtime_dir)
    try:
        names = set(os.listdir(d))
    except OSError:
        return None
    if not names:
        return None
    chain = procinfo.ancestry(os.getpid() if pid is None else pid)
    for st in chain[1:]:
        name = f"{st.pid}-{st.starttime}"
        if name in names:
            try:
                with open(os.path.join(d, name), encoding="utf-8") as f:
                    return f.read().strip() or "approved"
            except OSError:
                return None
    _prune(d, names)
    return None


def _prune(d: str, names: set[str]) -> None:
    """Records whose process is gone (or is another process now) are removed."""
    for name in names:
        pid_s, _, start_s = name.partition("-")
        try:
            st = procinfo.stat(int(pid_s))
            if st is None or str(st.starttime) != start_s:
                os.unlink(os.path.join(d, name))
        except (ValueError, OSError):
            continue


def _match_keys(matches: object) -> list[list[object]]:
    return sorted([m.rule_id, list(m.targets)] for m in matches)   # type: ignore[attr-defined]


def _command_path(runtime_dir: str, command: str, cwd: str) -> str:
    key = hashlib.sha256(f"{cwd}\0{command}".encode("utf-8", "surrogateescape")).hexdigest()
    return os.path.join(_dir(runtime_dir), f"hook-{key[:40]}")


def grant_command(runtime_dir: str, command: str, cwd: str, request_id: str,
                  matches: object) -> None:
    """The human approved `command` in `cwd` through a hook: the shell may run it once."""
    record = {"expires": time.time() + HOOK_GRANT_SECONDS, "request": request_id,
              "matches": _match_keys(matches)}
    path = _command_path(runtime_dir, command, cwd)
    try:
        os.makedirs(_dir(runtime_dir), mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(record, f)
    except OSError:
        pass   # the shell route will ask again: the safe side


def take_command(runtime_dir: str, command: str, cwd: str, matches: object) -> str | None:
    """The request id of a hook approval for exactly this command here, used up; None when
    there is none, it lapsed, or the command now matches more than the human saw."""
    path = _command_path(runtime_dir, command, cwd)
    taken = f"{path}.{os.getpid()}"
    try:
        os.rename(path, taken)   # one gate takes it, whatever races
    except OSError:
        return None
    try:
        with open(taken, encoding="utf-8") as f:
            record = json.load(f)
    except (OSError, ValueError):
        return None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(taken)
    if not isinstance(record, dict) or not isinstance(record.get("expires"), (int, float)) \
            or record["expires"] < time.time():
        return None
    seen = record.get("matches")
    if not isinstance(seen, list) or any(k not in seen for k in _match_keys(matches)):
        return None
    return str(record.get("request") or "approved")
