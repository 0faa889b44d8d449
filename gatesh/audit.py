"""The audit log: hash-chained JSON Lines, appended under an exclusive lock.

Each record carries seq, ts, prev (the previous record's hash) and hash =
sha256(canonical JSON of the record without "hash").  Writers open the file O_APPEND, take
flock, read the last record, and write their line with one write() and an fdatasync.
"""

from __future__ import annotations

import os

from .errors import AuditUnwritable

__all__ = ["append", "canonical", "record_hash", "read_records", "GENESIS"]

GENESIS = "0" * 64
_TAIL = 1 << 16


def canonical(record: dict[str, object]) -> bytes:
    import json
    return json.dumps(record, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8", "surrogateescape")


def record_hash(record: dict[str, object]) -> str:
    import hashlib
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(canonical(body)).hexdigest()


def _last_record(fd: int) -> tuple[int, str]:
    """(seq, hash) of the file's last record; (0, GENESIS) when it is empty."""
    import json
    size = os.fstat(fd).st_size
    if size == 0:
        return 0, GENESIS
    start = max(0, size - _TAIL)
    data = os.pread(fd, size - start, start)
    lines = data.rstrip(b"\n").split(b"\n")
    last = lines[-1]
    if start > 0 and len(lines) == 1:
        # one record longer than the tail: read the whole file's last line
        data = os.pread(fd, size, 0)
        last = data.rstrip(b"\n").split(b"\n")[-1]
    try:
        rec = json.loads(last)
        return int(rec["seq"]), str(rec["hash"])
    except (ValueError, KeyError, TypeError):
        import hashlib
        # a damaged tail: chain onto its bytes so verification reports the damage
        return -1, hashlib.sha256(last).hexdigest()


def append(path: str, fields: dict[str, object], lock: object = None) -> dict[str, object]:
    """Append one record; return it.  Raise AuditUnwritable when it cannot be written."""
    import time
    from . import terminal
    try:
        os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as e:
        raise AuditUnwritable(f"cannot open the audit log {path}: {e.strerror}; "
                              "make its directory writable") from None
    try:
        terminal.lock_exclusive(fd)
        rfd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            seq, prev = _last_record(rfd)
        finally:
            os.close(rfd)
        rec: dict[str, object] = {"seq": seq + 1 if seq >= 0 else 0, "ts": _now(time.time()),
                                  "prev": prev}
        for k, v in fields.items():
            if k not in rec:
                rec[k] = v
        rec["hash"] = record_hash(rec)
        line = canonical(rec) + b"\n"
        view = memoryview(line)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.fdatasync(fd)
        return rec
    except OSError as e:
        raise AuditUnwritable(f"cannot write the audit log {path}: {e.strerror}; "
                              "free space or make it writable") from None
    finally:
        os.close(fd)  # closing releases the lock


def _now(t: float) -> str:
    import time
    frac = f"{t % 1:.6f}"[1:]
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + frac + "Z"


def read_records(path: str) -> list[dict[str, object]]:
    """Every record in the log, in file order (unparseable lines become {"_bad": text})."""
    import json
    out: list[dict[str, object]] = []
    try:
        with open(path, "rb") as f:
            for raw in f:
                raw = raw.rstrip(b"\n")
                if not raw:
                    continue
                try:
                    out.append(json.loads(raw))
                except ValueError:
                    out.append({"_bad": raw.decode("utf-8", "replace")})
    except FileNotFoundError:
        pass
    return out
