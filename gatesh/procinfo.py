"""What the kernel says about processes: /proc parsing, ancestry, peer credentials, pidfds.

Identities for the approval channel come from here, never from messages (approval.md 5.1).
`/proc/<pid>/stat` is parsed after the LAST `)`: the command name is chosen by whoever runs the
process and may itself contain `) (` and spaces.  Linux only; every function fails soft (None,
0, []) when /proc or a kernel feature is missing, and callers treat that as "cannot verify".
"""

from __future__ import annotations

import errno
import os
import socket
import struct

from .record import Record

__all__ = [
    "Stat", "stat", "ancestry", "tracer_pid", "peer_cred", "peer_pidfd", "pidfd_open",
    "pidfd_alive", "own_tty_nr", "tty_nr_of", "set_dumpable", "get_dumpable",
    "set_child_subreaper", "is_child_subreaper", "proc_cwd",
]

SO_PEERPIDFD = 77            # Linux 6.5; missing from Python 3.11's socket module
_PR_GET_DUMPABLE, _PR_SET_DUMPABLE = 3, 4
_PR_SET_CHILD_SUBREAPER, _PR_GET_CHILD_SUBREAPER = 36, 37
_UNSUPPORTED = (errno.ENOPROTOOPT, errno.EOPNOTSUPP)


class Stat(Record):
    """The fields of /proc/<pid>/stat the checks use, numbered as our pid namespace sees them."""

    __slots__ = ()
    _fields = ("pid", "comm", "ppid", "session", "tty_nr", "starttime")
    pid: int
    comm: str          # untrusted: the process chooses it
    ppid: int          # field 4
    session: int       # field 6; 0 when the session leader is outside our pid namespace
    tty_nr: int        # field 7; 0 = no controlling terminal
    starttime: int     # field 22, clock ticks after boot

    def __new__(cls, pid: int, comm: str, ppid: int, session: int, tty_nr: int,
                starttime: int) -> Stat:
        return tuple.__new__(cls, (pid, comm, ppid, session, tty_nr, starttime))


def parse_stat(text: str) -> Stat:
    """Parse one /proc/<pid>/stat line; ValueError when it is not one."""
    head, sep, tail = text.rpartition(")")
    pid_text, paren, comm = head.partition(" (")
    if not sep or not paren:
        raise ValueError("not a /proc stat line")
    rest = tail.split()
    # rest[0] is field 3 (state): field n is rest[n - 3]
    return Stat(int(pid_text), comm, int(rest[1]), int(rest[3]), int(rest[4]), int(rest[19]))


def stat(pid: int | str) -> Stat | None:
    """The process's stat record, or None when it is gone (or /proc cannot be read)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
        return parse_stat(data.decode("utf-8", "surrogateescape"))
    except (OSError, ValueError, IndexError):
        return None


def ancestry(pid: int, limit: int = 256) -> list[Stat]:
    """pid's stat first, then each parent's, ending with the one whose ppid is 0 (pid 1).

    The list ends early when a process in the chain vanished during the walk or the limit
    was reached: callers see that the last entry's ppid is not 0.
    """
    chain: list[Stat] = []
    seen: set[int] = set()
    current = pid
    while len(chain) < limit and current not in seen:
        st = stat(current)
        if st is None:
            break
        chain.append(st)
        seen.add(current)
        if st.ppid == 0:
            break
        current = st.ppid
    return chain


def tracer_pid(pid: int | str = "self") -> int:
    """TracerPid from /proc/<pid>/status (0 = not traced); -1 when it cannot be read."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"TracerPid:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return -1


def peer_cred(sock: socket.socket) -> tuple[int, int, int]:
    """(pid, uid, gid) of the peer via SO_PEERCRED; a client gets them as of the peer's listen()."""
    data = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", data)
    return pid, uid, gid


def peer_pidfd(sock: socket.socket) -> int | None:
    """A pidfd (close-on-exec) for the peer via SO_PEERPIDFD; None when the kernel lacks it.

    Other failures (for example a peer that exited, on kernels that refuse then) raise OSError:
    they must not be mistaken for "unsupported" and answered with a pid that may be recycled.
    """
    try:
        return int(sock.getsockopt(socket.SOL_SOCKET, SO_PEERPIDFD))
    except OSError as e:
        if e.errno in _UNSUPPORTED:
            return None
        raise


def pidfd_open(pid: int) -> int | None:
    """A pidfd for pid (close-on-exec), or None when it is gone or pidfds are unsupported."""
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return None
    try:
        return int(opener(pid))
    except OSError:
        return None


def pidfd_alive(fd: int) -> bool:
    """True while the pidfd's process exists (a zombie still counts); False once reaped."""
    import signal  # sending signal 0 only: no disposition is touched

    try:
        signal.pidfd_send_signal(fd, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True      # exists, but belongs to someone we may not signal
    return True


def own_tty_nr() -> int:
    """This process's controlling terminal as /proc encodes it (0 = none)."""
    st = stat("self")
    return st.tty_nr if st else 0


def tty_nr_of(rdev: int) -> int:
    """A device number (st_rdev) in /proc/<pid>/stat's tty_nr encoding."""
    major, minor = os.major(rdev), os.minor(rdev)
    return (minor & 0xFF) | (major << 8) | ((minor & ~0xFF) << 12)


def _prctl(option: int, arg: int = 0) -> int:
    import ctypes  # off the gate's start-up path: only the approver and the launcher call this

    libc = ctypes.CDLL(None, use_errno=True)
    res = int(libc.prctl(option, ctypes.c_ulong(arg), ctypes.c_ulong(0), ctypes.c_ulong(0),
                         ctypes.c_ulong(0)))
    if res < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return res


def set_dumpable(flag: bool) -> None:
    """prctl(PR_SET_DUMPABLE); off, same-uid ptrace and /proc/<pid>/{mem,environ,fd} are refused."""
    _prctl(_PR_SET_DUMPABLE, 1 if flag else 0)


def get_dumpable() -> bool:
    """prctl(PR_GET_DUMPABLE) for this process."""
    return _prctl(_PR_GET_DUMPABLE) != 0


def set_child_subreaper() -> None:
    """prctl(PR_SET_CHILD_SUBREAPER, 1): orphans in this process's tree are re-parented here."""
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)


def is_child_subreaper() -> bool:
    """prctl(PR_GET_CHILD_SUBREAPER) for this process."""
    import ctypes

    out = ctypes.c_int(0)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(out), 0, 0, 0) < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return out.value != 0


def proc_cwd(pid: int | str) -> str | None:
    """The process's working directory (what the kernel says), or None when unreadable."""
    try:
        return os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return None
