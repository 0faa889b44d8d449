"""Helpers shared by the gate tests: an isolated home, config and project in a temp dir."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(REPO), "shared")


def shared_path(*parts: str) -> str | None:
    p = os.path.join(SHARED, *parts)
    return p if os.path.exists(p) else None


def gatesh_exe() -> str:
    """The installed gatesh script next to this interpreter (never a pyenv shim)."""
    cand = os.path.join(os.path.dirname(sys.executable), "gatesh")
    if os.path.exists(cand):
        return cand
    found = shutil.which("gatesh")
    assert found, "gatesh is not installed: pip install -e ."
    return found


def gatectl_exe() -> str:
    cand = os.path.join(os.path.dirname(sys.executable), "gatectl")
    return cand if os.path.exists(cand) else (shutil.which("gatectl") or "gatectl")


@dataclass
class World:
    root: str
    home: str
    project: str
    env: dict[str, str]

    @property
    def audit(self) -> str:
        return os.path.join(self.env["XDG_STATE_HOME"], "gatesh", "audit.jsonl")

    @property
    def config(self) -> str:
        return os.path.join(self.env["XDG_CONFIG_HOME"], "gatesh", "config.toml")

    def write_config(self, text: str) -> None:
        os.makedirs(os.path.dirname(self.config), exist_ok=True)
        with open(self.config, "w") as f:
            f.write(text)

    def records(self) -> list[dict[str, object]]:
        import json
        if not os.path.exists(self.audit):
            return []
        with open(self.audit) as f:
            return [json.loads(line) for line in f if line.strip()]

    def run(self, argv: list[str], **kw: object) -> subprocess.CompletedProcess[bytes]:
        kw.setdefault("cwd", self.project)
        kw.setdefault("env", self.env)
        kw.setdefault("capture_output", True)
        kw.setdefault("timeout", 60)
        kw.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.run(argv, **kw)  # type: ignore[call-overload]


def make_world(tmp: str, mode: str | None = None) -> World:
    """A temp HOME holding a git project on main, with every XDG dir inside it."""
    home = os.path.join(tmp, "home")
    project = os.path.join(home, "project")
    os.makedirs(os.path.join(project, "src"))
    with open(os.path.join(project, "src", "app.py"), "w") as f:
        f.write("print('hi')\n")
    with open(os.path.join(home, "precious.txt"), "w") as f:
        f.write("keep me\n")
    env = {
        "HOME": home, "USER": os.environ.get("USER", "root"), "LANG": "C.UTF-8",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "XDG_CONFIG_HOME": os.path.join(home, ".config"),
        "XDG_STATE_HOME": os.path.join(home, ".local", "state"),
        "XDG_RUNTIME_DIR": os.path.join(tmp, "run"),
        "XDG_CACHE_HOME": os.path.join(home, ".cache"),
        "XDG_DATA_HOME": os.path.join(home, ".local", "share"),
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    os.makedirs(env["XDG_RUNTIME_DIR"], mode=0o700)
    if mode:
        env["GATESH_MODE"] = mode
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=project, env=env, check=True)
    return World(tmp, home, project, env)
