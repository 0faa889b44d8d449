"""The text bash would run: a script file (found as bash finds it) or a script on stdin.

What it reads it hands back unchanged: a script on a pipe is put back on the same fd in a
fresh pipe, so bash sees exactly the bytes it would have seen.
"""

from __future__ import annotations

import os

from .bashargs import CommandLine

__all__ = ["Blocked", "StdinSession", "Unsupported", "read_to_end", "script_text", "stdin_text"]

_DEFAULT_PATH = "/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin:."
# A script on a pipe is read to its end before it is gated.  A script file on a pipe
# (`bash <(cmd)`) may take this long between writes; longer, or larger than _PIPE_MAX, is
# refused.  stdin that goes quiet for _SESSION_IDLE_S before its end is a session instead
# (a harness writing commands as it goes: stdinsession).
_PIPE_IDLE_S = 5.0
_SESSION_IDLE_S = 0.25
_PIPE_MAX = 16 << 20


class Blocked(Exception):
    """Raised before the exec: print the BLOCKED message and exit 126."""

    def __init__(self, reason: str, code: str, status: int = 126) -> None:
        super().__init__(reason)
        self.reason, self.code, self.status = reason, code, status


class StdinSession(Exception):
    """stdin is a pipe that stays open: gate commands as they arrive (stdinsession)."""

    def __init__(self, data: bytes) -> None:
        super().__init__("stdin session")
        self.data = data


class Unsupported(Exception):
    """A session gatesh cannot check ahead of bash: exit 2, run nothing."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


# --- what bash would read ------------------------------------------------------------


def _path_dirs(posix: bool) -> list[str]:
    path = os.environ.get("PATH")
    if path is None:
        path = _DEFAULT_PATH                      # bash sets this when PATH is unset
    out = []
    for d in path.split(":"):
        d = d or "."
        if d.startswith("~") and not posix:
            d = os.path.expanduser(d)
        out.append(d)
    return out


def _readable(path: str) -> bool:
    """bash's file_status() & FS_READABLE: exists, not a directory, eaccess(R_OK)."""
    import stat

    try:
        st = os.stat(path)
    except OSError:
        return False
    if stat.S_ISDIR(st.st_mode):
        return False
    if os.access in os.supports_effective_ids:
        return os.access(path, os.R_OK, effective_ids=True)
    return os.access(path, os.R_OK)


def _open_script(name: str, posix: bool) -> tuple[int, str] | None:
    """Open the file `bash NAME` would open: NAME, else the first readable NAME in PATH."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC   # O_NONBLOCK: a FIFO must not hang
    try:
        return os.open(name, flags), name
    except FileNotFoundError:
        if "/" in name or os.environ.get("PATH") == "":
            return None
    except OSError:
        return None
    for d in _path_dirs(posix):
        cand = os.path.join(d, name)
        if _readable(cand):
            try:
                return os.open(cand, flags), cand
            except OSError:
                return None
    return None


def _read_file(fd: int) -> bytes:
    chunks: list[bytes] = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def read_to_end(fd: int, idle_s: float) -> tuple[bytes, bool]:
    """(bytes read, True at the pipe's end); False when it stayed quiet for idle_s or grew
    past _PIPE_MAX first."""
    import select

    poller = select.poll()
    poller.register(fd, select.POLLIN)
    chunks: list[bytes] = []
    size = 0
    while True:
        if not poller.poll(int(idle_s * 1000)):
            return b"".join(chunks), False
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:                   # the caller's O_NONBLOCK: poll again
            continue
        if not chunk:
            return b"".join(chunks), True
        chunks.append(chunk)
        size += len(chunk)
        if size > _PIPE_MAX:
            return b"".join(chunks), False


def _read_pipe(fd: int, what: str) -> bytes:
    """Everything up to EOF; Unsupported when the pipe stays open and quiet, or is huge."""
    data, ended = read_to_end(fd, _PIPE_IDLE_S)
    if ended:
        return data
    if len(data) > _PIPE_MAX:
        raise Unsupported(f"{what} over {_PIPE_MAX >> 20} MiB on a pipe are")
    raise Unsupported(f"{what} (a pipe that stays open: no end of input within "
                      f"{_PIPE_IDLE_S:g} s) are")


def _first_line_has_nul(data: bytes) -> bool:
    """bash refuses a script with a NUL before the first newline (check_binary_file)."""
    sample = data[:80]
    end = sample.find(b"\n")
    return b"\0" in (sample if end < 0 else sample[:end])


def _fd_of_path(path: str) -> int | None:
    """N when path names this process's own fd N (/dev/fd/N, /proc/self/fd/N, /dev/stdin)."""
    if path == "/dev/stdin":
        return 0
    for prefix in ("/dev/fd/", "/proc/self/fd/", f"/proc/{os.getpid()}/fd/"):
        if path.startswith(prefix) and path[len(prefix):].isdigit():
            return int(path[len(prefix):])
    return None


def _is_dev_null(st: os.stat_result) -> bool:
    import stat

    try:
        return stat.S_ISCHR(st.st_mode) and st.st_rdev == os.stat("/dev/null").st_rdev
    except OSError:
        return False


def script_text(inv: CommandLine) -> str | None:
    """The script bash would run, or None when bash will refuse it and say why itself."""
    import stat

    opened = _open_script(inv.script, inv.posix)
    if opened is None:
        return None                               # bash reports "No such file..." (127/126)
    fd, path = opened
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode) or _is_dev_null(st):
            return None                           # "Is a directory" / nothing to run
        if stat.S_ISREG(st.st_mode):
            data = _read_file(fd)
            return None if _first_line_has_nul(data) else os.fsdecode(data)
        own = _fd_of_path(path)
        if stat.S_ISFIFO(st.st_mode) and own is not None:
            # `bash <(...)`: reading the pipe consumes it, so bash gets the same bytes
            # back through the same fd number, in a new pipe holding exactly what was gated.
            data = _read_pipe(fd, "scripts read from a pipe")
            _refill_fd(own, data)
            return os.fsdecode(data)
        raise Blocked(f"the script {path} is not a regular file; gatesh can only check "
                       "scripts it can read in full before they run", "unsupported")
    finally:
        os.close(fd)


