"""Shared fixtures.  Sections belong to their authors: append a new section, don't rewrite one."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# --- gatesh front end (test_shell_argv.py, test_conformance.py) --------------------------
#
# Every run of gatesh or bash here gets its own HOME, XDG dirs and cwd in a temp dir, and
# gatesh is started the way a harness starts it: an executable file whose name is `bash`.
# Until the whole gate pipeline can be imported (gatesh.gate and the stages it uses),
# the launcher injects a stand-in gate that allows everything except commands holding
# FAKE_GATE_BLOCK; once the pipeline works, the real gate is used (in dry-run mode for the
# fidelity tests, so rules cannot change what runs).

FAKE_GATE_BLOCK = "GATESH_TEST_BLOCK"

_FAKE_GATE = '''
import sys, types
_m = types.ModuleType("gatesh.gate")
class Request:
    def __init__(self, command, cwd, origin="c", env=None):
        self.command, self.cwd, self.origin, self.env = command, cwd, origin, env
class _Decision:
    def __init__(self, blocked):
        self.blocked = blocked
def enforce(req, cfg):
    return _Decision(%(marker)r in req.command)
def block_message(d):
    return ("gatesh: BLOCKED - the command was NOT executed: stand-in gate\\n"
            "gatesh: status=blocked reason=rule_deny\\n")
_m.Request, _m.enforce, _m.block_message = Request, enforce, block_message
sys.modules["gatesh.gate"] = _m
''' % {"marker": FAKE_GATE_BLOCK}

_LAUNCHER = '''#!%(python)s
import sys
sys.path.insert(0, %(repo)r)
%(fake)s
from gatesh.shell import main
sys.exit(main())
'''


def write_launcher(path: str, fake_gate: bool) -> str:
    """An executable gatesh at path, like the console script, run by this interpreter."""
    with open(path, "w") as f:
        f.write(_LAUNCHER % {"python": sys.executable, "repo": REPO,
                             "fake": _FAKE_GATE if fake_gate else ""})
    os.chmod(path, 0o755)
    return path


def iso_env(root: str, **extra: str) -> dict[str, str]:
    """A small, fixed environment with HOME, XDG dirs and TMPDIR inside root."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": os.path.join(root, "home"),
        "XDG_CONFIG_HOME": os.path.join(root, "config"),
        "XDG_STATE_HOME": os.path.join(root, "state"),
        "XDG_RUNTIME_DIR": os.path.join(root, "run"),
        "TMPDIR": os.path.join(root, "tmp"),
        "LC_ALL": "C.UTF-8",
    }
    for key in ("HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR", "TMPDIR"):
        os.makedirs(env[key], mode=0o700, exist_ok=True)
    env.update(extra)
    return env


def _real_gate_works(root: str) -> bool:
    exe = write_launcher(os.path.join(root, "probe-gatesh"), fake_gate=False)
    env = iso_env(os.path.join(root, "probe"), GATESH_MODE="dry-run")
    try:
        p = subprocess.run([exe, "-c", "echo ok"], env=env, cwd=env["HOME"],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        return False
    return p.returncode == 0 and p.stdout == b"ok\n" and not p.stderr


class Shells:
    """The real bash behind a private link and gatesh, both named `bash`."""

    def __init__(self, root: str, bash: str, gatesh: str, fake_gate: bool) -> None:
        self.root, self.bash, self.gatesh, self.fake_gate = root, bash, gatesh, fake_gate
        self.real_bash = os.path.realpath(bash)


@pytest.fixture(scope="session")
def shells(tmp_path_factory: pytest.TempPathFactory) -> Shells:
    root = str(tmp_path_factory.mktemp("shells"))
    from gatesh.config import find_bash

    real = find_bash(os.environ)
    fake = not _real_gate_works(root)
    os.makedirs(os.path.join(root, "oracle"))
    os.makedirs(os.path.join(root, "gatesh"))
    oracle = os.path.join(root, "oracle", "bash")
    os.symlink(real, oracle)
    gatesh = write_launcher(os.path.join(root, "gatesh", "bash"), fake_gate=fake)
    return Shells(root, oracle, gatesh, fake)


@pytest.fixture
def world(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """An isolated environment (dry-run mode) whose HOME is also the cwd of this test."""
    root = str(tmp_path)
    env = iso_env(root, GATESH_MODE="dry-run")
    for key in ("HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR", "TMPDIR"):
        monkeypatch.setenv(key, env[key])
    monkeypatch.chdir(env["HOME"])
    return env


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [f"gatesh front-end tests: python {sys.executable}"]
