"""gatesh.sessions: the registry and the ancestry checks, with real processes, ptys and sockets."""

from __future__ import annotations

import json
import os
import shutil
import stat as stat_mod
import subprocess
import sys

import pexpect
import pytest

from gatesh import procinfo, sessions
from gatesh.errors import GateshError

PY = sys.executable

# A listener on a real AF_UNIX socket: READY once listening, then it waits for stdin to close.
# With "fork", the listen()ing process hands the socket to a child and exits.
_LISTENER = r"""
import os, socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)
if sys.argv[2:] == ["fork"]:
    if os.fork():
        os._exit(0)
    os.setsid()
print("READY", os.getpid(), flush=True)
sys.stdin.read()
"""

# The gate's side: connect and print listener_problem's answer as JSON.
_GATE = r"""
import json, socket, sys
from gatesh import sessions
c = socket.socket(socket.AF_UNIX); c.connect(sys.argv[1])
print(json.dumps(sessions.listener_problem(c, sys.argv[2], int(sys.argv[3]))), flush=True)
"""

# The gate's side with the listener as its own child (same session): what an agent would do.
_GATE_WITH_CHILD = r"""
import json, socket, subprocess, sys
from gatesh import sessions
p = subprocess.Popen([sys.executable, "-c", sys.argv[4], sys.argv[1]], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, text=True)
assert p.stdout.readline().startswith("READY")
c = socket.socket(socket.AF_UNIX); c.connect(sys.argv[1])
print(json.dumps(sessions.listener_problem(c, sys.argv[2], int(sys.argv[3]))), flush=True)
p.communicate("")
"""


@pytest.fixture
def rt(tmp_path) -> str:
    return str(tmp_path / "run" / "gatesh")