def _refill_fd(fd: int, data: bytes) -> None:
    """Put the bytes read from a pipe back behind fd, in a fresh pipe closed after them.

    A pipe again, not a file: programs that read stdin (head, read) act differently on a
    seekable file, and the script must see what it would have seen under bash.
    """
    r, w = os.pipe()
    try:
        os.set_blocking(w, False)
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(w, view):]
        except BlockingIOError:                   # more than the pipe holds: a writer
            _spawn_writer(w, view)
        os.dup2(r, fd, inheritable=True)
    finally:
        os.close(r)
        os.close(w)


def _spawn_writer(w: int, rest: memoryview) -> None:
    """Feed rest into w from a detached grandchild that holds no other fd of ours."""
    pid = os.fork()
    if pid == 0:                                  # child: fork the writer, exit at once
        try:
            if os.fork() == 0:
                os.closerange(0, w)
                os.closerange(w + 1, os.sysconf("SC_OPEN_MAX"))
                os.set_blocking(w, True)
                view = rest
                while view:
                    view = view[os.write(w, view):]
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def stdin_text() -> str | None:
    """Commands bash would read from a redirected stdin; None when there are none.

    A regular file is read with pread from its current offset, so nothing is consumed.
    A pipe that ends at once is read to EOF and its bytes put back on fd 0 in a new pipe; one
    that stays open raises StdinSession.  A terminal is an interactive session (session.py).
    """
    import stat

    try:
        st = os.fstat(0)
    except OSError:
        return None                               # stdin closed: bash reads nothing
    if _is_dev_null(st):
        return None
    if os.isatty(0):
        raise Unsupported("interactive sessions (commands typed on a terminal) are")
    if stat.S_ISFIFO(st.st_mode) or stat.S_ISSOCK(st.st_mode):   # libuv hands out sockets
        data, ended = read_to_end(0, _SESSION_IDLE_S)
        if not ended:
            raise StdinSession(data)   # the pipe stays open: commands arrive as they are written
        _refill_fd(0, data)
        return os.fsdecode(data)
    if not stat.S_ISREG(st.st_mode):
        raise Unsupported("commands read from a device on stdin are")
    start = os.lseek(0, 0, os.SEEK_CUR)
    chunks: list[bytes] = []
    while True:
        chunk = os.pread(0, 1 << 16, start)
        if not chunk:
            return os.fsdecode(b"".join(chunks))
        chunks.append(chunk)
        start += len(chunk)


# --- the gate and the exec -----------------------------------------------------------
