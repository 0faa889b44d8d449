"""`gatectl demo` as a newcomer runs it: in a terminal (a tmux pane), watching and pressing keys.

Each test gives the demo a temp HOME, XDG dirs and TMPDIR, so the throwaway world it makes
lands in this test's temp dir and the test can check that the demo touched nothing else and
removed its world.  The only destructive commands run are the demo's own, inside that world.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from gtutil import gatectl_exe
from tmuxpane import Pane, have_tmux

tmux_only = pytest.mark.skipif(not have_tmux(), reason="tmux is not installed")

ASKING = "y lets it run, n blocks it"
ARMED = "y approve   n deny"
SUMMARY = "gatectl demo: what the agent ran"


class Demo:
    """A temp HOME/XDG/TMPDIR and `gatectl demo` running in a tmux pane."""

    def __init__(self, root: str, tmp: str) -> None:
        self.root = root
        self.env = {
            "HOME": os.path.join(root, "home"), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8", "TMPDIR": tmp,
            "XDG_CONFIG_HOME": os.path.join(root, "config"),
            "XDG_STATE_HOME": os.path.join(root, "state"),
            "XDG_RUNTIME_DIR": os.path.join(root, "run"),
        }
        for key in ("HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR"):
            os.makedirs(self.env[key], mode=0o700)
        self.pane = Pane(root, self.env, width=120, height=40)

    def start(self, *args: str) -> None:
        # sh prints the exit status after the demo: tmux's pane_dead_status is not reliable
        self.pane.start(["sh", "-c", '"$@"; echo "demo exited $?"', "sh",
                         gatectl_exe(), "demo", "--pause", "0.3", *args])

    def worlds(self) -> list[str]:
        tmp = self.env["TMPDIR"]
        return [os.path.join(tmp, n) for n in os.listdir(tmp) if n.startswith("gatesh-demo-")]

    def world(self) -> str:
        (only,) = self.worlds()
        return only

    def finish(self) -> tuple[int, str]:
        """Wait for the demo to exit; (its exit status, everything it printed)."""
        self.pane.wait_dead(30)
        text = self.pane.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", "0").stdout
        status = re.findall(r"^demo exited (\d+)$", text, re.MULTILINE)
        assert status, text
        return int(status[-1]), text

    def untouched(self) -> None:
        """The caller's own HOME and XDG dirs got nothing: no config, log or socket."""
        for key in ("HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR"):
            assert os.listdir(self.env[key]) == [], key


@pytest.fixture
def demo(tmp_path):
    # a short TMPDIR: pytest's own temp paths are too long for the demo's socket path, and
    # the demo would then (rightly) fall back to /tmp, out of this test's sight
    tmp = tempfile.mkdtemp(prefix="gdt-", dir="/tmp")
    d = Demo(str(tmp_path), tmp)
    yield d
    d.pane.close()
    shutil.rmtree(tmp, ignore_errors=True)


def _line(screen: str, command: str) -> str:
    """The panel line of one of the agent's commands."""
    return next(ln for ln in screen.splitlines() if f"$ {command} " in ln)


def _records(world: str) -> list[dict[str, object]]:
    path = os.path.join(world, "home", ".local", "state", "gatesh", "audit.jsonl")
    with open(path) as f:
        return [json.loads(line) for line in f]


