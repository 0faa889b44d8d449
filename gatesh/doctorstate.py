"""The checks of `gatectl doctor` about what gatesh talks to at run time: approver, audit log.

A missing approver is a warning (the fix is to start one); an audit log gatesh cannot write,
or whose hash chain does not verify, is a failure.
"""

from __future__ import annotations

import os
import shlex

from .config import Config
from .doctor import FAIL, OK, WARN, Check
from .errors import GateshError

__all__ = ["check_approver", "check_audit"]


def check_approver(cfg: Config) -> list[Check]:
    """Whether `gatectl approve` is listening; its absence is a warning, never a failure."""
    import json
    import socket

    from .channel import socket_path
    path = socket_path(cfg.runtime_dir)
    fix = "run gatectl approve in a second terminal (until then every ask is blocked)"
    if cfg.mode != "enforce":
        return [Check("approver", OK, f"not needed in {cfg.mode} mode (socket {path})")]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    s.settimeout(1.0)
    try:
        s.connect(path)
        greeting = s.recv(4096)
    except FileNotFoundError:
        return [Check("approver", WARN, f"no approver is running (no socket at {path})", fix)]
    except ConnectionRefusedError:
        return [Check("approver", WARN, f"no approver is running (a stale socket at {path})", fix)]
    except PermissionError:
        return [Check("approver", WARN, f"the approval socket {path} cannot be reached from "
                      "here (permissions)", fix)]
    except OSError as e:
        return [Check("approver", WARN, f"the approval socket {path} does not answer: "
                      f"{e.strerror or e}", fix)]
    finally:
        s.close()
    try:
        hello = json.loads(greeting.split(b"\n", 1)[0])
        pid = int(hello["approver_pid"]) if hello.get("type") == "hello" else 0
    except (ValueError, KeyError, TypeError, AttributeError):
        pid = 0
    if pid <= 0:
        return [Check("approver", WARN, f"something listens on {path} but does not greet like "
                      "gatectl approve", fix)]
    return [Check("approver", OK, f"gatectl approve is running (pid {pid}) on {path}")]


def _writable_dir(d: str) -> bool:
    """d is writable, or does not exist yet and its nearest existing parent is."""
    while not os.path.isdir(d):
        parent = os.path.dirname(d)
        if parent == d:
            return False
        d = parent
    return os.access(d, os.W_OK | os.X_OK)


def check_audit(cfg: Config) -> list[Check]:
    """The audit log's path, whether gatesh can write it, and whether its hash chain holds."""
    from .audit import log_files
    from .auditexport import failures_path, read_failures
    from .auditverify import check, snapshot
    path = cfg.audit_path
    d = os.path.dirname(path) or "."
    blocks = "gatesh blocks every command while the log cannot be written"
    if not _writable_dir(d):
        return [Check("audit log", FAIL, f"{d} is not writable: {path} cannot be written "
                      f"({blocks})", f"make {d} writable for you (chmod u+w {shlex.quote(d)})")]
    if not os.path.exists(path):
        return [Check("audit log", OK, f"{path}: no records yet; it is created on the first "
                      "command")]
    if not os.access(path, os.W_OK):
        return [Check("audit log", FAIL, f"{path} is not writable ({blocks})",
                      f"chmod u+w {shlex.quote(path)}")]
    findings: list[str] = []
    count = 0
    try:
        for _attempt in range(3):  # a line being written as we read: walk again
            findings, count, _seq, _h = check(snapshot(path), [])
            if not findings or "partly written" not in findings[0]:
                break
    except (GateshError, OSError) as e:
        return [Check("audit log", WARN, f"{path}: the chain could not be read: {e}",
                      "run gatectl log verify")]
    if findings:
        files = log_files(path)
        aside = os.path.join(d, "broken")
        move = (f"mv {shlex.quote(path)} {shlex.quote(path + '.broken')}" if len(files) == 1 else
                f"mkdir {shlex.quote(aside)} && mv {' '.join(map(shlex.quote, files))} "
                f"{shlex.quote(aside)}/")
        return [Check("audit log", FAIL, f"{path}: chain BROKEN: {findings[0]}",
                      f"the log was changed outside gatesh: keep it as evidence and start a new "
                      f"chain ({move}); gatectl log verify shows the details")]
    out = [Check("audit log", OK, f"{path}: {count} records, chain intact")]
    fails = read_failures(path)
    if fails:
        out.append(Check("audit log", WARN, f"{len(fails)} record{'s' * (len(fails) != 1)} "
                         f"could not be sent to syslog ({cfg.audit_syslog})",
                         f"check the syslog target; see {failures_path(path)}"))
    return out
