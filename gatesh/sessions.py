"""The session registry of `gatectl run` and the ancestry checks on it (approval.md 4, 5.1, 5.2).

An entry names a launcher (the registered root, by pid and start time), the agent's session id
and the agent's pty.  Pids, session ids and pty numbers are recycled, so an entry counts only
while its root is alive with the recorded start time; dead entries are deleted, never trusted.
"""

from __future__ import annotations

import json
import os
import socket
import time

from . import procinfo
from .errors import GateshError
from .record import Record

__all__ = [
    "Session", "register", "unregister", "live_sessions", "chain_problem", "session_of",
    "listener_problem", "approver_problem", "sessions_dir",
]


class Session(Record):
    """One registry entry: the launcher (root) and the agent session it started."""

    __slots__ = ()
    _fields = ("root_pid", "root_starttime", "agent_sid", "agent_tty_nr", "argv", "started",
               "path")
    root_pid: int
    root_starttime: int
    agent_sid: int
    agent_tty_nr: int
    argv: tuple[str, ...]
    started: float
    path: str

    def __new__(cls, root_pid: int, root_starttime: int, agent_sid: int, agent_tty_nr: int,
                argv: tuple[str, ...], started: float, path: str) -> Session:
        return tuple.__new__(cls, (root_pid, root_starttime, agent_sid, agent_tty_nr,
                                   tuple(argv), started, path))


def sessions_dir(runtime_dir: str) -> str:
    return os.path.join(runtime_dir, "sessions")


