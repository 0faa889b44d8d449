"""approval.md's bypass table, tried from inside a gated session: each attempt must fail.

The human's console runs in a tmux pane of its own; the "agent" is a process in a session of
its own (or started with `gatectl run`) that tries to approve its own command.  Attackers
that must not hold root's capabilities run with an empty capability bounding set, so a test
running as root shows what an unprivileged same-uid agent would get.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys

import pytest

from gtutil import REPO, gatectl_exe, gatesh_exe, make_world
from tmuxpane import Pane, have_tmux

pytestmark = pytest.mark.skipif(not have_tmux(), reason="tmux is not installed")

FAKE = os.path.join(REPO, "tests", "fixtures", "fake_approver.py")


def _unprivileged() -> list[str]:
    """A prefix that runs a program as this uid without any capability."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root and setpriv (util-linux) is missing")
    return [setpriv, "--bounding-set=-all", "--inh-caps=-all", "--"]


@pytest.fixture
def world(tmp_path):
    w = make_world(str(tmp_path))
    path = os.path.join(w.project, "notes.txt")
    with open(path, "w") as f:
        f.write("committed\n")
    for args in (["add", "notes.txt"], ["commit", "-q", "-m", "first"]):
        subprocess.run(["git", *args], cwd=w.project, env=w.env, check=True)
    with open(path, "w") as f:
        f.write("uncommitted work\n")
    return w


def _intact(world) -> bool:
    with open(os.path.join(world.project, "notes.txt")) as f:
        return f.read() == "uncommitted work\n"


def _sock(world) -> str:
    return os.path.join(world.env["XDG_RUNTIME_DIR"], "gatesh", "approver.sock")


@pytest.fixture
def new_pane(world, tmp_path):
    """Panes on private tmux servers, each killed at the end whatever the test did."""
    made: list[Pane] = []

    def make() -> Pane:
        root = tmp_path / f"pane{len(made)}"
        root.mkdir()
        pane = Pane(str(root), world.env)
        made.append(pane)
        return pane
    yield make
    for pane in made:
        pane.close()


def _agent(world, script: str, **env: str) -> subprocess.CompletedProcess[str]:
    """An agent-like shell script in a session of its own, without a terminal."""
    return subprocess.run(["/bin/sh", "-c", script], cwd=world.project, env={**world.env, **env},
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=90,
                          start_new_session=True)


def _fake_then_gate(spawn: str) -> str:
    return (f'{spawn} "{sys.executable}" "{FAKE}" "$SOCK" "$PWD/../fake.ready" &\n'
            'i=0; while [ ! -s "$PWD/../fake.ready" ] && [ $i -lt 100 ]; do sleep 0.1; '
            'i=$((i+1)); done\n'
            f'"{gatesh_exe()}" -c "git reset --hard"; echo "exit=$?"\n')


def test_fake_listener_started_by_the_agent_is_refused(world):
    r = _agent(world, _fake_then_gate(""), SOCK=_sock(world))
    assert "exit=126" in r.stdout, r.stderr
    assert "reason=invalid_approver" in r.stderr
    assert "not a valid approver" in r.stderr
    assert _intact(world)


def test_double_forked_fake_listener_under_gatectl_run_is_refused(world):
    script = _fake_then_gate("setsid -f")
    r = subprocess.run([gatectl_exe(), "run", "--", "/bin/sh", "-c", script],
                       cwd=world.project, env={**world.env, "SOCK": _sock(world)},
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=90,
                       start_new_session=True)
    assert "exit=126" in r.stdout, r.stdout + r.stderr
    assert "reason=invalid_approver" in r.stdout      # the agent's pty carries both streams
    assert _intact(world)


def test_agent_cannot_start_the_console_in_its_own_session(world):
    # as the agent would, through an opaque payload the rules cannot read
    r = subprocess.run([gatectl_exe(), "run", "--", sys.executable, "-c",
                        f"import os; os.execv({gatectl_exe()!r}, ['gatectl', 'approve'])"],
                       cwd=world.project, env=world.env, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=60, start_new_session=True)
    assert r.returncode != 0
    assert "refusing to start" in r.stdout and "gated agent session" in r.stdout
    assert not os.path.exists(_sock(world))


