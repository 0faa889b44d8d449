"""The throwaway world of `gatectl demo`: a temp dir with its own HOME, XDG dirs, config and
project, and the script the demo's agent follows in it.

Nothing here touches the user's own config, log, runtime dir or approver: every path the
gate and the console use is inside the temp dir, and the destructive commands of the script
name only paths under its HOME.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import GateshError

__all__ = ["PROJECT", "Step", "World", "make_world", "remove_world", "script"]

PROJECT = "myapp"              # the project's directory name under the throwaway HOME
APPROVAL_TIMEOUT_S = 120       # time for a first-time watcher to read the request


@dataclass(frozen=True)
class Step:
    """One command of the scripted agent and what the watcher is told about it."""

    command: str
    note: str                  # why it is in the demo, shown beside it
    asks: bool = False         # the one a human decides


@dataclass(frozen=True)
class World:
    root: str                  # the temp dir; everything below is removed at the end
    home: str
    project: str
    env: dict[str, str]        # what the agent and its gates run with
    audit_path: str


def script(have_git: bool) -> tuple[Step, ...]:
    """The agent's commands: ordinary work, a cleanup that flows, one refused, one asked."""
    steps = [
        Step("ls", "look around"),
        Step("git status --short", "read-only git") if have_git else None,
        Step("grep -rn TODO src", "search the code"),
        Step("python3 -c 'print(6 * 7)'", "python -c code is read too"),
        Step("rm -rf node_modules", "a folder the project can rebuild"),
        Step("rm -rf ~/.config/gatesh", "switch the gate off: a rule refuses it"),
        Step(f"rm -rf ~/{PROJECT}", "delete the whole project: a human decides", asks=True),
    ]
    return tuple(s for s in steps if s is not None)


_FILES = {
    "README.md": "# myapp\n\nA small app the demo agent works on.\n",
    "src/app.py": "def main() -> None:\n    # TODO: read the port from the config\n"
                  "    print('serving on :8080')\n",
    "src/util.py": "def slug(text: str) -> str:\n    return text.lower().replace(' ', '-')\n",
    "node_modules/left-pad/index.js": "module.exports = (s, n) => String(s).padStart(n);\n",
    ".gitignore": "node_modules/\n",
}
_UNCOMMITTED = {"notes.md": "Ideas not committed yet: a cache, a login page.\n"}
_DROPPED = ("GATESH_", "XDG_", "GIT_")
_SOCKET_PATH_MAX = 100


def _environ(root: str, home: str, caller: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment with every gatesh, XDG and git setting pointed inside root."""
    env = {k: v for k, v in caller.items() if not k.startswith(_DROPPED)}
    bin_dir = os.path.dirname(sys.executable)  # python3 for the script, as gatectl runs it
    path = caller.get("PATH") or "/usr/local/bin:/usr/bin:/bin"
    env.update({
        "HOME": home,
        "PATH": os.pathsep.join([bin_dir, path]),
        "XDG_CONFIG_HOME": os.path.join(home, ".config"),
        "XDG_STATE_HOME": os.path.join(home, ".local", "state"),
        "XDG_CACHE_HOME": os.path.join(home, ".cache"),
        "XDG_DATA_HOME": os.path.join(home, ".local", "share"),
        "XDG_RUNTIME_DIR": os.path.join(root, "run"),
        "GATESH_MODE": "enforce",
        "GIT_AUTHOR_NAME": "demo", "GIT_AUTHOR_EMAIL": "demo@example.invalid",
        "GIT_COMMITTER_NAME": "demo", "GIT_COMMITTER_EMAIL": "demo@example.invalid",
        "GIT_CONFIG_NOSYSTEM": "1",
    })
    return env


def _write(base: str, files: Mapping[str, str]) -> None:
    for rel, text in files.items():
        path = os.path.join(base, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)


def _git(project: str, env: Mapping[str, str], *args: str) -> None:
    subprocess.run(["git", *args], cwd=project, env=dict(env), check=True,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=30)


def _temp_base() -> str | None:
    """Where to make the temp dir: TMPDIR, or /tmp when the approval socket's path under
    TMPDIR would be too long for a Unix socket (about 108 bytes)."""
    sock = os.path.join(tempfile.gettempdir(), "gatesh-demo-xxxxxxxx", "run", "gatesh",
                        "approver.sock")
    return "/tmp" if len(os.fsencode(sock)) > _SOCKET_PATH_MAX and os.path.isdir("/tmp") else None


def make_world(bash: str, caller: Mapping[str, str]) -> World:
    """Create the temp dir, its HOME, config and project (a git repo when git is installed)."""
    try:
        root = os.path.realpath(tempfile.mkdtemp(prefix="gatesh-demo-", dir=_temp_base()))
    except OSError as e:
        raise GateshError(f"cannot create a temp directory ({e.strerror}); set TMPDIR to a "
                          "writable directory and run gatectl demo again") from None
    try:
        home = os.path.join(root, "home")
        project = os.path.join(home, PROJECT)
        env = _environ(root, home, caller)
        for key in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR"):
            os.makedirs(env[key], mode=0o700, exist_ok=True)
        conf_dir = os.path.join(env["XDG_CONFIG_HOME"], "gatesh")
        os.makedirs(conf_dir, mode=0o700)
        env["GATESH_CONFIG"] = os.path.join(conf_dir, "config.toml")
        with open(env["GATESH_CONFIG"], "w", encoding="utf-8") as f:
            f.write("# gatectl demo: a throwaway config, removed with the demo\n"
                    f'mode = "enforce"\nbash = {json.dumps(bash)}\n\n'
                    f"[approval]\ntimeout = {APPROVAL_TIMEOUT_S}\n")
        _write(project, _FILES)
        if shutil.which("git", path=env["PATH"]):
            _git(project, env, "init", "-q")
            _git(project, env, "add", "-A")
            _git(project, env, "commit", "-q", "-m", "first version")
        _write(project, _UNCOMMITTED)
        audit = os.path.join(env["XDG_STATE_HOME"], "gatesh", "audit.jsonl")
        return World(root, home, project, env, audit)
    except (OSError, subprocess.SubprocessError) as e:
        remove_world(root)
        raise GateshError(f"cannot set up the demo in {root} ({e}); "
                          "check TMPDIR has free space and run gatectl demo again") from None
    except BaseException:  # Ctrl-C while setting up: leave nothing behind
        remove_world(root)
        raise


def remove_world(root: str) -> None:
    """Remove the temp dir (only ever one made by make_world: a gatesh-demo-* temp dir)."""
    if os.path.basename(root).startswith("gatesh-demo-") and os.path.isdir(root):
        shutil.rmtree(root, ignore_errors=True)
