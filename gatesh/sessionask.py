"""One command of an interactive session through the gate, without stopping the copy loop.

Most commands are decided at once, in this process.  A command that needs a human is handed
to a forked gate (in bash's current directory, so the approver's own review of the asking
process sees where the command will run), whose answer arrives on a pipe the session selects
on: output keeps flowing and the window keeps resizing while the human decides.
"""

from __future__ import annotations

import contextlib
import os
import signal

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from .config import Config
    from .gate import Request

__all__ = ["Asking", "bash_cwd"]


def bash_cwd(pid: int) -> str:
    """bash's current directory, from the kernel (not from anything bash could be told)."""
    from .procinfo import proc_cwd
    return proc_cwd(pid) or os.getcwd()


class Asking:
    """A decision under way: .done when known; .fd to select on while a human is asked."""

    def __init__(self) -> None:
        self.done = False
        self.fd = -1
        self.pid = 0
        self.buf = bytearray()
        self.result: tuple[bool, bytes, int] | None = None
        self.approved = ""    # the request id, when a human approved the command

    @classmethod
    def start(cls, cfg: Config, text: str, bash: int, argv0: str) -> Asking:
        from .gate import Request, block_message, enforce, review
        a = cls()
        req = Request(command=text, cwd=bash_cwd(bash), origin="session", env=os.environ,
                      params=(argv0,))
        try:
            first = review(req, cfg)
            human = first.blocked and first.mode == "enforce" and first.reason in (
                "ask", "unparseable")
        except Exception:  # noqa: BLE001 - the forked gate decides (and fails closed) instead
            human = True
        if not human:
            d = enforce(req, cfg)
            a.finish(not d.blocked, block_message(d).encode() if d.blocked else b"", 126)
            return a
        a.fork(cfg, req)
        return a

    def finish(self, allowed: bool, message: bytes, status: int) -> None:
        self.result = (allowed, message, status)
        self.done = True

    def fork(self, cfg: Config, req: Request) -> None:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the asking gate: its own process, so the approver sees its cwd
            code = 1
            try:
                os.close(r)
                _ask_child(cfg, req, w)
                code = 0
            finally:
                os._exit(code)
        os.close(w)
        os.set_blocking(r, False)
        self.fd, self.pid = r, pid

    def read(self) -> tuple[bool, bytes, int] | None:
        """The answer once the forked gate has given it (or died: blocked)."""
        if self.result is not None:
            return self.result
        try:
            chunk = os.read(self.fd, 65536)
        except BlockingIOError:
            return None
        except OSError:
            chunk = b""
        if chunk:
            self.buf += chunk
            return None
        data = bytes(self.buf)
        if data[:1] == b"A":
            self.finish(True, b"", 0)
        elif data[:1] == b"H":
            self.approved = data[1:].decode(errors="replace") or "approved"
            self.finish(True, b"", 0)
        elif data[:1] == b"B" and len(data) >= 2:
            self.finish(False, data[2:], data[1])
        else:
            self.finish(False, b"gatesh: BLOCKED - the command was NOT executed: the gate "
                        b"stopped before it answered\ngatesh: status=blocked "
                        b"reason=internal_error\n", 126)
        return self.result

    def interrupt(self, signum: int) -> None:
        """The session got a terminating signal: the forked gate withdraws its request."""
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def reaped(self, pid: int) -> None:
        if pid == self.pid:
            self.pid = 0

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self.pid:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
            self.pid = 0


def _ask_child(cfg: Config, req: Request, w: int) -> None:
    from .gate import block_message, enforce
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD,
                   signal.SIGWINCH):
        signal.signal(signum, signal.SIG_DFL)
    signal.set_wakeup_fd(-1)
    with contextlib.suppress(OSError):
        os.chdir(req.cwd)
    d = enforce(req, cfg)
    if d.blocked:
        signum = getattr(d.approval, "signum", 0)
        status = 128 + signum if signum else 126
        out = b"B" + bytes([status]) + block_message(d).encode()
    else:   # H: a human approved it (nested shells of this command are not asked again)
        out = b"H" + getattr(d.approval, "request_id", "").encode() if d.reason == "approved" \
            else b"A"
    view = memoryview(out)
    while view:
        view = view[os.write(w, view):]
