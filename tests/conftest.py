"""Shared fixtures.  Sections belong to their authors: append a new section, don't rewrite one."""

from __future__ import annotations

import os
import re
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# --- gatesh front end (test_shell_argv.py, test_conformance.py) --------------------------
#
# Every run of gatesh or bash here gets its own HOME, XDG dirs and cwd in a temp dir, and
# gatesh is started the way a harness starts it: an executable file whose name is `bash`.
# The real gate runs (in dry-run mode for the fidelity tests, so rules cannot change what
# runs); if it cannot, the tests fail rather than fall back to anything else.

_LAUNCHER = '''#!%(python)s
import sys
sys.path.insert(0, %(repo)r)
from gatesh.shell import main
sys.exit(main())
'''


def write_launcher(path: str) -> str:
    """An executable gatesh at path, like the console script, run by this interpreter."""
    with open(path, "w") as f:
        f.write(_LAUNCHER % {"python": sys.executable, "repo": REPO})
    os.chmod(path, 0o755)
    return path


_PIDS = re.compile(rb"\((-?\d+)\)")


def normalise(data: bytes, shells: "Shells") -> bytes:
    """Output with both shells' paths as <SHELL> and pids in parentheses as (N)."""
    for path in (shells.gatesh, shells.bash):
        data = data.replace(os.fsencode(path), b"<SHELL>")
    return _PIDS.sub(b"(N)", data)


def iso_env(root: str, **extra: str) -> dict[str, str]:
    """A small, fixed environment with HOME, XDG dirs and TMPDIR inside root."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": os.path.join(root, "home"),
        "XDG_CONFIG_HOME": os.path.join(root, "config"),
        "XDG_STATE_HOME": os.path.join(root, "state"),
        "XDG_RUNTIME_DIR": os.path.join(root, "run"),
        "XDG_CACHE_HOME": os.path.join(root, "cache"),
        "TMPDIR": os.path.join(root, "tmp"),
        "LC_ALL": "C.UTF-8",
    }
    for key in ("HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR",
                "XDG_CACHE_HOME", "TMPDIR"):
        os.makedirs(env[key], mode=0o700, exist_ok=True)
    env.update(extra)
    return env


class Shells:
    """The real bash behind a private link and gatesh, both named `bash`."""

    def __init__(self, root: str, bash: str, gatesh: str) -> None:
        self.root, self.bash, self.gatesh = root, bash, gatesh
        self.real_bash = os.path.realpath(bash)


@pytest.fixture(scope="session")
def shells(tmp_path_factory: pytest.TempPathFactory) -> Shells:
    root = str(tmp_path_factory.mktemp("shells"))
    from gatesh.config import find_bash

    real = find_bash(os.environ)
    os.makedirs(os.path.join(root, "oracle"))
    os.makedirs(os.path.join(root, "gatesh"))
    oracle = os.path.join(root, "oracle", "bash")
    os.symlink(real, oracle)
    gatesh = write_launcher(os.path.join(root, "gatesh", "bash"))
    return Shells(root, oracle, gatesh)


@pytest.fixture
def world(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """An isolated environment (dry-run mode) whose HOME is also the cwd of this test."""
    root = str(tmp_path)
    env = iso_env(root, GATESH_MODE="dry-run")
    for key in ("HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR",
                "XDG_CACHE_HOME", "TMPDIR"):
        monkeypatch.setenv(key, env[key])
    monkeypatch.chdir(env["HOME"])
    return env


# --- parser tests (test_parse*.py, test_heredoc.py, test_words.py) ------------------------


def shared_dir() -> str | None:
    """The shared folder beside the repo (corpora, design), or None when it is absent."""
    path = os.path.join(os.path.dirname(REPO), "shared")
    return path if os.path.isdir(path) else None
