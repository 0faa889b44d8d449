"""The console's key discipline on a real pty: type-ahead is flushed when a request is shown,
keys in the first half second do nothing, and a decision counts only once."""

from __future__ import annotations

import os
import time

from gatesh.approver import Pending, Requester
from gatesh.config import load
from gatesh.console import ARM_DELAY_S, Console
from gatesh.model import Decision, Verdict

from conftest import iso_env


class _Wire:
    """Stands in for the gate's connection: collects what the approver sends."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.sent.append(data)

    def close(self) -> None:
        pass


def _pending(severity: str = "high") -> tuple[Pending, _Wire]:
    wire = _Wire()
    msg = {"type": "request", "id": "r-00000001", "nonce": "0" * 32, "command": "rm -rf x",
           "timeout_s": 90}
    review = Decision(Verdict.ASK, True, (), "why", "ask", "rm -rf x", "rm -rf x")
    req = Requester(os.getpid(), os.getuid(), os.getsid(0), "none", 0.0, "/", False, "", ())
    return Pending(msg, req, wire, review, severity, "x" if severity == "critical" else ""), wire


def _console(tmp_path) -> tuple[Console, int, int]:
    cfg = load(iso_env(str(tmp_path)))
    master, slave = os.openpty()
    return Console(cfg, slave), master, slave


def test_typed_ahead_keys_are_flushed_when_a_request_appears(tmp_path):
    console, master, slave = _console(tmp_path)
    os.write(master, b"y")
    time.sleep(0.05)
    p, _ = _pending()
    console.approver.requests.append(p)
    console._changed(p, "new")
    os.set_blocking(slave, False)
    try:
        os.read(slave, 10)
        leftover = True
    except BlockingIOError:
        leftover = False
    assert not leftover


def test_keys_in_the_first_half_second_do_nothing(tmp_path):
    console, _, _ = _console(tmp_path)
    p, wire = _pending()
    console.approver.requests.append(p)
    console._changed(p, "new")
    console.answer(True, "y")
    assert p.state == "pending" and not wire.sent
    time.sleep(ARM_DELAY_S + 0.05)
    console.answer(True, "y")
    assert p.state == "approved" and len(wire.sent) == 1
    console.answer(False, "n")          # a second answer changes nothing and sends nothing
    assert p.state == "approved" and len(wire.sent) == 1


def test_critical_wants_the_token_and_anything_else_denies(tmp_path):
    console, _, _ = _console(tmp_path)
    p, wire = _pending("critical")
    console.approver.requests.append(p)
    console._changed(p, "new")
    time.sleep(ARM_DELAY_S + 0.05)
    assert console.mode() == "token"
    console.submit_token("y")
    assert p.state == "denied" and b'"decision":"deny"' in wire.sent[0]
