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
"""

from __future__ import annotations

import contextlib
import os

from . import procinfo

__all__ = ["approved_ancestor", "grant", "revoke"]


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
