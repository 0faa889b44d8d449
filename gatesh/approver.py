"""The approver's server: the only listener on the approval socket, and its request queue.

It owns the socket (approval.md 3), greets every connection at once, reads one request per
connection, and keeps what the console shows: the requester as the kernel reports it, the
gatesh review the approver makes itself (its own rules, the cwd read from /proc, not the
request's claims), the challenge token and the blast-radius preview.  A decision goes back
on the connection that carried the request, once; a cancel or EOF withdraws the request.
The console (console.py) draws this state and turns keys into `decide` calls.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable

from .channel import LineBuffer, Malformed, decision as decision_msg, encode, hello, socket_path
from .config import Config
from .errors import GateshError
from .record import Record

__all__ = ["Approver", "Pending", "Requester", "ApproverBusy", "PENDING"]

PENDING = "pending"
ANCHOR_EVERY = 100
_REQUEST_WAIT_S = 10.0


class ApproverBusy(GateshError):
    reason = "approver_busy"


class Requester(Record):
    """Who asked, from the kernel and /proc, never from the request."""

    __slots__ = ()
    _fields = ("pid", "uid", "sid", "tty", "started", "cwd", "registered", "agent", "chain")
    pid: int
    uid: int
    sid: int
    tty: str                  # "/dev/pts/3", or "none"
    started: float            # wall-clock start of the gate process (0 when unknown)
    cwd: str                  # readlink /proc/<pid>/cwd ("" when unreadable)
    registered: bool          # a `gatectl run` session is among its ancestors
    agent: str                # the registered session's command, when known
    chain: tuple[str, ...]    # "pid comm" up to the launcher or init

    def __new__(cls, pid: int, uid: int, sid: int, tty: str, started: float, cwd: str,
                registered: bool, agent: str, chain: tuple[str, ...]) -> Requester:
        return tuple.__new__(cls, (pid, uid, sid, tty, started, cwd, registered, agent, chain))


class Pending:
    """One request and what became of it (mutable: the console's model of a queue row)."""

    def __init__(self, msg: dict[str, object], requester: Requester,
                 writer: asyncio.StreamWriter, review: object, severity: str,
                 token: str) -> None:
        self.id = str(msg["id"])
        self.nonce = str(msg["nonce"])
        self.msg = msg
        self.requester = requester
        self.writer = writer
        self.review = review              # gatesh's own Decision for the command
        self.severity = severity          # gatesh's own; "critical" if either side says so
        self.token = token                # typed to approve a critical request
        self.preview: tuple[str, ...] | None = None
        self.received = time.monotonic()
        self.received_wall = time.time()
        timeout = msg.get("timeout_s")
        self.timeout = float(timeout) if isinstance(timeout, (int, float)) and \
            0 < timeout <= 3600 else 90.0
        self.state = PENDING              # approved, denied, withdrawn, timeout
        self.state_detail = ""
        self.decided_at = 0.0

    @property
    def command(self) -> str:
        c = self.msg.get("command")
        return c if isinstance(c, str) else ""

    @property
    def display(self) -> str:
        c = self.msg.get("display_command")
        return c if isinstance(c, str) and c else self.command

    def left(self) -> float:
        return max(0.0, self.timeout - (time.monotonic() - self.received))


def _tty_name(tty_nr: int) -> str:
    if tty_nr == 0:
        return "none"
    major, minor = (tty_nr >> 8) & 0xFFF, (tty_nr & 0xFF) | ((tty_nr >> 12) & 0xFFF00)
    if 136 <= major <= 143:
        return f"/dev/pts/{(major - 136) * 256 + minor}"
    return f"tty {major}:{minor}"


def _boot_time() -> float:
    try:
        with open("/proc/stat", "rb") as f:
            for line in f:
                if line.startswith(b"btime "):
                    return float(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0.0


def _read_environ(pid: int) -> dict[str, str]:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            data = f.read()
    except OSError:
        return {}
    env: dict[str, str] = {}
    for entry in data.split(b"\0"):
        k, sep, v = entry.partition(b"=")
        if sep and k:
            env.setdefault(os.fsdecode(k), os.fsdecode(v))
    return env


def requester_of(pid: int, uid: int, runtime_dir: str) -> Requester:
    from . import procinfo, sessions
    st = procinfo.stat(pid)
    chain = procinfo.ancestry(pid)
    sess = sessions.session_of(pid, runtime_dir)
    started = 0.0
    if st is not None:
        started = _boot_time() + st.starttime / os.sysconf("SC_CLK_TCK")
    links: list[str] = []
    for s in chain:
        links.append(f"{s.pid} {s.comm}")
        if sess is not None and s.pid == sess.root_pid:
            break
    return Requester(pid=pid, uid=uid, sid=st.session if st else -1,
                     tty=_tty_name(st.tty_nr) if st else "none", started=started,
                     cwd=procinfo.proc_cwd(pid) or "", registered=sess is not None,
                     agent=" ".join(sess.argv) if sess is not None else "",
                     chain=tuple(links))


def _assess(cfg: Config, msg: dict[str, object], req: Requester) -> tuple[object, str, str]:
    """gatesh's own review of the command, the severity shown and the challenge token."""
    from .challenge import token_for
    from .gate import Request, review
    from .policy import severity_of
    command = msg.get("command")
    text = command if isinstance(command, str) else ""
    cwd = req.cwd or "/"
    env = _read_environ(req.pid)
    d = review(Request(text, cwd, "approver", env), cfg)
    sev = severity_of(d.matches)
    mine = sev.value if sev is not None else "high"
    claimed = msg.get("severity")
    severity = "critical" if "critical" in (mine, claimed) else mine
    token = token_for(d, cwd, env) if severity == "critical" else ""
    return d, severity, token


class Approver:
    """The listening socket and the queue; `changed` is called after every state change."""

    def __init__(self, cfg: Config, changed: Callable[[Pending | None, str], None]) -> None:
        self.cfg = cfg
        self.changed = changed
        self.path = socket_path(cfg.runtime_dir)
        self.requests: list[Pending] = []
        self.sock: socket.socket | None = None
        self.inode = 0
        self.server: asyncio.AbstractServer | None = None
        self.alarm = ""
        self.anchored = 0
        # gatesh's own analysis (parse, review, preview) runs off the event loop, one job at
        # a time: the parser and rule caches are not meant for concurrent use
        from concurrent.futures import ThreadPoolExecutor
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gatesh-review")

    # --- the socket -----------------------------------------------------------------

    def bind(self) -> None:
        """Take the socket: refuse while another approver answers, replace a stale one."""
        d = self.cfg.runtime_dir
        os.makedirs(d, mode=0o700, exist_ok=True)
        st = os.stat(d)
        if st.st_uid != os.getuid():
            raise GateshError(f"{d} belongs to another user; remove it or set XDG_RUNTIME_DIR")
        if st.st_mode & 0o077:
            os.chmod(d, 0o700)
        if _answers(self.path):
            raise ApproverBusy("another gatectl approve is already running for this user; "
                               "use that one or stop it first")
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        old = os.umask(0o177)
        try:
            sock.bind(self.path)
        except OSError as e:
            sock.close()
            raise GateshError(f"cannot create the approval socket {self.path}: "
                              f"{e.strerror or e}") from None
        finally:
            os.umask(old)
        sock.listen(64)
        self.sock = sock
        self.inode = os.stat(self.path).st_ino

    def socket_replaced(self) -> bool:
        try:
            return os.stat(self.path).st_ino != self.inode
        except OSError:
            return True

    async def serve(self) -> None:
        assert self.sock is not None
        self.server = await asyncio.start_unix_server(self._client, sock=self.sock,
                                                      limit=1 << 21)

    def close(self) -> None:
        self.worker.shutdown(wait=False, cancel_futures=True)
        for p in self.requests:
            if p.state == PENDING:
                p.writer.close()
        if self.server is not None:
            self.server.close()
        if self.sock is not None and not self.socket_replaced():
            try:
                os.unlink(self.path)
            except OSError:
                pass

    # --- one connection -------------------------------------------------------------

    async def _client(self, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        from . import procinfo
        sock = writer.get_extra_info("socket")
        try:
            pid, uid, _gid = procinfo.peer_cred(sock)
        except OSError:
            writer.close()
            return
        if uid not in (os.getuid(), 0):
            writer.close()
            return
        writer.write(encode(hello(os.getpid())))
        buf = LineBuffer()
        pending: Pending | None = None
        try:
            await writer.drain()
            msgs: list[dict[str, object]] = []
            while not msgs:
                data = await asyncio.wait_for(reader.read(65536), _REQUEST_WAIT_S)
                if not data:
                    return
                msgs = buf.feed(data)
            first = msgs.pop(0)
            if not _valid_request(first):
                return
            req = requester_of(pid, uid, self.cfg.runtime_dir)
            loop = asyncio.get_running_loop()
            review, severity, token = await loop.run_in_executor(self.worker, _assess,
                                                                 self.cfg, first, req)
            pending = Pending(first, req, writer, review, severity, token)
            self.requests.append(pending)
            self._record("request", pending)
            self.changed(pending, "new")
            asyncio.get_running_loop().create_task(self._preview(pending))
            while pending.state == PENDING:
                for m in msgs:
                    if m.get("type") == "cancel" and m.get("id") == pending.id:
                        reason = str(m.get("reason") or "withdrawn")[:40]
                        self._withdraw(pending, "timeout" if reason == "timeout"
                                       else "withdrawn", reason)
                msgs = []
                if pending.state != PENDING:
                    break
                data = await reader.read(65536)
                if not data:
                    self._withdraw(pending, "withdrawn", "the gate went away")
                    break
                msgs = buf.feed(data)
        except (Malformed, asyncio.TimeoutError, ConnectionError):
            if pending is not None and pending.state == PENDING:
                self._withdraw(pending, "withdrawn", "the gate's connection failed")
        finally:
            if pending is None or pending.state != PENDING:
                writer.close()

    async def _preview(self, p: Pending) -> None:
        env = _read_environ(p.requester.pid)
        try:
            from .blast import preview
            p.preview = await asyncio.get_running_loop().run_in_executor(
                self.worker, preview, p.review, p.requester.cwd or "/", env)
        except Exception as e:  # noqa: BLE001 - a preview failure is shown, never fatal
            p.preview = (f"blast radius unknown: {type(e).__name__}: {e}",)
        self.changed(p, "preview")

    # --- outcomes -------------------------------------------------------------------

    def decide(self, p: Pending, approve: bool, how: str, note: str = "") -> bool:
        """Send the human's answer once; False when the request is no longer pending."""
        if p.state != PENDING or p.left() <= 0:
            return False
        p.state = "approved" if approve else "denied"
        p.state_detail = how
        p.decided_at = time.monotonic()
        try:
            p.writer.write(encode(decision_msg(p.id, p.nonce, approve, note, how)))
        except (ConnectionError, RuntimeError):
            p.state, p.state_detail = "withdrawn", "the gate went away"
        self._record("answer", p, answer="approve" if approve else "deny", how=how,
                     note=note, seconds=round(p.decided_at - p.received, 3))
        self.changed(p, p.state)
        return p.state != "withdrawn"

    def expire(self) -> None:
        """Requests past their deadline are denied (the gate does the same on its side)."""
        for p in self.requests:
            if p.state == PENDING and p.left() <= 0:
                self._withdraw(p, "timeout", "no decision in time")

    def _withdraw(self, p: Pending, state: str, why: str) -> None:
        if p.state != PENDING:
            return
        p.state, p.state_detail = state, why
        p.decided_at = time.monotonic()
        self._record("withdrawn", p, why=why)
        self.changed(p, state)

    def _record(self, event: str, p: Pending, **extra: object) -> None:
        r = p.requester
        fields: dict[str, object] = {"request": p.id, "gate_pid": r.pid,
                                     "severity": p.severity}
        if event == "request":
            from .mask import mask
            fields.update(command=mask(p.command), cwd=r.cwd, session=r.sid, tty=r.tty,
                          registered=r.registered,
                          rules=[m.rule_id for m in getattr(p.review, "matches", ())])
        fields.update(extra)
        self.record_event(event, **fields)

    def anchor(self, force: bool = False) -> None:
        """Send the log's head to the export target (syslog/journald) at start, at exit and
        every ANCHOR_EVERY records, so a truncated or rewritten log can be told from the
        copy the agent cannot rewrite (approval.md 10.3)."""
        if not self.cfg.audit_syslog:
            return
        from .auditexport import send_anchor
        from .auditverify import head
        seq, h = head(self.cfg.audit_path)
        if seq and (force or seq >= self.anchored + ANCHOR_EVERY):
            if send_anchor(self.cfg.audit_syslog, seq, h, self.cfg.audit_path):
                self.anchored = seq
            else:
                self.alarm = "the audit anchor could not be sent to syslog"

    def record_event(self, event: str, **fields: object) -> None:
        from .audit import append
        from .errors import AuditUnwritable
        try:
            append(self.cfg.audit_path, {"event": event, "approver_pid": os.getpid(), **fields},
                   max_bytes=self.cfg.audit_max_bytes, export=self.cfg.audit_syslog)
        except AuditUnwritable as e:
            self.alarm = str(e)


def _valid_request(msg: dict[str, object]) -> bool:
    rid, nonce = msg.get("id"), msg.get("nonce")
    return (msg.get("type") == "request" and isinstance(rid, str) and 0 < len(rid) <= 64
            and isinstance(nonce, str) and 16 <= len(nonce) <= 128
            and isinstance(msg.get("command"), str))


def _answers(path: str) -> bool:
    """True when a live approver greets on path within a second."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    s.settimeout(1.0)
    try:
        s.connect(path)
        return s.recv(64).startswith(b'{"type":"hello"')
    except OSError:
        return False
    finally:
        s.close()