@pytest.fixture
def procs():
    """Processes started by a test, killed and reaped at its end."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for p in started:
        if p.poll() is None:
            p.kill()
        p.communicate()


def sleeper(procs, **kw) -> subprocess.Popen[str]:
    p = subprocess.Popen(["sleep", "300"], text=True, **kw)
    procs.append(p)
    return p


def listener(procs, path: str, *extra: str, **kw) -> tuple[subprocess.Popen[str], int]:
    p = subprocess.Popen([PY, "-c", _LISTENER, path, *extra], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True, **kw)
    procs.append(p)
    assert p.stdout is not None
    line = p.stdout.readline().split()
    assert line[0] == "READY", line
    return p, int(line[1])


def gate(path: str, rt: str, uid: int | None = None, script: str = _GATE,
         *extra: str) -> str | None:
    """listener_problem as seen by a gate in a session of its own (no controlling tty)."""
    r = subprocess.run([PY, "-c", script, path, rt, str(os.getuid() if uid is None else uid),
                        *extra], capture_output=True, text=True, timeout=60,
                       check=False, start_new_session=True, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


# --- the registry -------------------------------------------------------------------------

def test_register_writes_a_private_entry_and_unregister_removes_it(rt, procs):
    root = sleeper(procs)
    s = sessions.register(rt, root.pid, 4242, 34816, ["claude", "--x"])
    start = procinfo.stat(root.pid).starttime
    assert s.path == os.path.join(rt, "sessions", f"{root.pid}-{start}.json")
    assert stat_mod.S_IMODE(os.stat(s.path).st_mode) == 0o600
    assert stat_mod.S_IMODE(os.stat(os.path.dirname(s.path)).st_mode) == 0o700
    assert stat_mod.S_IMODE(os.stat(rt).st_mode) == 0o700
    with open(s.path) as f:
        body = json.load(f)
    assert body["root_pid"] == root.pid and body["root_starttime"] == start
    assert body["agent_sid"] == 4242 and body["agent_tty_nr"] == 34816
    assert body["argv"] == ["claude", "--x"] and body["started"] > 0
    assert sessions.live_sessions(rt) == [s]
    sessions.unregister(s)
    assert not os.path.exists(s.path)
    assert sessions.live_sessions(rt) == []
    sessions.unregister(s)  # twice is fine


def test_register_refuses_a_dead_root(rt):
    p = subprocess.Popen(["true"])
    p.wait()
    with pytest.raises(GateshError, match="gone"):
        sessions.register(rt, p.pid, 1, 0, ["x"])


def test_entry_of_a_dead_root_is_pruned(rt, procs):
    root = sleeper(procs)
    alive = sleeper(procs)
    dead = sessions.register(rt, root.pid, 11, 0, ["a"])
    kept = sessions.register(rt, alive.pid, 12, 0, ["b"])
    root.kill()
    root.wait()
    assert sessions.live_sessions(rt) == [kept]
    assert not os.path.exists(dead.path) and os.path.exists(kept.path)


def test_entry_whose_root_has_another_start_time_is_pruned(rt):
    s = sessions.register(rt, os.getpid(), 11, 0, ["a"])
    with open(s.path) as f:
        body = json.load(f)
    body["root_starttime"] += 1  # the pid was recycled by another process
    with open(s.path, "w") as f:
        json.dump(body, f)
    assert sessions.live_sessions(rt) == []
    assert not os.path.exists(s.path)


def test_unreadable_entry_is_pruned(rt):
    s = sessions.register(rt, os.getpid(), 11, 0, ["a"])
    with open(s.path, "w") as f:
        f.write("{not json")
    assert sessions.live_sessions(rt) == []
    assert not os.path.exists(s.path)


def test_session_of_finds_the_registered_ancestor(rt, procs):
    child = sleeper(procs, start_new_session=True)
    assert sessions.session_of(child.pid, rt) is None
    s = sessions.register(rt, os.getpid(), 11, 0, ["agent"])
    assert sessions.session_of(child.pid, rt) == s
    assert sessions.session_of(1, rt) is None


# --- chain_problem --------------------------------------------------------------------------

def test_chain_clean_when_nothing_matches(rt, procs):
    other = sleeper(procs, start_new_session=True)
    sessions.register(rt, other.pid, other.pid, 0, ["agent"])  # a live session, not ours
    target = sleeper(procs, start_new_session=True)
    assert sessions.chain_problem(target.pid, rt) is None
    assert sessions.chain_problem(target.pid, rt, gate_sid=other.pid, gate_tty=0) is None


def test_chain_flags_a_registered_root_ancestor(rt, procs):
    target = sleeper(procs, start_new_session=True)
    sessions.register(rt, os.getpid(), 999999, 0, ["agent"])
    why = sessions.chain_problem(target.pid, rt)
    assert why and "launcher" in why and str(os.getpid()) in why


def test_chain_flags_a_registered_session_id(rt, procs):
    root = sleeper(procs)  # alive, but no ancestor of the target
    target = sleeper(procs, start_new_session=True)
    sessions.register(rt, root.pid, target.pid, 0, ["agent"])
    why = sessions.chain_problem(target.pid, rt)
    assert why and f"session {target.pid}" in why and "launcher" not in why


def test_chain_flags_a_registered_pty(rt, procs):
    root = sleeper(procs)
    child = pexpect.spawn("sleep", ["300"], timeout=30)
    try:
        tty = procinfo.stat(child.pid).tty_nr
        assert tty != 0
        sessions.register(rt, root.pid, root.pid, tty, ["agent"])
        why = sessions.chain_problem(child.pid, rt)
        assert why and "pty" in why and "session" not in why
    finally:
        child.terminate(force=True)


def test_chain_flags_the_gates_own_session_and_tty(rt, procs):
    target = sleeper(procs, start_new_session=True)
    why = sessions.chain_problem(target.pid, rt, gate_sid=target.pid)
    assert why and "shares the gate's session" in why
    child = pexpect.spawn("sleep", ["300"], timeout=30)
    try:
        tty = procinfo.stat(child.pid).tty_nr
        why = sessions.chain_problem(child.pid, rt, gate_tty=tty)
        assert why and "shares the gate's terminal" in why
        assert sessions.chain_problem(child.pid, rt, gate_tty=0) is None
    finally:
        child.terminate(force=True)


def test_chain_of_a_gone_process(rt):
    p = subprocess.Popen(["true"])
    p.wait()
    assert "gone" in sessions.chain_problem(p.pid, rt)


# --- listener_problem: a real gate and a real listener ------------------------------------

def test_listener_in_another_session_is_accepted(rt, procs, tmp_path):
    path = str(tmp_path / "a.sock")
    listener(procs, path, start_new_session=True)
    assert gate(path, rt) is None


def test_listener_with_another_uid_is_refused(rt, procs, tmp_path):
    path = str(tmp_path / "a.sock")
    listener(procs, path, start_new_session=True)
    why = gate(path, rt, uid=os.getuid() + 1)
    assert why and f"uid {os.getuid()}" in why


def test_listener_started_by_the_gate_is_refused(rt, tmp_path):
    why = gate(str(tmp_path / "a.sock"), rt, None, _GATE_WITH_CHILD, _LISTENER)
    assert why and "shares the gate's session" in why


def test_listener_under_a_registered_launcher_is_refused(rt, procs, tmp_path):
    path = str(tmp_path / "a.sock")
    listener(procs, path, start_new_session=True)
    sessions.register(rt, os.getpid(), 999999, 0, ["agent"])  # this test plays the launcher
    why = gate(path, rt)
    assert why and "launcher" in why


def test_listener_in_a_registered_session_is_refused(rt, procs, tmp_path):
    path = str(tmp_path / "a.sock")
    p, _ = listener(procs, path, start_new_session=True)
    root = sleeper(procs)
    sessions.register(rt, root.pid, p.pid, 0, ["agent"])
    why = gate(path, rt)
    assert why and f"session {p.pid}" in why


def test_listener_that_exited_after_listen_is_refused(rt, procs, tmp_path):
    # the process that called listen() is gone; a child answers on the inherited socket
    path = str(tmp_path / "a.sock")
    p, answering = listener(procs, path, "fork")
    p.wait()  # the listen()er exits after the fork
    try:
        why = gate(path, rt)
        assert why and ("exited" in why or "gone" in why)
    finally:
        os.kill(answering, 9)


# --- approver_problem -----------------------------------------------------------------------

def _approver_check(rt: str, *prefix: str) -> str:
    code = ("import json, sys; from gatesh import sessions\n"
            "print('ANSWER', json.dumps(sessions.approver_problem(sys.argv[1])), flush=True)")
    argv = [*prefix, PY, "-c", code, rt]
    child = pexpect.spawn(argv[0], argv[1:], encoding="utf-8", timeout=60)
    child.expect(r"ANSWER (.*)\r\n")
    answer = child.match.group(1)
    child.expect(pexpect.EOF)
    return json.loads(answer)


def test_approver_in_its_own_terminal_is_fine(rt):
    assert _approver_check(rt) is None


def test_approver_without_a_terminal_is_refused(rt):
    code = ("import json, sys; from gatesh import sessions\n"
            "print(json.dumps(sessions.approver_problem(sys.argv[1])))")
    r = subprocess.run([PY, "-c", code, rt], capture_output=True, text=True, timeout=60,
                       check=False, start_new_session=True, stdin=subprocess.DEVNULL)
    why = json.loads(r.stdout)
    assert why and "no controlling terminal" in why


def test_approver_in_a_gated_session_is_refused(rt):
    sessions.register(rt, os.getpid(), 999999, 0, ["agent"])
    why = _approver_check(rt)
    assert why and "gated agent session" in why and "separate terminal" in why


def test_traced_approver_is_refused(rt):
    strace = shutil.which("strace")
    if not strace:
        pytest.skip("strace is not installed")
    why = _approver_check(rt, strace, "-f", "-o", os.devnull)
    assert why and "traced" in why
