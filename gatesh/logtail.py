"""Following the audit log: new records as they are appended, across rotations."""

from __future__ import annotations

import os

__all__ = ["Tail", "between"]

Rec = dict[str, object]  # one audit record, as read


class Tail:
    """New lines of the current log file; follows it across rotation (a new inode at path)."""

    def __init__(self, path: str) -> None:
        self.path, self.fd, self.ino, self.buf = path, -1, (0, 0), b""
        self._open()

    def _open(self) -> None:
        try:
            self.fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return
        st = os.fstat(self.fd)
        self.ino, self.buf = (st.st_dev, st.st_ino), b""

    def _drain(self) -> list[Rec]:
        import json
        while self.fd >= 0:
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                break
            self.buf += chunk
        *lines, self.buf = self.buf.split(b"\n")
        out: list[Rec] = []
        for raw in filter(None, lines):
            try:
                out.append(json.loads(raw))
            except ValueError:
                out.append({"_bad": raw.decode("utf-8", "replace")})
        return out

    def poll(self) -> list[Rec]:
        """Records appended since the last poll, across rotations if there were any."""
        out = self._drain()
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return out
        if (st.st_dev, st.st_ino) == self.ino:
            return out
        out += self._drain()  # the rest of the old file: nothing is added once it moved
        old = self.ino
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        self._open()  # first, so that no file can rotate past us unseen
        return out + between(self.path, old, self.ino) + self._drain()


def between(path: str, old: tuple[int, int], new: tuple[int, int]) -> list[Rec]:
    """The records of the log's files after the file `old` (all when old is (0, 0)) but
    not the file `new`, oldest first: what rotated past a follower, or the whole log."""
    from .audit import log_files, read_records
    out: list[Rec] = []
    seen = old == (0, 0)
    for name in log_files(path):
        try:
            st = os.stat(name)
        except OSError:
            continue
        ino = (st.st_dev, st.st_ino)
        if seen and ino != new:
            out += read_records(name)
        seen = seen or ino == old
    return out
