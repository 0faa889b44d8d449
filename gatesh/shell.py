"""gatesh: a drop-in bash that gates every command before the real bash runs it.

The command line is read exactly as bash 5 reads its own (shell.c: long options first,
then option clusters, then operands); gatesh has no options of its own.  What bash would
execute (the -c string, a script file, a script on a redirected stdin) goes through the
gate; an allowed command is handed to the real bash with the original argv by `execute`.
Command lines that never execute anything (--help, --version, -n, -D, a usage error) go
straight to bash.  Any failure before the exec blocks the command (exit 126): a crashing
gate never lets a command through.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False   # mypy reads this name; `typing` stays off the start-up path
if TYPE_CHECKING:
    from .config import Config

__all__ = ["main", "parse_argv", "Invocation"]

# bash's invocation options (shell.c long_args and parse_shell_options, flags.c
# shell_flags).  Long options bash builds only with some configure switches are listed
# too: if the real bash lacks one it stops with a usage error, so reading it as an option
# can only make gatesh gate something bash then refuses to run.
_LONG_FLAGS = frozenset((
    "debug", "debugger", "dump-po-strings", "dump-strings", "help", "login", "noediting",
    "noprofile", "norc", "posix", "pretty-print", "protected", "restricted",
    "rpm-requires", "verbose", "version", "wordexp",
))
_LONG_WITH_ARG = frozenset(("init-file", "rcfile"))
_SET_FLAGS = frozenset("abefhikmnprtuvxBCEHPT")   # the letters change_flag() accepts
_DEFAULT_PATH = "/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin:."
# A script on a pipe is read to EOF before it is gated.  A pipe that stays quiet this long
# without EOF is a session (the harness writes commands as it goes), which gatesh does not
# support yet; a script larger than this is not read ahead either.
_PIPE_IDLE_S = 5.0
_PIPE_MAX = 16 << 20

# What main() does for each kind of command line.
HELP, VERSION, USAGE = "help", "version", "usage"      # bash prints and exits
COMMAND, SCRIPT, STDIN, WORDEXP = "command", "script", "stdin", "wordexp"


class Invocation:
    """What bash would do with a command line: run a -c string, a script, or stdin."""

    __slots__ = ("kind", "command", "script", "operands", "interactive", "noexec", "posix")

    def __init__(self, kind: str, command: str = "", script: str = "",
                 operands: tuple[str, ...] = (), interactive: bool = False,
                 noexec: bool = False, posix: bool = False) -> None:
        self.kind = kind
        self.command = command          # the -c string
        self.script = script            # the script operand, as written
        self.operands = operands        # what follows: $0 $1 ... (-c) or $1 ... (script, stdin)
        self.interactive = interactive  # -i (bash may also turn it on for a terminal)
        self.noexec = noexec            # -n, -o noexec, -D, --dump-strings: nothing runs
        self.posix = posix

    def __repr__(self) -> str:
        return (f"Invocation({self.kind!r}, command={self.command!r}, script={self.script!r}, "
                f"operands={self.operands!r}, interactive={self.interactive}, "
                f"noexec={self.noexec})")


def parse_argv(args: list[str]) -> Invocation:
    """Read bash's command line (without argv[0]) as bash 5 does."""
    n = len(args)
    i = 0
    want_help = want_version = wordexp = dump = posix = False
    # Long options come first; bash also takes them with one dash (-login, -norc).
    while i < n and args[i].startswith("-"):
        word = args[i]
        longarg = word.startswith("--") and len(word) > 2
        name = word[2:] if longarg else word[1:]
        if name in _LONG_FLAGS:
            want_help |= name == "help"
            want_version |= name == "version"
            wordexp |= name == "wordexp"
            dump |= name in ("dump-strings", "dump-po-strings", "rpm-requires")
            posix |= name == "posix"
        elif name in _LONG_WITH_ARG:
            i += 1
            if i >= n:
                return Invocation(USAGE)          # "rcfile: option requires an argument"
        elif longarg:
            return Invocation(USAGE)              # "--foo: invalid option"
        else:
            break                                 # maybe an option cluster: -lc
        i += 1
    if want_help:
        return Invocation(HELP)
    if want_version:
        return Invocation(VERSION)

    want_c = read_stdin = interactive = noexec = False
    while i < n and args[i][:1] in ("-", "+"):
        word = args[i]
        nxt = i + 1
        if word in ("-", "--"):                   # end of options
            i = nxt
            break
        on = word[0] == "-"
        for ch in word[1:]:
            if ch == "c":                         # +c, +l, +s and +D turn them on too
                want_c = True
            elif ch in "ls":
                read_stdin |= ch == "s"
            elif ch == "D":
                dump = True
            elif ch in "oO":
                if nxt >= n:                      # bare -o / -O lists the options
                    continue
                opt = args[nxt]
                nxt += 1
                if ch == "o" and opt == "noexec":
                    noexec = on
                elif ch == "o" and opt == "posix":
                    posix = on
            elif ch in _SET_FLAGS:
                if ch == "i":
                    interactive = on
                elif ch == "n":
                    noexec = on
            else:
                return Invocation(USAGE)          # "-z: invalid option"
        i = nxt

    noexec = noexec or dump
    rest = tuple(args[i:])
    if want_c:
        if not rest:
            return Invocation(USAGE)              # "-c: option requires an argument"
        if wordexp:
            return Invocation(WORDEXP, operands=rest, interactive=interactive)
        return Invocation(COMMAND, command=rest[0], operands=rest[1:],
                          interactive=interactive, noexec=noexec, posix=posix)
    if wordexp:
        return Invocation(WORDEXP, operands=rest, interactive=interactive)
    if rest and not read_stdin:
        return Invocation(SCRIPT, script=rest[0], operands=rest[1:],
                          interactive=interactive, noexec=noexec, posix=posix)
    return Invocation(STDIN, operands=rest, interactive=interactive, noexec=noexec,
                      posix=posix)


