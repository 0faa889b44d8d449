"""The only module that touches signal dispositions, termios and fcntl.

For now it holds what the exec path needs (undoing the signal dispositions the Python
interpreter changed, so that bash starts with the dispositions its caller gave gatesh) and
the audit log's file lock.
"""

from __future__ import annotations

import os
import signal

__all__ = ["default_signals_for_exec", "lock_exclusive", "fork_session_pty", "foreground_job",
           "reads_raw_keys", "take_back_input", "interrupt_char", "echoes", "output_waiting"]

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


# --- the gate's wait for a human (approve.py) -------------------------------------------

class Interrupted(Exception):
    """A terminating signal arrived while the gate waited; signum says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class interruptible:
    """Within the block, SIGINT, SIGTERM and SIGHUP raise Interrupted (signals the caller
    left ignored stay ignored); the previous handlers come back on exit."""

    _SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")

    def __enter__(self) -> interruptible:
        self._saved: list[tuple[int, object]] = []
        for name in self._SIGNALS:
            signum = getattr(signal, name)
            old = signal.getsignal(signum)
            if old is signal.SIG_IGN:
                continue
            self._saved.append((signum, old))
            signal.signal(signum, _raise_interrupted)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, old in self._saved:
            signal.signal(signum, old)  # type: ignore[arg-type]


def _raise_interrupted(signum: int, frame: object) -> None:
    raise Interrupted(signum)


# --- the approver's own terminal (console.py) -------------------------------------------

def set_exclusive(fd: int, on: bool) -> None:
    """TIOCEXCL (on) or TIOCNXCL (off): while on, every new open() of the terminal by an
    unprivileged process fails with EBUSY; descriptors already open keep working."""
    import fcntl
    import termios
    fcntl.ioctl(fd, termios.TIOCEXCL if on else termios.TIOCNXCL)


def flush_input(fd: int) -> None:
    """Discard keys typed but not yet read (tcflush TCIFLUSH)."""
    import termios
    try:
        termios.tcflush(fd, termios.TCIFLUSH)
    except termios.error:
        pass


# --- the launcher's pty and the human's terminal (launcher.py) ---------------------------

def fork_pty(size: tuple[int, int] | None) -> tuple[int, int, int]:
    """Fork a child in a new session whose controlling tty, stdin, stdout and stderr are a new pty.

    The window size (rows, cols) is set before the fork, so the child never sees 0x0.  Returns
    (pid, master_fd, slave st_rdev) in the parent and (0, -1, st_rdev) in the child; a child
    that cannot take the pty writes one line to stderr and exits 127.
    """
    master, slave = os.openpty()  # both close-on-exec
    if size:
        set_winsize(slave, size)
    rdev = os.fstat(slave).st_rdev
    pid = os.fork()
    if pid == 0:
        try:
            os.close(master)
            os.login_tty(slave)  # setsid(), TIOCSCTTY, dup2 onto 0, 1, 2, close(slave)
        except BaseException as e:  # the child must never run the parent's code
            os.write(2, f"gatectl: cannot set up the agent's pty: {e}\n".encode())
            os._exit(127)
        return 0, -1, rdev
    os.close(slave)
    return pid, master, rdev


def get_winsize(fd: int) -> tuple[int, int] | None:
    """(rows, cols) of the terminal on fd, or None when fd is not a terminal."""
    import fcntl
    import struct
    import termios
    try:
        packed = fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8)
    except OSError:
        return None
    rows, cols, _x, _y = struct.unpack("HHHH", packed)
    return (rows, cols) if rows and cols else None


def set_winsize(fd: int, size: tuple[int, int]) -> None:
    """TIOCSWINSZ (rows, cols); on a pty master the kernel sends SIGWINCH to the foreground job."""
    import fcntl
    import struct
    import termios
    try:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
    except OSError:
        pass  # EINVAL/ENOTTY: nothing to resize


class raw_terminal:
    """Within the block the terminal on fd is raw (no echo, no line editing, no signal keys);
    its previous mode comes back on exit, with TCSAFLUSH.  A no-op when fd is not a terminal."""

    def __init__(self, fd: int, keep_input: bool = False) -> None:
        self.fd = fd
        self.keep_input = keep_input   # a shell's caller may type before it is ready
        self.saved: list[int | list[bytes | int]] | None = None

    def __enter__(self) -> raw_terminal:
        import termios
        import tty
        try:
            self.saved = termios.tcgetattr(self.fd)
            tty.setraw(self.fd, termios.TCSANOW if self.keep_input else termios.TCSAFLUSH)
        except termios.error:
            self.saved = None
        return self

    def __exit__(self, *exc: object) -> None:
        import termios
        if self.saved is not None:
            try:
                termios.tcsetattr(self.fd, termios.TCSADRAIN if self.keep_input
                                  else termios.TCSAFLUSH, self.saved)
            except termios.error:
                pass  # the terminal is gone


def send_eof(master: int) -> bool:
    """Type the pty's EOF character (^D) when the pty is in canonical mode; True if sent."""
    import termios
    try:
        attrs = termios.tcgetattr(master)  # on a pty master: the slave side's settings
    except termios.error:
        return False
    if not attrs[3] & termios.ICANON:
        return False
    eof = attrs[6][termios.VEOF]
    try:
        os.write(master, eof if isinstance(eof, bytes) else bytes([eof]))
    except OSError:
        return False
    return True


