"""The approval channel's wire format: JSON Lines over the approver's Unix socket.

Both ends use it: the gate (`approve`) as client, the console (`approver`) as the only
listener.  Messages are single-line JSON objects with a "type"; a line longer than
MAX_LINE or not a JSON object is malformed, and a malformed message ends the exchange
(approval.md section 3).
"""

from __future__ import annotations

import json
import os

from .errors import GateshError

__all__ = ["SOCKET_NAME", "MAX_LINE", "VERSION", "Malformed", "socket_path", "encode",
           "LineBuffer", "new_id", "new_nonce", "hello", "request", "decision", "cancel",
           "parse_decision"]

SOCKET_NAME = "approver.sock"
MAX_LINE = 1 << 20
VERSION = 1


class Malformed(GateshError):
    """A message that is not what the protocol allows at this point."""

    reason = "malformed_reply"


def socket_path(runtime_dir: str) -> str:
    return os.path.join(runtime_dir, SOCKET_NAME)


def encode(msg: dict[str, object]) -> bytes:
    return json.dumps(msg, ensure_ascii=True, separators=(",", ":")).encode("ascii") + b"\n"


class LineBuffer:
    """Bytes in, whole messages out; raises Malformed for an oversized or non-JSON line."""

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, data: bytes) -> list[dict[str, object]]:
        self._buf += data
        out: list[dict[str, object]] = []
        while True:
            i = self._buf.find(b"\n")
            if i < 0:
                if len(self._buf) > MAX_LINE:
                    raise Malformed("a message longer than the protocol allows")
                return out
            line, self._buf = self._buf[:i], self._buf[i + 1:]
            if len(line) > MAX_LINE:
                raise Malformed("a message longer than the protocol allows")
            if not line.strip():
                continue
            try:
                msg = json.loads(line)
            except ValueError:
                raise Malformed("a message that is not JSON") from None
            if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
                raise Malformed("a message without a type")
            out.append(msg)


def new_id() -> str:
    return "r-" + os.urandom(4).hex()


def new_nonce() -> str:
    return os.urandom(16).hex()


def hello(pid: int) -> dict[str, object]:
    return {"type": "hello", "v": VERSION, "approver_pid": pid}


def request(req_id: str, nonce: str, fields: dict[str, object]) -> dict[str, object]:
    msg: dict[str, object] = {"type": "request", "v": VERSION, "id": req_id, "nonce": nonce}
    for k, v in fields.items():
        msg.setdefault(k, v)
    return msg


def decision(req_id: str, nonce: str, approve: bool, note: str = "",
             how: str = "") -> dict[str, object]:
    return {"type": "decision", "id": req_id, "nonce": nonce,
            "decision": "approve" if approve else "deny", "note": note, "how": how}


def cancel(req_id: str, reason: str) -> dict[str, object]:
    return {"type": "cancel", "id": req_id, "reason": reason}


def parse_decision(msg: dict[str, object], req_id: str, nonce: str) -> tuple[bool, str, str]:
    """(approved, note, how) from a decision for this request; Malformed otherwise."""
    if msg.get("type") != "decision":
        raise Malformed(f"an unexpected {str(msg.get('type'))[:40]!r} message")
    if msg.get("id") != req_id or msg.get("nonce") != nonce:
        raise Malformed("a decision for another request (id or nonce mismatch)")
    verdict = msg.get("decision")
    if verdict not in ("approve", "deny"):
        raise Malformed("a decision that is neither approve nor deny")
    note = msg.get("note") or ""
    how = msg.get("how") or ""
    if not isinstance(note, str) or not isinstance(how, str):
        raise Malformed("a decision with a bad note")
    return verdict == "approve", note[:500], how[:40]