@tmux_only
def test_ordinary_commands_run_then_yes_really_runs_the_destructive_one(demo):
    demo.start("--keep")
    screen = demo.pane.wait_for(ASKING)
    assert "exit 0" in _line(screen, "ls") and "README.md" in _line(screen, "ls")
    assert "> 42" in _line(screen, "python3 -c 'print(6 * 7)'")
    assert "src/app.py:2:" in _line(screen, "grep -rn TODO src")
    assert "exit 0" in _line(screen, "rm -rf node_modules")
    assert "exit 126" in _line(screen, "rm -rf ~/.config/gatesh")
    assert "waiting for the human" in _line(screen, "rm -rf ~/myapp")
    world = demo.world()
    project = os.path.join(world, "home", "myapp")
    assert not os.path.exists(os.path.join(project, "node_modules"))  # it really ran
    assert os.path.isdir(project)                                      # this one waits
    screen = demo.pane.wait_for(ARMED)
    assert "fs:rm_project_root" in screen and "command   rm -rf ~/myapp" in screen
    assert "gatectl run: gatesh demo agent" in screen
    demo.pane.keys("y")
    code, text = demo.finish()
    assert code == 0, text
    assert SUMMARY in text
    assert "ask, run: human y" in text and "~/myapp is gone" in text
    assert "6 ran, 1 blocked" in text and "hash chain checks out" in text
    assert not os.path.exists(project)
    assert os.path.exists(os.path.join(world, "home", ".config", "gatesh", "config.toml"))
    decisions = [r for r in _records(world) if r["event"] == "decision"]
    assert [(r["verdict"], r["outcome"]) for r in decisions] == \
        [("allow", "run")] * 5 + [("deny", "blocked"), ("ask", "run")]
    assert f"Kept the throwaway world {world}" in text
    demo.untouched()


@tmux_only
def test_no_blocks_it_with_126_and_the_world_is_removed(demo):
    demo.start()
    demo.pane.wait_for(ARMED)
    world = demo.world()
    demo.pane.keys("n")
    code, text = demo.finish()
    assert code == 0, text
    row = next(ln for ln in text.splitlines() if "rm -rf ~/myapp" in ln and "denied" in ln)
    assert row.split()[0] == "126" and "ask, blocked: human denied" in row
    assert "5 ran, 2 blocked" in text and "~/myapp is still there" in text
    assert "gatesh: BLOCKED - the command was NOT executed: a human denied it" in text
    assert f"Removed the throwaway world {world}" in text
    assert demo.worlds() == [] and not os.path.exists(world)
    demo.untouched()


@tmux_only
@pytest.mark.parametrize("answer, ending", [("no", "~/myapp is still there"),
                                            ("yes", "~/myapp is gone")])
def test_auto_answers_without_keys(demo, answer, ending):
    demo.start("--auto", answer)
    code, text = demo.finish()
    assert code == 0, text
    assert f"--auto {answer} (nobody was asked)" in text and ending in text
    assert demo.worlds() == []
    demo.untouched()