def _private_dir(path: str) -> None:
    """Create path (and runtime_dir above it) as 0700."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)


def register(runtime_dir: str, root_pid: int, agent_sid: int, agent_tty_nr: int,
             argv: list[str] | tuple[str, ...]) -> Session:
    """Write the entry for a live root as sessions/<pid>-<starttime>.json (file 0600, dir 0700)."""
    st = procinfo.stat(root_pid)
    if st is None:
        raise GateshError(f"process {root_pid} is gone, so it cannot be registered; "
                          "start the agent again with gatectl run")
    folder = sessions_dir(runtime_dir)
    _private_dir(runtime_dir)
    _private_dir(folder)
    path = os.path.join(folder, f"{root_pid}-{st.starttime}.json")
    session = Session(root_pid, st.starttime, agent_sid, agent_tty_nr, tuple(argv), time.time(),
                      path)
    body = {k: v for k, v in session._asdict().items() if k != "path"}
    body["argv"] = list(session.argv)
    tmp = os.path.join(folder, f".{root_pid}-{st.starttime}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, (json.dumps(body) + "\n").encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)  # readers never see half an entry
    return session


def unregister(session: Session) -> None:
    """Remove the entry (already gone is fine)."""
    try:
        os.unlink(session.path)
    except FileNotFoundError:
        pass


def _load(path: str) -> Session | None:
    try:
        with open(path, "rb") as f:
            body = json.loads(f.read())
        return Session(int(body["root_pid"]), int(body["root_starttime"]),
                       int(body["agent_sid"]), int(body["agent_tty_nr"]),
                       tuple(str(a) for a in body["argv"]), float(body["started"]), path)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _alive(session: Session) -> bool:
    st = procinfo.stat(session.root_pid)
    return st is not None and st.starttime == session.root_starttime


def live_sessions(runtime_dir: str) -> list[Session]:
    """Entries whose root is alive with its recorded start time; the others are deleted."""
    folder = sessions_dir(runtime_dir)
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    out: list[Session] = []
    for name in names:
        if not name.endswith(".json") or name.startswith("."):
            continue
        path = os.path.join(folder, name)
        session = _load(path)
        if session is not None and _alive(session):
            out.append(session)
            continue
        try:  # dead, recycled or unreadable: pruned, never trusted
            os.unlink(path)
        except OSError:
            pass
    return out


def _who(st: procinfo.Stat) -> str:
    return f"process {st.pid} ({st.comm!r})"


def chain_problem(pid: int, runtime_dir: str, gate_sid: int | None = None,
                  gate_tty: int | None = None) -> str | None:
    """Why pid's ancestry rules it out as the approver (one line), or None when it is clean.

    Session id 0 (a leader outside our pid namespace) and tty 0 never match.  pid 1 ends every
    chain, so it is not compared with the gate's own session and tty: in a container the gate
    may share init's session, and that says nothing about who started the listener.
    """
    sessions = live_sessions(runtime_dir)
    roots = {(s.root_pid, s.root_starttime) for s in sessions}
    sids = {s.agent_sid for s in sessions if s.agent_sid}
    ttys = {s.agent_tty_nr for s in sessions if s.agent_tty_nr}
    chain = procinfo.ancestry(pid)
    if not chain:
        return f"process {pid} is gone"
    for st in chain:
        if (st.pid, st.starttime) in roots:
            return f"{_who(st)} in its ancestry is a gated agent's launcher (gatectl run)"
        if st.session and st.session in sids:
            return f"{_who(st)} in its ancestry is in a gated agent's session {st.session}"
        if st.tty_nr and st.tty_nr in ttys:
            return f"{_who(st)} in its ancestry has a gated agent's pty as its terminal"
        if st.pid == 1:
            continue
        if gate_sid and st.session == gate_sid:
            return f"{_who(st)} in its ancestry shares the gate's session {gate_sid}"
        if gate_tty and st.tty_nr == gate_tty:
            return f"{_who(st)} in its ancestry shares the gate's terminal"
    if chain[-1].ppid != 0:
        return f"the ancestry of process {pid} could not be read to its end (it changed)"
    return None


def session_of(pid: int, runtime_dir: str) -> Session | None:
    """The registered session whose root is an ancestor of pid (None: an unregistered session)."""
    by_root = {(s.root_pid, s.root_starttime): s for s in live_sessions(runtime_dir)}
    for st in procinfo.ancestry(pid):
        found = by_root.get((st.pid, st.starttime))
        if found is not None:
            return found
    return None


def listener_problem(sock: socket.socket, runtime_dir: str, approver_uid: int) -> str | None:
    """The gate's check of the listener on a connected socket (approval.md 5.1); None = accepted."""
    pid, uid, _gid = procinfo.peer_cred(sock)
    if uid != approver_uid:
        return f"the listener runs as uid {uid}, not the approver's uid {approver_uid}"
    if pid <= 0:
        return "the listener's pid is not visible from here (another pid namespace)"
    try:  # taken BEFORE the walk, so a recycled pid cannot pass for the listener
        pidfd = procinfo.peer_pidfd(sock)
    except OSError:
        return f"the listener (process {pid}) has exited"
    if pidfd is None:
        pidfd = procinfo.pidfd_open(pid)
    first = procinfo.stat(pid)
    try:
        if first is None:
            return f"the listener (process {pid}) has exited"
        problem = chain_problem(pid, runtime_dir, gate_sid=os.getsid(0),
                                gate_tty=procinfo.own_tty_nr())
        if problem:
            return problem
        if pidfd is not None:
            if not procinfo.pidfd_alive(pidfd):
                return f"the listener (process {pid}) exited during the check"
        else:
            again = procinfo.stat(pid)
            if again is None or again.starttime != first.starttime:
                return f"the listener (process {pid}) exited during the check"
        return None
    finally:
        if pidfd is not None:
            os.close(pidfd)


def approver_problem(runtime_dir: str) -> str | None:
    """The approver's self-check (approval.md 5.2) except the socket-in-use test; None = fine.

    Call it before setting TIOCEXCL on the terminal: afterwards opening /dev/tty fails (EBUSY).
    """
    problem = chain_problem(os.getpid(), runtime_dir)
    if problem:
        return (f"this terminal belongs to a gated agent session ({problem}); "
                "run gatectl approve in a separate terminal")
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return "gatectl approve has no controlling terminal; run it in a terminal of its own"
    os.close(fd)
    tracer = procinfo.tracer_pid()
    if tracer != 0:
        who = "an unknown process" if tracer < 0 else f"process {tracer}"
        return (f"gatectl approve is being traced by {who}; "
                "run it without a debugger or strace")
    return None