# --- messages ------------------------------------------------------------------------


class _Blocked(Exception):
    """Raised before the exec: print the BLOCKED message and exit 126."""

    def __init__(self, reason: str, code: str, status: int = 126) -> None:
        super().__init__(reason)
        self.reason, self.code, self.status = reason, code, status


class _Unsupported(Exception):
    """A session gatesh cannot check ahead of bash: exit 2, run nothing."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "unknown error"


def _write_stderr(text: str) -> None:
    try:
        os.write(2, os.fsencode(text) if isinstance(text, str) else text)
    except OSError:
        pass


def _blocked(reason: str, code: str) -> str:
    return (f"gatesh: BLOCKED - the command was NOT executed: {_one_line(reason)}\n"
            f"gatesh: status=blocked reason={code}\n")


def _unsupported(what: str) -> int:
    _write_stderr(f"gatesh: {what} not supported yet; run commands with gatesh -c '...'\n")
    return 2


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


def _read_pipe(fd: int, what: str) -> bytes:
    """Everything up to EOF; _Unsupported when the pipe stays open and quiet, or is huge."""
    import select

    poller = select.poll()
    poller.register(fd, select.POLLIN)
    chunks: list[bytes] = []
    size = 0
    while True:
        if not poller.poll(int(_PIPE_IDLE_S * 1000)):
            raise _Unsupported(f"{what} (a pipe that stays open: no end of input within "
                               f"{_PIPE_IDLE_S:g} s) are")
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:                   # the caller's O_NONBLOCK: poll again
            continue
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > _PIPE_MAX:
            raise _Unsupported(f"{what} over {_PIPE_MAX >> 20} MiB on a pipe are")
        chunks.append(chunk)


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


def _script_text(inv: Invocation) -> str | None:
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
        raise _Blocked(f"the script {path} is not a regular file; gatesh can only check "
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


def _stdin_text() -> str | None:
    """Commands bash would read from a redirected stdin; None when there are none.

    A regular file is read with pread from its current offset, so nothing is consumed.
    A pipe is read to EOF and its bytes put back on fd 0 in a new pipe.  A terminal is an
    interactive session: not supported yet.
    """
    import stat

    try:
        st = os.fstat(0)
    except OSError:
        return None                               # stdin closed: bash reads nothing
    if _is_dev_null(st):
        return None
    if os.isatty(0):
        raise _Unsupported("interactive sessions (commands typed on a terminal) are")
    if stat.S_ISFIFO(st.st_mode) or stat.S_ISSOCK(st.st_mode):   # libuv hands out sockets
        data = _read_pipe(0, "stdin sessions")
        _refill_fd(0, data)
        return os.fsdecode(data)
    if not stat.S_ISREG(st.st_mode):
        raise _Unsupported("commands read from a device on stdin are")
    start = os.lseek(0, 0, os.SEEK_CUR)
    chunks: list[bytes] = []
    while True:
        chunk = os.pread(0, 1 << 16, start)
        if not chunk:
            return os.fsdecode(b"".join(chunks))
        chunks.append(chunk)
        start += len(chunk)


# --- the gate and the exec -----------------------------------------------------------


def _load_config() -> Config:
    from .config import load

    return load(os.environ)


def _cwd() -> str:
    try:
        return os.getcwd()
    except OSError:
        pwd = os.environ.get("PWD", "")
        if os.path.isabs(pwd):
            return pwd
        raise _Blocked("the current directory no longer exists; cd to a directory first",
                       "no_cwd") from None


def _params(inv: Invocation, argv0: str) -> tuple[str, ...]:
    """$0 $1 ... as bash will set them, so the gate can resolve "$1" like bash will."""
    if inv.kind == COMMAND:
        return inv.operands if inv.operands else (argv0,)
    if inv.kind == SCRIPT:
        return (inv.script,) + inv.operands
    return (argv0,) + inv.operands


def _gate(text: str, origin: str, cfg: Config, params: tuple[str, ...] = ()) -> int | None:
    """Run the gate; the exit status when blocked, None when the command may run."""
    from .gate import Request, block_message, enforce

    req = Request(command=text, cwd=_cwd(), origin=origin, env=os.environ, params=params)
    decision = enforce(req, cfg)
    if decision.blocked:
        _write_stderr(block_message(decision))
        return 126
    return None


def _interactive(inv: Invocation) -> bool:
    """bash's own test: -i, or no -c and no script, with stdin and stderr terminals."""
    if inv.interactive:
        return True
    return inv.kind == STDIN and os.isatty(0) and os.isatty(2)