def _cwds_under(root: str) -> list[int]:
    """Live processes whose working directory is inside root (the demo's agent and gates)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if cwd.startswith(root + os.sep):
            found.append(int(pid))
    return found


@tmux_only
def test_ctrl_c_while_the_request_waits_cleans_up_and_exits_130(demo):
    demo.start()
    demo.pane.wait_for(ARMED)
    world = demo.world()
    assert _cwds_under(world)          # the agent and its waiting gate live there
    demo.pane.keys("C-c")
    code, text = demo.finish()
    assert code == 130, text
    assert "gatectl: demo stopped before the end; removed " + world in text
    assert SUMMARY not in text
    assert demo.worlds() == []
    deadline = time.monotonic() + 10
    while _cwds_under(world) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _cwds_under(world) == []
    demo.untouched()


@tmux_only
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_terminating_signal_cleans_up_too(demo, sig):
    """A closed window (SIGHUP) or a kill (SIGTERM) removes the world like Ctrl-C does."""
    demo.start()
    demo.pane.wait_for(ARMED)
    world = demo.world()
    shell = int(demo.pane.tmux("display", "-p", "-t", "0", "#{pane_pid}").stdout)
    kids = subprocess.run(["pgrep", "-P", str(shell)], capture_output=True, text=True).stdout
    (gatectl,) = [int(p) for p in kids.split()]
    os.kill(gatectl, sig)
    code, _ = demo.finish()
    assert code == 128 + sig
    assert demo.worlds() == []
    deadline = time.monotonic() + 10
    while _cwds_under(world) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _cwds_under(world) == []


@pytest.mark.parametrize("stdin_is_tty", [False, True])
def test_without_a_terminal_it_says_so_in_one_line_and_exits_2(tmp_path, stdin_is_tty):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "TMPDIR": str(tmp)}
    master, slave = os.openpty()
    try:
        r = subprocess.run([gatectl_exe(), "demo"], env=env, capture_output=True, timeout=60,
                           stdin=slave if stdin_is_tty else subprocess.DEVNULL)
    finally:
        os.close(master)
        os.close(slave)
    assert r.returncode == 2
    lines = r.stderr.decode().splitlines()
    assert len(lines) == 1 and "demo needs a terminal" in lines[0]
    assert r.stdout == b"" and os.listdir(tmp) == []


# --- the pieces, without a terminal ----------------------------------------------------------


@pytest.fixture
def short_tmp(monkeypatch):
    tmp = tempfile.mkdtemp(prefix="gdt-", dir="/tmp")
    monkeypatch.setattr(tempfile, "tempdir", tmp)  # what gettempdir() answers from now on
    yield tmp
    shutil.rmtree(tmp, ignore_errors=True)


def test_the_world_keeps_everything_inside_its_temp_dir(short_tmp):
    from gatesh.config import find_bash, load
    from gatesh.demoworld import make_world, remove_world
    caller = {"PATH": os.environ["PATH"], "HOME": "/nonexistent-home", "GATESH_MODE": "dry-run",
              "XDG_CONFIG_HOME": "/nonexistent-config", "GIT_DIR": "/nonexistent.git"}
    world = make_world(find_bash(os.environ), caller)
    try:
        assert world.root.startswith(os.path.realpath(short_tmp) + os.sep)
        cfg = load(world.env)
        for path in (cfg.path, cfg.audit_path, cfg.runtime_dir, cfg.config_dir, world.home,
                     world.project):
            assert path.startswith(world.root + os.sep), path
        assert cfg.mode == "enforce" and cfg.bash == find_bash(os.environ)
        assert "GIT_DIR" not in world.env
        assert os.path.isfile(os.path.join(world.project, "notes.md"))
    finally:
        remove_world(world.root)
    assert not os.path.exists(world.root)


def test_a_long_tmpdir_falls_back_to_tmp_so_the_socket_path_fits(tmp_path, monkeypatch):
    from gatesh.channel import socket_path
    from gatesh.config import find_bash, load
    from gatesh.demoworld import make_world, remove_world
    deep = tmp_path / ("d" * 60)
    deep.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(deep))
    world = make_world(find_bash(os.environ), {"PATH": os.environ["PATH"]})
    try:
        assert os.path.dirname(world.root) == os.path.realpath("/tmp")
        assert len(os.fsencode(socket_path(load(world.env).runtime_dir))) < 104
    finally:
        remove_world(world.root)


def test_remove_world_only_removes_demo_dirs(tmp_path):
    from gatesh.demoworld import remove_world
    other = tmp_path / "precious"
    other.mkdir()
    remove_world(str(other))
    assert other.exists()


def test_commands_and_output_are_shown_as_escapes_never_raw():
    from gatesh.demoview import Outcome, Progress, panel_fragments
    from gatesh.demoworld import Step
    p = Progress((Step("echo \x1b[2Jhi", "note"),), "/tmp/x")
    p.current = 0
    p.results[0] = Outcome(0, "out\x1b]0;title\x07", "")
    text = "".join(t for _, t in panel_fragments(p))
    assert "\x1b" not in text and "\x07" not in text
    assert "echo \\x1b[2Jhi" in text and "out\\x1b]0;title\\x07" in text


def test_the_agent_reads_the_reason_from_the_blocked_message():
    from gatesh.demoagent import blocked_reason
    err = ("gatesh: BLOCKED - the command was NOT executed: x\n"
           "gatesh: status=blocked reason=denied request=r-1 rule=fs:x\n")
    assert blocked_reason(err) == "denied"
    assert blocked_reason("rm: cannot remove\n") == ""
