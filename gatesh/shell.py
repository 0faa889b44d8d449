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

from .bashargs import (COMMAND, HELP, SCRIPT, STDIN, USAGE, VERSION, WORDEXP, CommandLine,
                       parse_argv)
from .scriptsrc import Blocked as _Blocked, StdinSession as _StdinSession, Unsupported as _Unsupported
from .scriptsrc import script_text, stdin_text

__all__ = ["main", "parse_argv", "CommandLine", "COMMAND", "HELP", "SCRIPT", "STDIN", "USAGE",
           "VERSION", "WORDEXP"]


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


def _params(inv: CommandLine, argv0: str) -> tuple[str, ...]:
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
        signum = getattr(decision.approval, "signum", 0)
        return 128 + signum if signum else 126
    if decision.reason == "approved":   # bash takes this pid: its nested shells ask no more
        from .approvals import grant
        grant(cfg.runtime_dir, os.getpid(), getattr(decision.approval, "request_id", ""))
    return None


def _interactive(inv: CommandLine) -> bool:
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
                from .sessionstart import run as run_session
                return run_session(_load_config(), list(argv))
            try:
                text = stdin_text()
            except _StdinSession as e:
                from .stdinsession import run as run_stdin
                return run_stdin(_load_config(), list(argv), e.data)
            origin = "script"
            passthrough = text is None
        elif inv.kind == SCRIPT:
            text = script_text(inv)
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
    entry = argv is None   # started as a program, not called from Python (tests)
    argv = sys.argv if argv is None else argv
    try:
        from .execute import isolate, restore_caller_environ
        if entry:
            isolate(list(argv))
            restore_caller_environ()
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
