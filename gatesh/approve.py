"""Approve: ask the human through `gatectl approve` and wait for a yes or a no.

The gate is a client of the approver's socket.  Anything but an explicit, well-formed
"approve" for this request's id and nonce, from a listener that passes the identity checks
of approval.md 5.1, is a no: a missing socket, a refused connection, no greeting within a
second, a dead approver, a timeout, a terminating signal (which withdraws the request and
exits 128+n).  The wait is one select() on the socket; signals interrupt it.
"""

from __future__ import annotations

import os

from .record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket as _socket
    from .config import Config
    from .model import Decision

__all__ = ["Answer", "ask", "REASONS"]

GREETING_S = 1.0
_RETRY_S = 0.2

# reason codes of approval.md 8.1 that an answer can carry
REASONS = ("approved", "denied", "no_approver", "invalid_approver", "disconnected", "timeout",
           "malformed_reply", "interrupted", "traced")


class Answer(Record):
    """How the request ended: approved or not, why, and who decided how fast."""

    __slots__ = ()
    _fields = ("approved", "reason", "request_id", "approver_pid", "note", "how", "seconds",
               "signum", "detail")
    approved: bool
    reason: str            # one of REASONS
    request_id: str
    approver_pid: int      # 0 when no approver answered
    note: str              # the human's note to the agent, with a denial
    how: str               # "y", "token", ... as the approver reports it
    seconds: float         # from the request to the answer
    signum: int            # the signal that withdrew the request, else 0
    detail: str            # one line for the message (e.g. why a listener was refused)

    def __new__(cls, approved: bool, reason: str, request_id: str, approver_pid: int = 0,
                note: str = "", how: str = "", seconds: float = 0.0, signum: int = 0,
                detail: str = "") -> Answer:
        return tuple.__new__(cls, (approved, reason, request_id, approver_pid, note, how,
                                   seconds, signum, detail))


def _connect(path: str, wait_s: float) -> _socket.socket | str:
    """A connected socket, or the one-line reason there is no approver."""
    import socket
    import time
    deadline = time.monotonic() + wait_s
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        sock.settimeout(GREETING_S)
        try:
            sock.connect(path)
            return sock
        except (FileNotFoundError, ConnectionRefusedError, PermissionError,
                socket.timeout) as e:
            sock.close()
            why = {FileNotFoundError: "no approver is running",
                   ConnectionRefusedError: "no approver is running (a stale socket)",
                   PermissionError: "the approval socket cannot be reached from here"}.get(
                       type(e), "the approver does not accept connections")
        except OSError as e:
            sock.close()
            return f"the approval socket cannot be used: {e.strerror or e}"
        if time.monotonic() >= deadline:
            return why
        time.sleep(_RETRY_S)


def _request_fields(d: Decision, cwd: str, timeout: float) -> dict[str, object]:
    from .policy import severity_of
    sev = severity_of(d.matches)
    return {
        "command": d.command,
        "display_command": d.display,
        "harness": d.harness,
        "rules": list(dict.fromkeys(m.rule_id for m in d.matches)),
        "severity": sev.value if sev is not None else "high",
        "why": d.why,
        "targets": sorted({t for m in d.matches for t in m.targets}),
        "cwd": cwd,
        "justification": "",
        "timeout_s": timeout,
        "gate_pid": os.getpid(),
    }


class _Exchange:
    """One request on one connection."""

    def __init__(self, sock: _socket.socket, req_id: str, nonce: str) -> None:
        from .channel import LineBuffer
        self.sock, self.req_id, self.nonce = sock, req_id, nonce
        self.buf = LineBuffer()
        self.pending: list[dict[str, object]] = []

    def next_message(self, timeout: float) -> dict[str, object] | None:
        """The next message; None on timeout; EOFError when the approver went away."""
        import select
        import time
        deadline = time.monotonic() + timeout
        while not self.pending:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.sock], [], [], left)
            if not ready:
                return None
            try:
                data = self.sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                data = b""
            if not data:
                raise EOFError
            self.pending.extend(self.buf.feed(data))
        return self.pending.pop(0)

    def send(self, msg: dict[str, object]) -> None:
        from .channel import encode
        self.sock.settimeout(GREETING_S)
        self.sock.sendall(encode(msg))

    def withdraw(self, reason: str) -> None:
        from .channel import cancel
        try:
            self.send(cancel(self.req_id, reason))
        except OSError:
            pass


def ask(d: Decision, cwd: str, cfg: Config, req_id: str = "") -> Answer:
    """Send the request to the approver and wait; every path but a human's yes is a no."""
    import time
    from . import channel, terminal
    req_id = req_id or channel.new_id()
    start = time.monotonic()

    def answer(approved: bool, reason: str, **kw: object) -> Answer:
        return Answer(approved, reason, req_id, seconds=round(time.monotonic() - start, 3),
                      **kw)  # type: ignore[arg-type]

    from .procinfo import tracer_pid
    if tracer_pid() > 0:
        return answer(False, "traced", detail="gatesh is being traced")
    try:
        with terminal.interruptible():
            conn = _connect(channel.socket_path(cfg.runtime_dir), cfg.wait_for_approver)
            if isinstance(conn, str):
                return answer(False, "no_approver", detail=conn)
            try:
                return _converse(conn, req_id, d, cwd, cfg, answer, start)
            finally:
                conn.close()
    except terminal.Interrupted as e:
        return answer(False, "interrupted", signum=e.signum)


def _converse(conn: _socket.socket, req_id: str, d: Decision, cwd: str, cfg: Config,
              answer: object, start: float) -> Answer:
    import time
    from . import channel, terminal
    from .sessions import listener_problem
    assert callable(answer)
    nonce = channel.new_nonce()
    ex = _Exchange(conn, req_id, nonce)
    try:
        problem = listener_problem(conn, cfg.runtime_dir, os.getuid())
        if problem:
            return answer(False, "invalid_approver", detail=problem)
        hello = ex.next_message(GREETING_S)
        if hello is None or hello.get("type") != "hello":
            return answer(False, "no_approver", detail="the approver did not greet within 1 s")
        pid = hello.get("approver_pid")
        approver_pid = pid if isinstance(pid, int) else 0
        ex.send(channel.request(req_id, nonce, _request_fields(d, cwd, cfg.approval_timeout)))
        deadline = start + cfg.approval_timeout
        while True:
            msg = ex.next_message(max(0.0, deadline - time.monotonic()))
            if msg is None:
                ex.withdraw("timeout")
                return answer(False, "timeout", approver_pid=approver_pid)
            if msg.get("type") == "shown":
                continue
            approved, note, how = channel.parse_decision(msg, req_id, nonce)
            return answer(approved, "approved" if approved else "denied",
                          approver_pid=approver_pid, note=note, how=how)
    except terminal.Interrupted as e:
        ex.withdraw("interrupted")
        return answer(False, "interrupted", signum=e.signum)
    except channel.Malformed as e:
        ex.withdraw("malformed")
        return answer(False, "malformed_reply", detail=str(e))
    except EOFError:
        return answer(False, "disconnected")
    except OSError as e:
        return answer(False, "disconnected", detail=e.strerror or str(e))
