"""The audit log: hash-chained JSON Lines, appended under an exclusive lock.

Each record carries seq, ts, prev (the previous record's hash) and hash =
sha256(canonical JSON of the record without "hash").  Writers open the file O_APPEND, take
flock, check that the path still names the file they locked (a rotation may have replaced
it), read the last record, and write their line with one write() and an fdatasync.

Rotation (append's max_bytes): when a record would take the file past max_bytes, the writer,
still holding the lock, writes the record into a new locked file, hard-links the full file to
`audit.jsonl.<N>` and renames the new file over `audit.jsonl`, so the path always names a
complete file.  N is the first seq of the rotated file (or, if a damaged chain restarted seq,
one more than the previous rotated file's number): rotated files sort by N, oldest first.
The chain continues across files: the new file's first record has the old file's last hash as
prev and the next seq.  log_files() lists them all in order.
"""

from __future__ import annotations

import os

from .errors import AuditUnwritable

__all__ = ["GENESIS", "append", "canonical", "log_files", "read_records", "record_hash"]

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


def _rotated(path: str) -> list[tuple[int, str]]:
    """(N, name) of every rotated predecessor `path.N`, in ascending N."""
    d, base = os.path.split(path)
    prefix = base + "."
    try:
        names = os.listdir(d or ".")
    except OSError:
        return []
    out = [(int(n[len(prefix):]), os.path.join(d, n)) for n in names
           if n.startswith(prefix) and n[len(prefix):].isdigit()]
    out.sort()
    return out


def log_files(path: str) -> list[str]:
    """Every existing file of the log: rotated predecessors oldest first, then path itself.

    During a rotation path and the newest rotated file may briefly be the same file; it is
    listed once.
    """
    files = [name for _, name in _rotated(path)]
    try:
        cur = os.stat(path)
    except OSError:
        return files
    if files:
        try:
            last = os.stat(files[-1])
            if (last.st_dev, last.st_ino) == (cur.st_dev, cur.st_ino):
                return files
        except OSError:
            pass
    return files + [path]


def _last_line(fd: int, size: int) -> bytes:
    start = max(0, size - _TAIL)
    data = os.pread(fd, size - start, start)
    lines = data.rstrip(b"\n").split(b"\n")
    if start > 0 and len(lines) == 1:  # one record longer than the tail
        return os.pread(fd, size, 0).rstrip(b"\n").split(b"\n")[-1]
    return lines[-1]


def last_complete_line(fd: int) -> bytes:
    """The file's last non-blank newline-terminated line (without the newline), read from
    its tail; b"" when it holds none.  A partly written line after it is ignored."""
    size = os.fstat(fd).st_size
    start = max(0, size - _TAIL)
    while True:
        data = os.pread(fd, size - start, start)
        body = data[:data.rfind(b"\n") + 1].rstrip()
        cut = body.rfind(b"\n")
        if cut >= 0 or start == 0:
            return body[cut + 1:]
        start = 0  # the last complete line is longer than the tail: read it all


def _seq_hash(line: bytes) -> tuple[int, str]:
    import json
    try:
        rec = json.loads(line)
        return int(rec["seq"]), str(rec["hash"])
    except (ValueError, KeyError, TypeError):
        import hashlib
        # a damaged record: chain onto its bytes so verification reports the damage
        return -1, hashlib.sha256(line).hexdigest()


def _last_record(fd: int) -> tuple[int, str]:
    """(seq, hash) of the file's last record; (0, GENESIS) when it is empty."""
    size = os.fstat(fd).st_size
    if size == 0:
        return 0, GENESIS
    return _seq_hash(_last_line(fd, size))


def _open_locked(path: str) -> int:
    """An fd of the file path names, locked; reopened when a rotation replaced it meanwhile."""
    from . import terminal
    while True:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            terminal.lock_exclusive(fd)
            mine, now = os.fstat(fd), os.stat(path)
        except FileNotFoundError:
            os.close(fd)
            continue
        except BaseException:
            os.close(fd)
            raise
        if (mine.st_dev, mine.st_ino) == (now.st_dev, now.st_ino):
            return fd
        os.close(fd)  # another writer rotated the file we were waiting on


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _rotate(path: str, fd: int, line: bytes) -> None:
    """With fd (the full file) locked: start a new file at path holding line."""
    from . import terminal
    d = os.path.dirname(path) or "."
    first, _ = _seq_hash(os.pread(fd, _TAIL, 0).split(b"\n")[0])
    done = _rotated(path)
    n = max(first, done[-1][0] + 1 if done else 1)
    linked = bool(done) and os.path.samefile(done[-1][1], path)  # a rotation cut short
    tmp = f"{path}.new-{os.getpid()}"
    if os.path.lexists(tmp):
        os.unlink(tmp)  # left by a dead writer with our pid; we hold the lock
    nfd = os.open(tmp, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        terminal.lock_exclusive(nfd)  # writers that open the new path wait for us
        _write_all(nfd, line)
        os.fdatasync(nfd)
        if not linked:
            os.link(path, f"{path}.{n}")  # the full file keeps its records under its new name
        os.rename(tmp, path)  # atomic: path always names a complete file
        dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    finally:
        os.close(nfd)


def append(path: str, fields: dict[str, object], lock: object = None, *,
           max_bytes: int = 0, export: str | bool | None = None) -> dict[str, object]:
    """Append one record; return it.  Raise AuditUnwritable when it cannot be written.

    max_bytes > 0 rotates the file first when this record would take it past max_bytes.
    export (the config's [audit] syslog value) also sends the record to syslog once the
    local write is done; a failed export is noted beside the log, never raised.
    """
    import time
    try:
        os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
        fd = _open_locked(path)
    except OSError as e:
        raise AuditUnwritable(f"cannot open the audit log {path}: {e.strerror}; "
                              "make its directory writable") from None
    try:
        seq, prev = _last_record(fd)
        rec: dict[str, object] = {"seq": seq + 1 if seq >= 0 else 0, "ts": _now(time.time()),
                                  "prev": prev}
        for k, v in fields.items():
            if k not in rec:
                rec[k] = v
        rec["hash"] = record_hash(rec)
        line = canonical(rec) + b"\n"
        size = os.fstat(fd).st_size
        if max_bytes > 0 and size > 0 and size + len(line) > max_bytes:
            _rotate(path, fd, line)
        else:
            _write_all(fd, line)
            os.fdatasync(fd)
    except OSError as e:
        raise AuditUnwritable(f"cannot write the audit log {path}: {e.strerror}; "
                              "free space or make it writable") from None
    finally:
        os.close(fd)  # closing releases the lock
    if export:
        from .auditexport import send
        send(export, rec, path)
    return rec


def _now(t: float) -> str:
    import time
    frac = f"{t % 1:.6f}"[1:]
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + frac + "Z"


def read_records(path: str) -> list[dict[str, object]]:
    """Every record in one file, in file order (unparseable lines become {"_bad": text})."""
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