class SignalPipe:
    """Signals as data: while open, each listed signal only writes its number to a pipe whose
    read end (.fd, non-blocking) joins the caller's select.  `always` get a handler even when
    they were ignored (SIGCHLD: an ignored SIGCHLD would auto-reap the agent); `unless_ignored`
    stay ignored when the caller ignored them (nohup).  Old handlers and wakeup fd come back
    on exit."""

    def __init__(self, always: tuple[int, ...], unless_ignored: tuple[int, ...] = ()) -> None:
        self.always, self.unless_ignored = always, unless_ignored
        self.fd = -1
        self._w = -1
        self._saved: list[tuple[int, object]] = []
        self._old_wakeup = -1

    def __enter__(self) -> SignalPipe:
        self.fd, self._w = os.pipe()
        os.set_blocking(self.fd, False)
        os.set_blocking(self._w, False)
        self._old_wakeup = signal.set_wakeup_fd(self._w, warn_on_full_buffer=False)
        for signum in self.always + self.unless_ignored:
            old = signal.getsignal(signum)
            if signum in self.unless_ignored and old is signal.SIG_IGN:
                continue
            self._saved.append((signum, old))
            signal.signal(signum, _note_signal)
        return self

    def read(self) -> list[int]:
        """The signal numbers that arrived since the last read, in order."""
        try:
            return list(os.read(self.fd, 4096))
        except BlockingIOError:
            return []

    def __exit__(self, *exc: object) -> None:
        for signum, old in reversed(self._saved):
            signal.signal(signum, old)  # type: ignore[arg-type]
        signal.set_wakeup_fd(self._old_wakeup)
        os.close(self.fd)
        os.close(self._w)


def _note_signal(signum: int, frame: object) -> None:
    """No work in a handler: the wakeup fd already carries the signal number."""


# --- the interactive session's pty (session.py) ------------------------------------------

def fork_session_pty(size: tuple[int, int] | None,
                     mode_from: int | None = None) -> tuple[int, int, int]:
    """Fork a child in a new session on a new pty; the parent keeps the slave open too.

    The new terminal starts in the mode of the terminal on mode_from (echo off stays off, as
    pexpect's echo=False asks).  Returns (pid, master, slave) in the parent, (0, -1, -1) in
    the child.  The parent's slave descriptor lets it look at the child's terminal
    (foreground job, mode, unread input).
    """
    import termios
    master, slave = os.openpty()
    if size:
        set_winsize(slave, size)
    if mode_from is not None:
        try:
            termios.tcsetattr(slave, termios.TCSANOW, termios.tcgetattr(mode_from))
        except termios.error:
            pass
    pid = os.fork()
    if pid == 0:
        try:
            os.close(master)
            os.login_tty(slave)
        except BaseException as e:
            os.write(2, f"gatesh: cannot set up the session's pty: {e}\n".encode())
            os._exit(127)
        return 0, -1, -1
    return pid, master, slave


def foreground_job(fd: int) -> int:
    """The foreground process group of the terminal on fd (-1 when unknown)."""
    try:
        return os.tcgetpgrp(fd)
    except OSError:
        return -1


def reads_raw_keys(fd: int) -> bool:
    """True when the terminal is in non-canonical mode (readline, an editor), not line mode."""
    import termios
    try:
        return not termios.tcgetattr(fd)[3] & termios.ICANON
    except termios.error:
        return False


def take_back_input(slave: int) -> int:
    """Discard what was typed into the terminal and not yet read; returns how many bytes."""
    import termios
    n = output_waiting(slave)
    try:
        termios.tcflush(slave, termios.TCIFLUSH)
    except termios.error:
        return 0
    return n


def interrupt_char(fd: int) -> bytes:
    """The terminal's VINTR character (^C unless changed with stty)."""
    import termios
    try:
        c = termios.tcgetattr(fd)[6][termios.VINTR]
    except termios.error:
        return b"\x03"
    return c if isinstance(c, bytes) else bytes([c])


def echoes(fd: int) -> bool:
    """True when the terminal on fd echoes typed characters (stty echo)."""
    import termios
    try:
        return bool(termios.tcgetattr(fd)[3] & termios.ECHO)
    except termios.error:
        return False


def output_waiting(fd: int) -> int:
    """Bytes ready to be read on fd (FIONREAD); 0 when unknown."""
    import fcntl
    import struct
    import termios
    try:
        return int(struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0])
    except OSError:
        return 0
