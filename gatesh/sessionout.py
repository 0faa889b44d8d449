"""bash's output in an interactive session: copied to the agent's terminal by a thread.

A thread that blocks in read() on the pty and writes each chunk straight on keeps up with bash
(measured: a select loop spent 60% more CPU per megabyte, and gathering chunks into larger
writes, with FIONREAD to see whether more was waiting, cost about 8% of the throughput).
Everything else the session writes (its echo of held typing, block messages) goes through the
same lock, so the order on the terminal is the order of events.  Two things bend the copy:
while bash echoes the `__gatesh_blocked` stand-in, output is held (the session takes it and
removes the echo), and bash's echo of a line the session already echoed is dropped.
"""

from __future__ import annotations

import os
import threading
import time

from . import terminal

__all__ = ["Output"]


class Output:
    """The copy thread and what it shares with the session's loop (under .lock)."""

    def __init__(self, master: int, out_fd: int | None) -> None:
        self.master, self.out_fd = master, out_fd
        self.lock = threading.Lock()
        self.held: bytearray | None = None
        self.expect = bytearray()
        self.closed = False
        self.count = 0   # chunks copied: finish() waits for it to stand still
        self.wake_r, self._wake_w = os.pipe()   # EOF on wake_r: bash's side of the pty is gone
        self._thread = threading.Thread(target=self._copy, name="gatesh-output", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _copy(self) -> None:
        read, write, master = os.read, os.write, self.master
        while True:
            try:
                data = read(master, 65536)
            except OSError:   # EIO: every slave descriptor is closed (Linux's EOF)
                data = b""
            if not data:
                break
            self.count += 1
            # Nothing held or expected (the session sets either before bash can produce the
            # output concerned): straight on, without the lock.
            if self.held is None and not self.expect and self.out_fd is not None:
                try:
                    n = write(self.out_fd, data)
                    if n == len(data):
                        continue
                    data = data[n:]
                except BlockingIOError:
                    pass
                except OSError:
                    self.out_fd = None
                    continue
            with self.lock:
                self._route(data)
        self.closed = True
        os.close(self._wake_w)

    def _route(self, data: bytes) -> None:
        if self.held is not None:
            self.held += data
            return
        if self.expect:
            data = self._strip(data)
        self._write(self.out_fd, data)

    def _write(self, fd: int | None, data: bytes) -> None:
        view = memoryview(data)
        while view and fd is not None:
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:
                import select
                select.select([], [fd], [])
            except OSError:   # the agent's side is gone: keep draining bash's output
                if fd == self.out_fd:
                    self.out_fd = None
                return

    def _strip(self, data: bytes) -> bytes:
        """bash's echo of a line already echoed by the session, taken out; at the first byte
        that is not that echo (a wrapped long line) the rest is shown as it comes."""
        out = bytearray()
        i, want = 0, self.expect
        while i < len(data) and want:
            if data[i] == want[0]:
                del want[:1]
                i += 1
            elif data[i] == 0x1b:                  # readline's mode switches pass through
                j = _escape_end(data, i)
                out += data[i:j]
                i = j
            else:
                want.clear()
        out += data[i:]
        return bytes(out)

    # --- the session's side ---------------------------------------------------------

    def show(self, data: bytes, fd: int | None = None) -> None:
        """The session's own output (echo, messages), in order with bash's."""
        with self.lock:
            self._write(self.out_fd if fd is None else fd, data)

    def expect_echo(self, data: bytes) -> None:
        with self.lock:
            self.expect += data

    def clear_expect(self) -> None:
        with self.lock:
            self.expect.clear()

    def hold(self) -> None:
        with self.lock:
            self.held = bytearray()

    def holding(self) -> bool:
        return self.held is not None

    def settle(self, marker: bytes, limit: float = 1.0) -> None:
        """Wait until marker has come through into the held output: bash printed it after
        everything the session needs to see (a pty delivers bytes a moment after they
        were written, so the kernel's counts cannot tell)."""
        deadline = time.monotonic() + limit
        while not self.closed and time.monotonic() < deadline:
            with self.lock:
                if self.held is None or marker in self.held:
                    return
            time.sleep(0.0005)

    def take_held(self) -> bytearray:
        with self.lock:
            held, self.held = self.held, None
        return held if held is not None else bytearray()

    def finish(self, quiet: float = 0.1, limit: float = 1.0) -> None:
        """After bash exits: its last output, until EOF, a quiet spell or a deadline
        (an orphan may hold the pty open)."""
        deadline = time.monotonic() + limit
        seen, since = -1, time.monotonic()
        while not self.closed and time.monotonic() < deadline:
            if self.count != seen or terminal.output_waiting(self.master):
                seen, since = self.count, time.monotonic()
            elif time.monotonic() - since > quiet:
                break
            time.sleep(0.01)
        held = self.take_held()
        if held:
            self.show(bytes(held))


def _escape_end(data: bytes, i: int) -> int:
    if data[i + 1:i + 2] == b"[":
        j = i + 2
        while j < len(data) and not 0x40 <= data[j] <= 0x7e:
            j += 1
        return min(j + 1, len(data))
    return min(i + 2, len(data))
