"""The launcher's copy loop: the human's input to the agent's pty, the pty's output to the
human's terminal, and signals as data (SIGCHLD ends it, SIGWINCH resizes, terminating
signals are forwarded to the agent)."""

from __future__ import annotations

import contextlib
import errno
import os
import select
import signal
import time

from . import terminal

__all__ = ["Pump", "FORWARDED"]

_CHUNK = 65536
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)
_DRAIN_QUIET, _DRAIN_MAX = 0.1, 1.0   # after the agent exits: wait this long for its last output


class Pump:
    """The copy loop: human's input to the pty, pty output to stdout, signals as data."""

    def __init__(self, agent: int, master: int, in_fd: int | None, tty_fd: int | None,
                 sig: terminal.SignalPipe) -> None:
        self.agent, self.master, self.in_fd, self.tty_fd, self.sig = (
            agent, master, in_fd, tty_fd, sig)
        self.out_fd: int | None = 1
        self.status: int | None = None
        self.master_open = True
        self.pending = bytearray()
        self.eof_due = False

    def run(self) -> int:
        os.set_blocking(self.master, False)
        self.handle_resize()
        self.reap()
        while self.status is None:
            self.step(None)
        self.drain()
        self.reap()
        return self.exit_code()

    def exit_code(self) -> int:
        """The agent's exit status as a shell reports it: 128+n when signal n killed it."""
        assert self.status is not None
        code = os.waitstatus_to_exitcode(self.status)
        return 128 - code if code < 0 else code

    def step(self, timeout: float | None) -> bool:
        """One select round; False when nothing was ready within timeout."""
        rlist = [self.sig.fd]
        if self.master_open:
            rlist.append(self.master)
        if self.in_fd is not None and len(self.pending) < _CHUNK:
            rlist.append(self.in_fd)
        wlist = [self.master] if self.pending and self.master_open else []
        r, w, _ = select.select(rlist, wlist, [], timeout)
        if self.sig.fd in r:
            self.handle_signals()
        if self.master in r:
            self.handle_master_read()
        if self.in_fd is not None and self.in_fd in r:
            self.handle_input()
        if self.master in w:
            self.handle_master_write()
        if self.eof_due and not self.pending and self.master_open:
            terminal.send_eof(self.master)
            self.eof_due = False
        return bool(r or w)

    def handle_signals(self) -> None:
        for signum in self.sig.read():
            if signum == signal.SIGCHLD:
                self.reap()
            elif signum == signal.SIGWINCH:
                self.handle_resize()
            elif signum in FORWARDED:
                self.forward_signal(signum)

    def forward_signal(self, signum: int) -> None:
        if self.status is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.agent, signum)

    def handle_resize(self) -> None:
        size = terminal.get_winsize(self.tty_fd) if self.tty_fd is not None else None
        if size:
            terminal.set_winsize(self.master, size)

    def reap(self) -> None:
        """Collect the agent and any orphan re-parented to this subreaper."""
        with contextlib.suppress(ChildProcessError):
            while (found := os.waitpid(-1, os.WNOHANG))[0]:
                if found[0] == self.agent:
                    self.status = found[1]
                else:
                    self.child_exited(found[0])

    def child_exited(self, pid: int) -> None:
        """Another child (or an orphan handed to this subreaper) was collected."""

    def handle_master_read(self) -> None:
        try:
            data = os.read(self.master, _CHUNK)
        except BlockingIOError:
            return
        except OSError as e:
            if e.errno != errno.EIO:  # EIO: every slave fd is closed (Linux's EOF)
                raise
            data = b""
        if not data:
            self.master_open = False
            return
        self.write_out(data)

    def write_out(self, data: bytes) -> None:
        view = memoryview(data)
        while view and self.out_fd is not None:
            try:
                n = os.write(self.out_fd, view)
            except BlockingIOError:
                select.select([], [self.out_fd], [])
                continue
            except OSError:  # the human's side is gone: keep draining the agent's output
                self.out_fd = None
                return
            view = view[n:]

    def handle_input(self) -> None:
        assert self.in_fd is not None
        try:
            data = os.read(self.in_fd, _CHUNK)
        except OSError:
            data = b""
        if not data:
            self.in_fd = None
            self.eof_due = self.tty_fd != 0  # a terminal that hangs up sends SIGHUP instead
            return
        self.pending += data

    def handle_master_write(self) -> None:
        try:
            del self.pending[:os.write(self.master, self.pending)]
        except BlockingIOError:
            pass
        except OSError:  # the pty is gone: the input has nowhere to go
            self.pending.clear()

    def drain(self) -> None:
        """The agent's last output: until EOF, a quiet spell or a deadline (orphans may hold it)."""
        self.in_fd = None
        self.pending.clear()
        deadline = time.monotonic() + _DRAIN_MAX
        while self.master_open and time.monotonic() < deadline:
            if not self.step(_DRAIN_QUIET):
                return
