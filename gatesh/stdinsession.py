"""gatesh fed on stdin: a whole script when the pipe ends at once, else a session.

A pipe that reaches its end quickly holds a script: it is gated whole and bash is exec'd on
the same bytes (scriptsrc.stdin_text, which also decides that a pipe is a session).  A pipe
that stays open is a harness writing commands as it goes (Open Interpreter writes a command,
then waits for its `echo ##end_of_execution##`): each
complete command is gated as it arrives and written to a bash child's stdin, so state
persists.  A blocked command reaches bash as a `printf` of the message on stderr followed by
`(exit 126)`: the message lands in order with the output around it, and $? is 126.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal

from .sessionline import needs_more

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from .config import Config

__all__ = ["run"]

def _stand_in(message: bytes, status: int) -> bytes:
    quoted = message.replace(b"'", b"'\\''")
    return b"printf '%s' '" + quoted + b"' >&2; (exit " + str(status).encode() + b")\n"


class _Feeder:
    """Complete commands out of the arriving text, each gated and then written to bash."""

    def __init__(self, cfg: Config, to_bash: int, argv0: str, bash: int) -> None:
        self.cfg, self.to_bash, self.argv0, self.bash = cfg, to_bash, argv0, bash
        self.buf = bytearray()
        self.lines: list[bytes] = []
        self.grant: str | None = None

    def feed(self, data: bytes) -> None:
        self.buf += data
        while (i := self.buf.find(b"\n")) >= 0:
            self.lines.append(bytes(self.buf[:i + 1]))
            del self.buf[:i + 1]
            text = b"".join(self.lines).decode("utf-8", "surrogateescape")
            if len(self.lines) < 1000 and needs_more(text, self.cfg.bash):
                continue
            self.gate(b"".join(self.lines))
            self.lines.clear()

    def finish(self) -> None:
        """At the end of input: what is left, complete or not, as bash would get it."""
        rest = b"".join(self.lines) + bytes(self.buf)
        self.lines.clear()
        self.buf.clear()
        if rest.strip():
            self.gate(rest)

    def gate(self, chunk: bytes) -> None:
        from .gate import Request, block_message, enforce
        from .sessionask import bash_cwd
        text = chunk.decode("utf-8", "surrogateescape")
        req = Request(command=text.rstrip("\n"), cwd=bash_cwd(self.bash), origin="stdin",
                      env=os.environ, params=(self.argv0,))
        try:
            d = enforce(req, self.cfg)
        except Exception as e:  # noqa: BLE001 - fail closed
            self.write(_stand_in(f"gatesh: BLOCKED - the command was NOT executed: internal "
                                 f"error in gatesh: {type(e).__name__}\n".encode(), 126))
            return
        from .approvals import grant, revoke
        revoke(self.grant)   # the command approved before has had its turn
        self.grant = None
        if d.blocked:
            signum = getattr(d.approval, "signum", 0)
            self.write(_stand_in(block_message(d).encode(), 128 + signum if signum else 126))
            return
        if d.reason == "approved":
            self.grant = grant(self.cfg.runtime_dir, self.bash,
                               getattr(d.approval, "request_id", ""))
        self.write(chunk if chunk.endswith(b"\n") else chunk + b"\n")

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self.to_bash, view):]
            except BrokenPipeError:
                return   # bash has exited: the rest has nowhere to go


def run(cfg: Config, argv: list[str], already: bytes) -> int:
    """The session: bash reads gated commands from a pipe; its exit status (128+n if killed)."""
    from . import terminal
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(r, 0)
            os.close(r)
            os.close(w)
            terminal.default_signals_for_exec()
            from .execute import exec_bash
            exec_bash(cfg.bash, argv)
        except BaseException as e:
            os.write(2, f"gatesh: cannot run {cfg.bash}: {e}\n".encode())
        os._exit(127)
    os.close(r)
    feeder = _Feeder(cfg, w, argv[0], pid)
    forwarded = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
    with terminal.SignalPipe(always=(signal.SIGCHLD,), unless_ignored=forwarded) as sig:
        try:
            feeder.feed(already)
            status = _loop(feeder, sig, pid, forwarded)
        finally:
            from .approvals import revoke
            revoke(feeder.grant)
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def _loop(feeder: _Feeder, sig: object, pid: int, forwarded: tuple[int, ...]) -> int:
    in_open = True
    while True:
        rlist = [sig.fd] + ([0] if in_open else [])  # type: ignore[attr-defined]
        r, _, _ = select.select(rlist, [], [])
        if sig.fd in r:  # type: ignore[attr-defined]
            for signum in sig.read():  # type: ignore[attr-defined]
                if signum in forwarded:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signum)
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return status
        if in_open and 0 in r:
            try:
                data = os.read(0, 1 << 16)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if data:
                feeder.feed(data)
                continue
            in_open = False
            feeder.finish()
            os.close(feeder.to_bash)