def _run(argv: list[str]) -> int:
    inv = parse_argv(argv[1:])
    interactive = _interactive(inv)
    passthrough = inv.kind in (HELP, VERSION, USAGE) or (inv.noexec and not interactive)
    text: str | None = None
    origin = "c"
    if not passthrough:
        if inv.kind == WORDEXP:
            raise _Blocked("bash --wordexp is not supported by gatesh", "unsupported")
        if inv.kind == STDIN:
            if interactive:
                return _unsupported("interactive sessions (-i without -c) are" if inv.interactive
                                    else "interactive sessions (commands typed on a terminal) are")
            text = _stdin_text()
            origin = "script"
            passthrough = text is None
        elif inv.kind == SCRIPT:
            text = _script_text(inv)
            origin = "script"
            passthrough = text is None
        else:
            text = inv.command
    cfg = _load_config()
    if text is not None:
        status = _gate(text, origin, cfg, _params(inv, argv[0]))
        if status is not None:
            return status
    from .execute import exec_bash

    try:
        exec_bash(cfg.bash, argv)
    except OSError as e:
        raise _Blocked(f"cannot run {cfg.bash}: {e.strerror}", "exec_failed") from None
    raise _Blocked("exec returned", "exec_failed")   # pragma: no cover - execve never returns


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `gatesh` console script; returns only when nothing was executed."""
    argv = sys.argv if argv is None else argv
    try:
        return _run(list(argv))
    except _Blocked as e:
        _write_stderr(_blocked(e.reason, e.code))
        return e.status
    except _Unsupported as e:
        return _unsupported(e.what)
    except KeyboardInterrupt:
        _write_stderr(_blocked("interrupted before the command was checked", "interrupted"))
        return 130
    except Exception as e:  # noqa: BLE001 - the error boundary: fail closed (habit 14)
        from .errors import GateshError

        if isinstance(e, GateshError):
            _write_stderr(_blocked(str(e), e.reason))
        else:
            _write_stderr(_blocked(f"internal error in gatesh: {type(e).__name__}: {e}",
                                   "internal_error"))
        return 126
