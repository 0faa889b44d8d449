"""Hand the process over to the real bash, exactly as the caller started gatesh.

`exec_bash` replaces gatesh with bash (same pid, process group, fds, cwd), passing argv as
gatesh received it (argv[0] included, so `$0`, `$BASH` and bash's error-message prefix
come from it as they would for bash) and the caller's environment byte for byte, after
undoing what the Python interpreter changed: signal dispositions (via `terminal`) and
PEP 538 locale coercion.  (Behind a `#!` launcher the kernel has already put the launcher's
path in argv[0]: a caller's `-bash` cannot survive that hop.)
"""

from __future__ import annotations

import os
import sys

__all__ = ["exec_bash", "original_environ", "isolate", "restore_caller_environ"]

_COERCED = ("C.UTF-8", "C.utf8", "UTF-8")


def _proc_environ() -> list[bytes] | None:
    """The environment the kernel gave this process, untouched by setenv(3)."""
    try:
        with open("/proc/self/environ", "rb") as f:
            data = f.read()
    except OSError:
        return None
    if not data:
        return []
    if data.endswith(b"\0"):
        data = data[:-1]
    return data.split(b"\0")


def _fallback_environ() -> list[bytes]:
    """os.environb without the LC_CTYPE that PEP 538 coercion may have added."""
    env = dict(os.environb)
    lc_ctype = env.get(b"LC_CTYPE")
    if lc_ctype is not None and lc_ctype.decode("ascii", "replace") in _COERCED \
            and not env.get(b"LC_ALL") and env.get(b"LANG", b"C") in (b"", b"C", b"POSIX"):
        del env[b"LC_CTYPE"]
    return [k + b"=" + v for k, v in env.items()]


_CALLER: list[list[bytes]] = []     # the caller's environment, carried across isolate()
_CARRIER = "GATESH_ENVIRON"
_BOOT = "import sys; sys.argv = sys.argv[1:]; from gatesh.shell import main; sys.exit(main())"


def _foreign(key: bytes) -> bool:
    """Variables that change how the Python interpreter or the dynamic loader behave."""
    return key.startswith((b"PYTHON", b"LD_"))


def isolate(argv: list[str]) -> None:
    """Re-execute gatesh under `python -I` without PYTHON* and LD_* in its own environment
    when the caller set any (approval.md 5.4); returns only when nothing needs doing.

    The caller's environment travels, byte for byte and in order, in one variable that the
    isolated gatesh removes again before it reviews the command or execs bash."""
    if sys.flags.isolated or not any(_foreign(k) for k in os.environb):
        return
    entries = original_environ()
    env = {k: v for k, v in os.environb.items() if not _foreign(k)}
    env[_CARRIER.encode()] = b"\0".join(entries).hex().encode()
    os.execve(sys.executable, [sys.executable, "-I", "-c", _BOOT, *argv], env)


def restore_caller_environ() -> None:
    """In the isolated gatesh: put the caller's environment back in place."""
    blob = os.environ.pop(_CARRIER, None)
    if blob is None or not sys.flags.isolated:
        return
    data = bytes.fromhex(blob)
    entries = data.split(b"\0") if data else []
    _CALLER[:] = [entries]
    for k in list(os.environb):
        del os.environb[k]
    for entry in entries:
        k, sep, v = entry.partition(b"=")
        if sep and k and k not in os.environb:
            os.environb[k] = v


def original_environ() -> list[bytes]:
    """The caller's environment as `NAME=value` byte strings, in the caller's order."""
    if _CALLER:
        return list(_CALLER[0])
    entries = _proc_environ()
    return _fallback_environ() if entries is None else entries


def _as_mapping(entries: list[bytes]) -> dict[bytes, bytes] | None:
    """A mapping os.execve accepts, or None when it would change the environment."""
    env: dict[bytes, bytes] = {}
    for entry in entries:
        key, sep, value = entry.partition(b"=")
        if not sep or not key or key in env:
            return None
        env[key] = value
    return env


def _execve_raw(path: bytes, argv: list[bytes], entries: list[bytes]) -> None:
    """execve(2) with an environment os.execve cannot express (duplicates, no '=')."""
    import ctypes  # rare path: keep it off the start-up path

    libc = ctypes.CDLL(None, use_errno=True)
    c_argv = (ctypes.c_char_p * (len(argv) + 1))(*argv, None)
    c_envp = (ctypes.c_char_p * (len(entries) + 1))(*entries, None)
    libc.execve(path, c_argv, c_envp)
    err = ctypes.get_errno()
    raise OSError(err, os.strerror(err), os.fsdecode(path))


def exec_bash(bash_path: str, argv: list[str]) -> None:
    """Replace this process with bash; returns only by raising OSError."""
    from . import terminal

    entries = original_environ()
    args = [os.fsencode(a) for a in argv]
    path = os.fsencode(bash_path)
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()
    terminal.default_signals_for_exec()
    env = _as_mapping(entries)
    if env is None:
        _execve_raw(path, args, entries)
    else:
        os.execve(path, args, env)
