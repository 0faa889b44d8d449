"""`gatectl run -- AGENT [ARGS]`: the agent in a new session and pty, with gatesh as its shell.

approval.md section 4.  The launcher makes itself a child subreaper (a `setsid -f` in the
agent's tree is re-parented here, not to init), forks the agent into a new session on a new pty
(so it holds no descriptor to the human's terminal), registers ITSELF as the session's root,
copies bytes between the human's terminal and the pty, and returns the agent's exit status
(128+n when a signal killed it).  Terminal and signal primitives live in `terminal`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
from collections.abc import Mapping, Sequence
from typing import NoReturn

from . import procinfo, sessions, terminal
from .pump import FORWARDED, Pump
from .errors import GateshError

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from .config import Config

__all__ = ["agent_environ", "gatesh_path", "prepare_shims", "run_agent"]



def gatesh_path() -> str:
    """The installed gatesh script: next to this interpreter, else on PATH."""
    cand = os.path.join(os.path.dirname(sys.executable), "gatesh")
    if os.path.isfile(cand) and os.access(cand, os.X_OK):
        return cand
    found = shutil.which("gatesh")
    if found:
        return os.path.abspath(found)
    raise GateshError("gatesh is not installed next to gatectl or on PATH; "
                      "install gatesh (pip install gatesh) and run gatectl run again")


def prepare_shims(runtime_dir: str, gatesh: str) -> str:
    """runtime_dir/shims (0700) holding `bash` as a link to gatesh; returns the directory."""
    shim_dir = os.path.join(runtime_dir, "shims")
    for d in (runtime_dir, shim_dir):
        os.makedirs(d, mode=0o700, exist_ok=True)
        os.chmod(d, 0o700)
    link, tmp = os.path.join(shim_dir, "bash"), os.path.join(shim_dir, f".bash.{os.getpid()}")
    with contextlib.suppress(OSError):
        if os.readlink(link) == gatesh:
            return shim_dir
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
    os.symlink(gatesh, tmp)
    os.replace(tmp, link)  # atomic: a concurrent launcher never sees no bash
    return shim_dir


def agent_environ(env: Mapping[bytes, bytes], shim_dir: str) -> dict[bytes, bytes]:
    """env with SHELL and CLAUDE_CODE_SHELL set to the shim and the shim directory first on PATH."""
    shim, bash = os.fsencode(shim_dir), os.fsencode(os.path.join(shim_dir, "bash"))
    rest = [p for p in env.get(b"PATH", b"/usr/local/bin:/usr/bin:/bin").split(b":")
            if p and p != shim]
    return {**env, b"PATH": b":".join([shim, *rest]), b"SHELL": bash, b"CLAUDE_CODE_SHELL": bash}


def _caller_environ() -> dict[bytes, bytes]:
    """gatectl's environment as its caller gave it (without Python's locale coercion)."""
    from .execute import original_environ

    env: dict[bytes, bytes] = {}
    for key, sep, value in (entry.partition(b"=") for entry in original_environ()):
        if sep and key:
            env.setdefault(key, value)
    return env


def _exec_agent(argv: Sequence[str], env: Mapping[bytes, bytes], go_r: int, err_w: int,
                parent_ends: tuple[int, int]) -> NoReturn:
    """In the forked child: wait until registered, close inherited fds, exec; report failure."""
    try:
        for fd in parent_ends:  # else the go pipe never reads EOF when the launcher gives up
            os.close(fd)
        if os.read(go_r, 1) != b"g":
            os._exit(127)  # the launcher gave up before the agent started
        os.close(go_r)
        os.closerange(3, err_w)
        os.closerange(err_w + 1, 1 << 20)  # nothing of the human's terminal beyond the pty
        terminal.default_signals_for_exec()
        os.execvpe(argv[0], list(argv), env)
    except BaseException as e:  # the child must never return into the launcher's code
        with contextlib.suppress(BaseException):
            os.write(err_w, (getattr(e, "strerror", None) or str(e)).encode(errors="replace"))
    os._exit(127)


def _outer_fds() -> tuple[int | None, int | None]:
    """(input fd, terminal fd for raw mode and window size) of the human's side."""
    in_fd: int | None = 0
    try:
        os.fstat(0)
    except OSError:  # started with stdin closed
        in_fd = None
    return in_fd, next((fd for fd in (0, 1, 2) if os.isatty(fd)), None)


def run_agent(cfg: Config, argv: list[str]) -> int:
    """Run argv as the agent under gatesh; its exit status, or 128+n when signal n killed it."""
    runtime_dir = cfg.runtime_dir
    try:
        shim_dir = prepare_shims(runtime_dir, gatesh_path())
    except OSError as e:
        raise _unwritable(runtime_dir, e) from e
    env = agent_environ(_caller_environ(), shim_dir)
    procinfo.set_child_subreaper()
    in_fd, tty_fd = _outer_fds()
    size = terminal.get_winsize(tty_fd) if tty_fd is not None else None
    go_r, go_w = os.pipe()
    err_r, err_w = os.pipe()
    agent, master, rdev = terminal.fork_pty(size)
    if agent == 0:
        _exec_agent(argv, env, go_r, err_w, (go_w, err_r))
    os.close(go_r)
    os.close(err_w)
    session = None
    try:
        try:  # registered BEFORE the agent runs: its first child already has a registered root
            session = sessions.register(runtime_dir, os.getpid(), agent,
                                        procinfo.tty_nr_of(rdev), argv)
            os.write(go_w, b"g")
        except OSError as e:
            raise _unwritable(runtime_dir, e) from e
        finally:
            os.close(go_w)
        with os.fdopen(err_r, "rb") as f:
            err_r = -1
            failure = f.read().decode(errors="replace")
        if failure:
            os.waitpid(agent, 0)
            raise GateshError(f"cannot run {argv[0]!r}: {failure}; "
                              "check the command name and PATH")
        raw = terminal.raw_terminal(0) if tty_fd == 0 else contextlib.nullcontext()
        with terminal.SignalPipe((signal.SIGCHLD, signal.SIGWINCH), FORWARDED) as sig, raw:
            return Pump(agent, master, in_fd, tty_fd, sig).run()
    finally:
        if err_r >= 0:
            os.close(err_r)
        if session is None:  # the agent never started: it exits on the closed go pipe
            with contextlib.suppress(ChildProcessError):
                os.waitpid(agent, 0)
        else:
            sessions.unregister(session)
        os.close(master)


def _unwritable(runtime_dir: str, e: OSError) -> GateshError:
    return GateshError(f"cannot write {runtime_dir} ({e.strerror or e}); "
                       "make $XDG_RUNTIME_DIR a directory of yours and run gatectl run again")
