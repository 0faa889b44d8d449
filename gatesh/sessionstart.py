"""Starting the real bash of an interactive session: its command line, environment and pipes.

bash reads shell-hooks/bashrc instead of its usual start-up files; that file runs the start-up
the caller's options asked for (login profile, --rcfile F, ~/.bashrc, --norc) and then adds
the prompt mark.  Everything else on the caller's command line reaches bash unchanged.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping

from .bashargs import _LONG_FLAGS, _LONG_WITH_ARG
from .errors import GateshError

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from .config import Config

__all__ = ["Inner", "hooks_path", "inner_command", "run", "session_environ"]



def _quote(s: str) -> str:
    return "'" + s.replace("'", "'\\''") + "'"


class Inner:
    """What to exec in the pty: argv for bash, and what the hooks file must do first."""

    __slots__ = ("argv", "startup", "rcfile")

    def __init__(self, argv: list[str], startup: str, rcfile: str) -> None:
        self.argv, self.startup, self.rcfile = argv, startup, rcfile


def hooks_path() -> str:
    """shell-hooks/bashrc, installed inside the package (a link to the checkout's copy)."""
    here = os.path.dirname(os.path.abspath(__file__))
    cand = os.path.join(here, "shell-hooks", "bashrc")   # a link to ../shell-hooks in a checkout
    if os.path.isfile(cand):
        return os.path.realpath(cand)
    from .errors import GateshError
    raise GateshError("gatesh's shell-hooks/bashrc is missing; reinstall gatesh")


def inner_command(argv: list[str], hooks: str) -> Inner:
    """bash's argv for the session.

    Normally `--rcfile HOOKS` takes the place of the caller's --rcfile/--init-file (bash still
    reads /etc/bash.bashrc first; HOOKS then reads the caller's file or ~/.bashrc).  A login
    shell or --norc reads no rcfile: bash gets the caller's options unchanged and the hooks
    come in through PROMPT_COMMAND on the first prompt (startup "inject").
    """
    login = argv[0].startswith("-")
    norc = False
    rcfile = ""
    keep: list[str] = []
    args = argv[1:]
    i = 0
    while i < len(args):
        word = args[i]
        if word.startswith("--") and len(word) > 2:
            name = word[2:]
        elif word[:1] == "-" and (word[1:] in _LONG_FLAGS or word[1:] in _LONG_WITH_ARG):
            name = word[1:]   # bash takes long options with one dash too (-login)
        else:
            break
        if name in _LONG_WITH_ARG and i + 1 < len(args):
            rcfile = args[i + 1]
            i += 2
            continue
        login |= name == "login"
        norc |= name == "norc"
        keep.append(word)
        i += 1
    rest = args[i:]
    for word in rest:
        if word[:1] != "-" or word in ("-", "--"):
            break
        login |= "l" in word[1:] and not word.startswith("-o")
    if login or norc:
        return Inner([argv[0], *keep, *rest], "inject", rcfile)
    return Inner([argv[0], "--rcfile", hooks, *keep, *rest], "rc", rcfile)


def session_environ(env: Mapping[str, str], inner: Inner, fds: tuple[int, int],
                    shim_dir: str | None, gatesh: str | None) -> dict[str, str]:
    """The caller's environment, plus the hooks' instructions and (when known) gatesh as
    SHELL and `bash` on PATH, so nested shells stay gated."""
    out = dict(env)
    out["GATESH_HOOK_FDS"] = f"{fds[0]} {fds[1]}"
    out["GATESH_STARTUP"] = inner.startup
    if inner.startup == "inject":   # no rcfile is read: the first prompt reads the hooks
        if "PROMPT_COMMAND" in out:
            out["GATESH_SAVED_PC"] = out["PROMPT_COMMAND"]
        out["PROMPT_COMMAND"] = f". {_quote(hooks_path())}"
    if inner.rcfile:
        out["GATESH_RCFILE"] = inner.rcfile
    if shim_dir:
        path = out.get("PATH", "")
        parts = [p for p in path.split(os.pathsep) if p and p != shim_dir]
        out["PATH"] = os.pathsep.join([shim_dir, *parts])
    if gatesh:
        out["SHELL"] = gatesh
    return out


# fd numbers the hooks file reads its pipes from: high, so scripts' own 3-9 stay free
_HOOK_W, _HOOK_R = 248, 249


def run(cfg: Config, argv: list[str]) -> int:
    """An interactive session: bash in a pty, gated line by line; bash's exit status."""
    import signal
    from . import terminal
    from .session import Session
    inner = inner_command(argv, hooks_path())
    shim_dir = gatesh = None
    try:
        from .launcher import gatesh_path, prepare_shims
        gatesh = gatesh_path()
        shim_dir = prepare_shims(cfg.runtime_dir, gatesh)
    except (OSError, GateshError):
        shim_dir = None   # nested shells are still gated when the agent's PATH has the shim
    env = session_environ(os.environ, inner, (_HOOK_W, _HOOK_R), shim_dir, gatesh)
    tty = next((fd for fd in (0, 1, 2) if os.isatty(fd)), None)
    size = terminal.get_winsize(tty) if tty is not None else None
    to_gatesh_r, to_gatesh_w = os.pipe()
    to_bash_r, to_bash_w = os.pipe()
    in_tty = os.isatty(0)
    pid, master, slave = terminal.fork_session_pty(size, 0 if in_tty else None)
    if pid == 0:
        try:
            os.dup2(to_gatesh_w, _HOOK_W)
            os.dup2(to_bash_r, _HOOK_R)
            terminal.default_signals_for_exec()
            os.execve(cfg.bash, inner.argv, env)
        except BaseException as e:
            os.write(2, f"gatesh: cannot run {cfg.bash}: {e}\n".encode())
        os._exit(127)
    os.close(to_gatesh_w)
    os.close(to_bash_r)
    with terminal.SignalPipe(always=(signal.SIGCHLD, signal.SIGWINCH),
                             unless_ignored=(signal.SIGTERM, signal.SIGHUP, signal.SIGINT,
                                             signal.SIGQUIT)) as sig, \
            terminal.raw_terminal(0, keep_input=True) if in_tty else contextlib.nullcontext():
        s = Session(cfg, pid, master, slave, to_gatesh_r, to_bash_w, 0,
                    0 if in_tty else tty, sig, inner.argv[0])
        _warm_gate(cfg)   # while bash reads its start-up files: the first command is quick
        return s.run()


def _warm_gate(cfg: Config) -> None:
    """Load the parser and the rules once, now, rather than when the first command waits."""
    try:
        from .gate import Request, review
        review(Request(command="true", cwd=os.getcwd(), origin="session", env=os.environ), cfg)
    except Exception:  # noqa: BLE001 - only a head start; the real review fails closed itself
        pass
