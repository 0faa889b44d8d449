"""Forwarding audit records to syslog/journald, so a copy lives where the agent cannot edit it.

Configured by `[audit] syslog`: `true` (the local /dev/log), a socket path
(`"/run/systemd/journal/dev-log"`) or `"udp://host:port"`.  Each record the gate or approver
writes is sent once, after the local write, as one datagram tagged `gatesh` with facility
user, severity notice: `<13>gatesh[PID]: gatesh-audit {canonical JSON}` locally (the format
logger(1) uses, which journald and rsyslog parse), RFC 5424 over UDP.  A record too big for a
datagram is sent shortened to its chain fields (seq, hash, prev, ts, event, verdict, outcome).

The local log is the authority: an export that fails never blocks or delays a command (the
socket is non-blocking).  Each failure is appended as one line to `<log path>.export-failures`
(ts, seq, target, error), and `gatectl log verify` reports how many there were and the last.
Only imported when export is configured: `gatesh -c` does not pay for socket otherwise.
"""

from __future__ import annotations

import os
import socket

__all__ = ["failures_path", "read_failures", "send", "send_anchor", "target_of"]

_TAG = "gatesh"
_PRI = 13  # facility user (1) * 8 + severity notice (5)
_MAX = 8192
_SHORT = ("seq", "hash", "prev", "ts", "event", "verdict", "outcome", "request")


def failures_path(log_path: str) -> str:
    return log_path + ".export-failures"


def target_of(value: str | bool) -> tuple[str, str | tuple[str, int]]:
    """("unix", path) or ("udp", (host, port)) for a config value; ValueError when bad."""
    if value is True:
        return "unix", "/dev/log"
    if not isinstance(value, str) or not value:
        raise ValueError("syslog must be true, a socket path or udp://host:port")
    if value.startswith("udp://"):
        host, sep, port = value[6:].rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"syslog = {value!r}: want udp://host:port")
        return "udp", (host.strip("[]"), int(port))
    if not os.path.isabs(value):
        raise ValueError(f"syslog = {value!r}: want an absolute socket path or udp://host:port")
    return "unix", value


def _message(rec: dict[str, object], udp: bool, kind: str) -> bytes:
    from .audit import canonical
    body = canonical(rec).decode("utf-8", "replace")
    if len(body) > _MAX:
        short = {k: rec[k] for k in _SHORT if k in rec}
        short["truncated"] = True
        body = canonical(short).decode("utf-8", "replace")
    msg = f"{kind} {body}"
    if udp:
        import time
        ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        host = socket.gethostname() or "-"
        return f"<{_PRI}>1 {ts} {host} {_TAG} {os.getpid()} audit - {msg}".encode()
    return f"<{_PRI}>{_TAG}[{os.getpid()}]: {msg}".encode()


def _send(value: str | bool, data: bytes) -> None:
    _kind, addr = target_of(value)
    if isinstance(addr, tuple):
        family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        s = socket.socket(family, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
    else:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
    try:
        s.setblocking(False)
        s.sendto(data, addr)
    finally:
        s.close()


def _note_failure(log_path: str, value: str | bool, rec: dict[str, object], err: str) -> None:
    import time

    from .audit import _now, canonical
    line = canonical({"ts": _now(time.time()), "seq": rec.get("seq"), "target": value,
                      "error": err}) + b"\n"
    try:
        fd = os.open(failures_path(log_path),
                     os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, line)  # one short O_APPEND write: lines never interleave
        finally:
            os.close(fd)
    except OSError:
        pass  # nowhere left to say it; the local log itself was written


def send(value: str | bool, rec: dict[str, object], log_path: str,
         kind: str = "gatesh-audit") -> bool:
    """Send rec; True when sent.  A failure is noted beside log_path, never raised."""
    try:
        _send(value, _message(rec, isinstance(value, str) and value.startswith("udp://"), kind))
        return True
    except (OSError, ValueError, UnicodeError) as e:
        err = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        _note_failure(log_path, value, rec, err)
        return False


def send_anchor(value: str | bool, seq: int, hsh: str, log_path: str) -> bool:
    """Send an anchor record (the log's head) to the export target."""
    import time

    from .audit import _now
    rec: dict[str, object] = {"event": "anchor", "seq": seq, "hash": hsh, "ts": _now(time.time()),
                              "log": log_path}
    return send(value, rec, log_path, kind="gatesh-anchor")


def read_failures(log_path: str) -> list[dict[str, object]]:
    """The noted export failures, oldest first."""
    import json
    out: list[dict[str, object]] = []
    try:
        with open(failures_path(log_path), "rb") as f:
            for raw in f:
                try:
                    out.append(json.loads(raw))
                except ValueError:
                    continue
    except OSError:
        pass
    return out