def test_piping_yes_into_the_console_is_refused(world):
    r = _agent(world, f'echo y | "{gatectl_exe()}" approve; echo "exit=$?"')
    assert "exit=0" not in r.stdout and "refusing to start" in r.stderr
    assert not os.path.exists(_sock(world))


def test_running_the_console_through_gatesh_is_tamper(world):
    for command in ("gatectl approve", "tmux send-keys -t 0 y", "tmux capture-pane -p",
                    "tmux new-window gatectl approve"):
        r = world.run([gatesh_exe(), "-c", command])
        assert r.returncode == 126, command
        assert b"reason=tamper" in r.stderr, command
    assert not os.path.exists(_sock(world))


def test_console_terminal_cannot_be_opened_while_it_runs(world, new_pane):
    console = new_pane()
    # the shell keeps the pane's terminal after the console exits, to show TIOCEXCL cleared
    console.start(["sh", "-c", f"{gatectl_exe()} approve; echo exit=$?; sleep 30"])
    console.wait_for(" pending  |")
    tty = console.pane_tty()
    probe = [*_unprivileged(), sys.executable, "-c",
             "import os, sys\ntry:\n    os.close(os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY))\n"
             "    print('opened')\nexcept OSError as e:\n    print(e.errno)", tty]
    r = subprocess.run(probe, capture_output=True, text=True, timeout=30,
                       start_new_session=True)
    assert r.stdout.strip() == str(errno.EBUSY), r.stdout + r.stderr
    console.keys("q")
    console.wait_for("exit=0")
    r = subprocess.run(probe, capture_output=True, text=True, timeout=30,
                       start_new_session=True)
    assert r.stdout.strip() == "opened"   # TIOCEXCL is cleared on a normal exit


def test_console_cannot_be_traced_or_read(world, new_pane):
    # both sides without capabilities: as root, a capability-less tracer is refused any
    # process holding more capabilities than it, whatever the console does
    console = new_pane()
    console.start([*_unprivileged(), gatectl_exe(), "approve"], cwd=world.home)
    console.wait_for(" pending  |")
    pid = _console_pid(console)
    code = (
        "import ctypes, os, sys\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "pid = int(sys.argv[1])\n"
        "r = libc.ptrace(16, pid, 0, 0)\n"          # PTRACE_ATTACH
        "print('attach', 0 if r == 0 else ctypes.get_errno())\n"
        "if r == 0: libc.ptrace(17, pid, 0, 0)\n"    # PTRACE_DETACH
        "for name in ('environ', 'mem'):\n"
        "    try:\n"
        "        open(f'/proc/{pid}/{name}', 'rb').read(1); print(name, 0)\n"
        "    except OSError as e:\n"
        "        print(name, e.errno)\n")
    r = subprocess.run([*_unprivileged(), sys.executable, "-c", code, str(pid)],
                       capture_output=True, text=True, timeout=30, start_new_session=True)
    lines = dict(line.split() for line in r.stdout.splitlines())
    assert lines["attach"] == str(errno.EPERM), r.stdout + r.stderr
    assert lines["environ"] == str(errno.EACCES)
    assert lines["mem"] == str(errno.EACCES)


def _console_pid(console) -> int:
    """The gatectl process in the pane (`env` and setpriv exec it, keeping the pid)."""
    return console.pane_pid()


def test_console_refuses_when_traced(world, new_pane):
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace is not installed")
    pane = new_pane()
    pane.start(["sh", "-c", f"{strace} -f -o /dev/null {gatectl_exe()} approve; "
                "echo exit=$?; sleep 30"])
    screen = pane.wait_for("exit=")
    assert "refusing to start" in screen and "traced" in screen
    assert "exit=0" not in screen
