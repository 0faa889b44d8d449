"""Approval as a person uses it: `gatectl approve` in a tmux pane, gated commands elsewhere.

The console runs in its own tmux server (a terminal of its own, like a second window);
gated commands run from this process in sessions of their own, like an agent's; the test
reads the screen with capture-pane and answers with send-keys.  Everything lives in a temp
HOME; the commands approved here only touch a git project inside it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from gtutil import gatectl_exe, gatesh_exe, make_world
from tmuxpane import Pane, have_tmux

pytestmark = pytest.mark.skipif(not have_tmux(), reason="tmux is not installed")

READY = "y approve"
TOKEN_PROMPT = "and press Enter to approve"


def _git(world, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=world.project, env=world.env, check=True,
                          capture_output=True, text=True).stdout


def _dirty_project(world) -> str:
    """A committed file, then modified: `git reset --hard` would lose the change."""
    path = os.path.join(world.project, "notes.txt")
    with open(path, "w") as f:
        f.write("committed\n")
    _git(world, "add", "notes.txt")
    _git(world, "commit", "-q", "-m", "first")
    with open(path, "w") as f:
        f.write("uncommitted work\n")
    return path


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


class Bench:
    """A world (temp HOME with a git project) and the console running in a tmux pane."""

    def __init__(self, root: str) -> None:
        self.world = make_world(root)
        self.pane = Pane(root, self.world.env)

    def start_console(self) -> None:
        self.pane.start([gatectl_exe(), "approve"], cwd=self.world.home)
        self.pane.wait_for(" pending  |")

    def gate(self, command: str, **kw: object) -> subprocess.Popen[bytes]:
        """A gated command from an agent-like process: its own session, no terminal."""
        return subprocess.Popen([gatesh_exe(), "-c", command], cwd=self.world.project,
                                env=self.world.env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True, **kw)  # type: ignore[call-overload]

    def records(self, event: str) -> list[dict[str, object]]:
        return [r for r in self.world.records() if r.get("event") == event]


@pytest.fixture
def bench(tmp_path):
    b = Bench(str(tmp_path))
    yield b
    b.pane.close()


def _finish(proc: subprocess.Popen[bytes]) -> tuple[int, str]:
    out, err = proc.communicate(timeout=60)
    return proc.returncode, err.decode()


def test_yes_runs_the_command_and_the_log_says_who_decided(bench):
    path = _dirty_project(bench.world)
    bench.start_console()
    g = bench.gate("git reset --hard")
    screen = bench.pane.wait_for(READY)
    assert "git:reset_hard" in screen and "git reset --hard" in screen
    assert "uncommitted" in screen          # the blast radius, measured by gatesh
    bench.pane.keys("y")
    code, err = _finish(g)
    assert code == 0, err
    assert _read(path) == "committed\n"
    bench.pane.wait_for("APPROVED")
    (dec,) = [r for r in bench.records("decision") if r.get("request")]
    assert dec["outcome"] == "run" and dec["reason"] == "approved"
    assert dec["approval"]["answer"] == "approved" and dec["approval"]["how"] == "y"
    (ans,) = bench.records("answer")
    assert ans["request"] == dec["request"] and ans["answer"] == "approve"


def test_no_with_a_note_blocks_and_tells_the_agent(bench):
    path = _dirty_project(bench.world)
    bench.start_console()
    g = bench.gate("git reset --hard")
    bench.pane.wait_for(READY)
    bench.pane.keys("m")
    bench.pane.wait_for("note >")
    bench.pane.keys("stash it first", literal=True)
    bench.pane.keys("Enter")
    code, err = _finish(g)
    assert code == 126
    assert err.startswith("gatesh: BLOCKED - the command was NOT executed: a human denied it")
    assert "gatesh: note from the human: stash it first" in err
    assert "reason=denied request=r-" in err.splitlines()[-1]
    assert _read(path) == "uncommitted work\n"
    bench.pane.wait_for("DENIED")


def _force_push_setup(world) -> None:
    bare = os.path.join(world.home, "remote.git")
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", bare], env=world.env,
                   check=True)
    _dirty_project(world)
    _git(world, "remote", "add", "origin", bare)
    _git(world, "push", "-q", "origin", "main")
    _git(world, "commit", "-q", "--amend", "-m", "rewritten")


def test_critical_needs_the_typed_target_and_y_alone_denies(bench):
    _force_push_setup(bench.world)
    bench.start_console()
    g = bench.gate("git push -q --force origin main")
    screen = bench.pane.wait_for(TOKEN_PROMPT)
    assert "CRITICAL" in screen and "type  main  and press Enter" in screen
    bench.pane.keys("y", "Enter")
    code, err = _finish(g)
    assert code == 126 and "reason=denied" in err
    g = bench.gate("git push -q --force origin main")
    bench.pane.wait_for(TOKEN_PROMPT)
    bench.pane.keys("main", literal=True)
    bench.pane.keys("Enter")
    code, err = _finish(g)
    assert code == 0, err
    remote_head = subprocess.run(["git", "log", "-1", "--format=%s", "main"],
                                 cwd=os.path.join(bench.world.home, "remote.git"),
                                 capture_output=True, text=True, env=bench.world.env).stdout
    assert remote_head.strip() == "rewritten"
    hows = [r["how"] for r in bench.records("answer")]
    assert hows == ["wrong token", "token"]


def test_timeout_is_a_no(bench):
    bench.world.write_config("[approval]\ntimeout = 2\n")
    path = _dirty_project(bench.world)
    bench.start_console()
    code, err = _finish(bench.gate("git reset --hard"))
    assert code == 126
    assert "no decision within 2 s; treated as denied" in err and "reason=timeout" in err
    assert _read(path) == "uncommitted work\n"
    bench.pane.wait_for("DENY (timeout)")
    bench.pane.keys("y")
    assert not bench.records("answer")


def test_three_sessions_queue_and_each_is_answered_once(bench):
    _dirty_project(bench.world)
    bench.start_console()
    gates = [bench.gate("git reset --hard") for _ in range(3)]
    bench.pane.wait_for("3 pending")
    for left, key in ((3, "y"), (2, "n"), (1, "y")):
        bench.pane.wait_for(f"{left} pending")
        bench.pane.wait_for(READY)
        bench.pane.keys(key)
        bench.pane.wait_for(f"{left - 1} pending")
    codes = sorted(_finish(g)[0] for g in gates)
    assert codes == [0, 0, 126]
    answers = bench.records("answer")
    assert len(answers) == 3 and len({a["request"] for a in answers}) == 3


def test_killed_approver_is_a_no_at_once(bench):
    path = _dirty_project(bench.world)
    bench.start_console()
    g = bench.gate("git reset --hard")
    bench.pane.wait_for(READY)
    os.kill(bench.pane.pane_pid(), signal.SIGKILL)
    code, err = _finish(g)
    assert code == 126 and "reason=disconnected" in err
    assert "the approver disconnected before deciding" in err
    assert _read(path) == "uncommitted work\n"


def test_ctrl_c_withdraws_the_request(bench):
    path = _dirty_project(bench.world)
    bench.start_console()
    g = bench.gate("git reset --hard")
    bench.pane.wait_for(READY)
    g.send_signal(signal.SIGINT)
    code, err = _finish(g)
    assert code == 130 and "reason=interrupted" in err
    bench.pane.wait_for("WITHDRAWN")
    bench.pane.keys("y")
    time.sleep(0.3)
    assert not bench.records("answer")
    assert bench.records("withdrawn")
    assert _read(path) == "uncommitted work\n"


def test_no_approver_blocks_at_once_and_says_how_to_start_one(bench):
    path = _dirty_project(bench.world)
    code, err = _finish(bench.gate("git reset --hard"))
    assert code == 126
    assert "no approver is running; a human must run `gatectl approve` in a separate " \
        "terminal" in err
    assert "reason=no_approver" in err
    assert _read(path) == "uncommitted work\n"


def test_waiting_for_an_approver_to_appear(bench):
    bench.world.write_config("[approval]\nwait_for_approver = 30\n")
    path = _dirty_project(bench.world)
    g = bench.gate("git reset --hard")
    time.sleep(0.5)
    assert g.poll() is None            # still waiting for someone to start the console
    bench.start_console()
    bench.pane.wait_for(READY)
    bench.pane.keys("y")
    assert _finish(g)[0] == 0
    assert _read(path) == "committed\n"


def test_socket_is_private_and_a_second_approver_refuses(bench, tmp_path):
    bench.start_console()
    run = os.path.join(bench.world.env["XDG_RUNTIME_DIR"], "gatesh")
    assert os.stat(run).st_mode & 0o777 == 0o700
    assert os.stat(os.path.join(run, "approver.sock")).st_mode & 0o777 == 0o600
    os.makedirs(tmp_path / "p2")
    second = Pane(str(tmp_path / "p2"), bench.world.env)
    try:
        # the shell keeps the pane's pty open, so tmux reads everything gatectl printed
        second.start(["sh", "-c", f"{gatectl_exe()} approve; echo exit=$?; sleep 30"])
        screen = second.wait_for("exit=")
        assert "gatectl: another gatectl approve is already running" in screen
        assert "exit=1" in screen
    finally:
        second.close()


def test_stale_socket_is_replaced(bench):
    import socket
    run = os.path.join(bench.world.env["XDG_RUNTIME_DIR"], "gatesh")
    os.makedirs(run, mode=0o700)
    s = socket.socket(socket.AF_UNIX)
    s.bind(os.path.join(run, "approver.sock"))
    s.close()                          # bound, never listening: connect gives ECONNREFUSED
    bench.start_console()
    _dirty_project(bench.world)
    g = bench.gate("git reset --hard")
    bench.pane.wait_for(READY)
    bench.pane.keys("y")
    assert _finish(g)[0] == 0


def test_console_refuses_without_a_terminal(bench):
    r = bench.world.run([gatectl_exe(), "approve"], start_new_session=True)
    assert r.returncode != 0
    assert b"no controlling terminal" in r.stderr
    assert not os.path.exists(os.path.join(bench.world.env["XDG_RUNTIME_DIR"], "gatesh",
                                           "approver.sock"))


def test_control_characters_are_shown_not_obeyed(bench):
    _dirty_project(bench.world)
    bench.start_console()
    g = bench.gate("git reset --hard #\x1b[2K\x0d\x1b[1Aecho harmless")
    screen = bench.pane.wait_for(READY)
    assert "\\x1b[2K\\x0d\\x1b[1Aecho harmless" in screen
    bench.pane.keys("n")
    assert _finish(g)[0] == 126


def test_twenty_gates_at_once_are_each_decided_exactly_once(bench):
    bench.world.write_config("[approval]\ntimeout = 300\n")
    _dirty_project(bench.world)
    bench.start_console()
    gates = [bench.gate("git status --short && git reset --hard") for _ in range(20)]
    bench.pane.wait_for("20 pending", timeout=60)
    for n in range(20, 0, -1):
        bench.pane.wait_for(f"{n} pending", timeout=60)
        bench.pane.wait_for(READY)
        bench.pane.keys("y" if n % 2 else "n")
        if n > 1:
            bench.pane.wait_for(f"{n - 1} pending", timeout=60)
    codes = [_finish(g)[0] for g in gates]
    assert sorted(codes) == [0] * 10 + [126] * 10
    answers = bench.records("answer")
    decisions = [r for r in bench.records("decision") if r.get("request")]
    assert len(answers) == 20 and len({a["request"] for a in answers}) == 20
    assert len(decisions) == 20
    assert {d["request"] for d in decisions} == {a["request"] for a in answers}
    assert not bench.records("withdrawn")
    by_id = {a["request"]: a["answer"] for a in answers}
    for d in decisions:
        assert (d["outcome"] == "run") == (by_id[d["request"]] == "approve")


def test_console_anchors_the_log_in_syslog_at_start_and_exit(bench, tmp_path):
    import json
    import socket
    sink = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = str(tmp_path / "log.sock")
    sink.bind(path)
    sink.settimeout(20)
    bench.world.write_config(f'[audit]\nsyslog = "{path}"\n')
    bench.start_console()

    def anchors() -> list[dict[str, object]]:
        out = []
        while True:
            data = sink.recv(65536).decode()
            if "gatesh-anchor " in data:
                out.append(json.loads(data.split("gatesh-anchor ", 1)[1]))
                return out

    first = anchors()[0]
    recs = bench.world.records()
    assert first["seq"] == recs[-1]["seq"] and first["hash"] == recs[-1]["hash"]
    bench.pane.keys("q")
    last = anchors()[0]
    recs = bench.world.records()
    assert recs[-1]["event"] == "approver_stop"
    assert last["seq"] == recs[-1]["seq"] and last["hash"] == recs[-1]["hash"]
    sink.close()
