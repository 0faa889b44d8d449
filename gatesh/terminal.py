"""The only module that touches signal dispositions, termios and fcntl.

For now it holds what the exec path needs (undoing the signal dispositions the Python
interpreter changed, so that bash starts with the dispositions its caller gave gatesh) and
the audit log's file lock.
"""

from __future__ import annotations

import signal

__all__ = ["default_signals_for_exec", "lock_exclusive"]

# CPython sets these to SIG_IGN at start-up, and an ignored signal stays ignored across
# exec: bash would then see SIGPIPE ignored (`yes | head -1` would make `yes` fail with
# EPIPE instead of dying) and would refuse to trap it.  The caller's own disposition is
# lost by the time Python code runs; SIG_DFL is what nearly every caller passes.
_IGNORED_BY_PYTHON = ("SIGPIPE", "SIGXFSZ")


def default_signals_for_exec() -> None:
    """Give back the default disposition of the signals CPython ignores at start-up.

    Handlers installed by Python (SIGINT) are reset by exec itself; only SIG_IGN survives it.
    """
    for name in _IGNORED_BY_PYTHON:
        signum = getattr(signal, name, None)
        if signum is not None:
            signal.signal(signum, signal.SIG_DFL)


def lock_exclusive(fd: int) -> None:
    """Block until this process holds flock(LOCK_EX) on fd; closing fd releases it."""
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_EX)
