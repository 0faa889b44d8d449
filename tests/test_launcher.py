"""`gatectl run -- AGENT`, driven from a real outer pty (pexpect) or with no terminal at all."""

from __future__ import annotations

import json
import os
import signal
import sys
import termios
import time

import pexpect
import pytest

from gatesh import procinfo
from gtutil import gatectl_exe, gatesh_exe, make_world

PY = sys.executable

# The agent probe: reports what it sees, then waits for a line before it exits 3.
_PROBE = r"""
import json, os, shutil, signal, sys
def size(*_):
    sz = os.get_terminal_size(0)
    print("SIZE", sz.lines, sz.columns, flush=True)
signal.signal(signal.SIGWINCH, size)
fds = {}
for name in os.listdir("/proc/self/fd"):
    try:
        fds[name] = os.readlink("/proc/self/fd/" + name)
    except OSError:
        pass
info = {"pid": os.getpid(), "ppid": os.getppid(), "sid": os.getsid(0), "tty": os.ttyname(0),
        "fds": fds, "SHELL": os.environ.get("SHELL"), "PATH": os.environ.get("PATH"),
        "CLAUDE_CODE_SHELL": os.environ.get("CLAUDE_CODE_SHELL"), "bash": shutil.which("bash")}
print("INFO " + json.dumps(info), flush=True)
size()
print("READY", flush=True)
sys.stdin.readline()
print("BYE", flush=True)
sys.exit(3)
"""


@pytest.fixture
def world(tmp_path):
    w = make_world(str(tmp_path))
    probe = os.path.join(w.root, "probe.py")
    with open(probe, "w") as f:
        f.write(_PROBE)
    w.env["PROBE"] = probe
    return w


def runtime(world) -> str:
    return os.path.join(world.env["XDG_RUNTIME_DIR"], "gatesh")


def entries(world) -> list[dict[str, object]]:
    folder = os.path.join(runtime(world), "sessions")
    if not os.path.isdir(folder):
        return []
    out = []
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name)) as f:
            out.append(json.load(f))
    return out


def spawn(world, *agent: str, rows: int = 24, cols: int = 80) -> pexpect.spawn:
    return pexpect.spawn(gatectl_exe(), ["run", "--", *agent], env=world.env, cwd=world.project,
                         encoding="utf-8", timeout=60, dimensions=(rows, cols))


def finish(p: pexpect.spawn) -> int:
    p.expect(pexpect.EOF)
    p.close()
    assert p.signalstatus is None, p.signalstatus
    return int(p.exitstatus)


def wait_for(cond, what: str, limit: float = 30.0):
    """Poll cond() until it is truthy; the limit only keeps a broken build from hanging."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        got = cond()
        if got:
            return got
        time.sleep(0.02)
    raise AssertionError(f"never happened: {what}")


def test_agent_runs_in_a_new_session_and_pty_and_is_registered(world):
    # the launcher also holds an inheritable fd 7 on the human's terminal: the agent must not
    env = dict(world.env, GATECTL=gatectl_exe())
    p = pexpect.spawn("sh", ["-c", 'exec 7<>"$(tty)"; exec "$GATECTL" run -- "$0" "$PROBE"', PY],
                      env=env, cwd=world.project, encoding="utf-8", timeout=60)
    p.expect(r"INFO ([^\r\n]*)\r\n")
    info = json.loads(p.match.group(1))
    p.expect("READY")
    outer = os.readlink(f"/proc/{p.pid}/fd/0")
    assert outer.startswith("/dev/pts/") and os.readlink(f"/proc/{p.pid}/fd/7") == outer
    # a new session and a new pty
    assert info["sid"] == info["pid"] != os.getsid(p.pid)
    assert info["tty"].startswith("/dev/pts/") and info["tty"] != outer
    assert info["ppid"] == p.pid
    # no descriptor to the human's terminal: only the pty (and listdir's own directory fd)
    assert outer not in info["fds"].values()
    assert {fd for fd, target in info["fds"].items() if target == info["tty"]} == {"0", "1", "2"}
    assert all(t == info["tty"] or t.startswith("/proc/") for t in info["fds"].values())
    # the registry names the launcher (not the agent) as root, the agent's sid and pty
    [entry] = entries(world)
    assert entry["root_pid"] == p.pid
    assert entry["root_starttime"] == procinfo.stat(p.pid).starttime
    assert entry["agent_sid"] == info["sid"]
    assert entry["agent_tty_nr"] == procinfo.stat(info["pid"]).tty_nr != 0
    assert entry["argv"] == [PY, world.env["PROBE"]]
    p.sendline("go")
    p.expect("BYE")
    assert finish(p) == 3
    assert entries(world) == []


def test_agent_shell_is_the_gatesh_shim(world):
    r = world.run([gatectl_exe(), "run", "--", PY, world.env["PROBE"]])
    out = r.stdout.decode()
    info = json.loads(out.split("INFO ", 1)[1].splitlines()[0])
    shim = os.path.join(runtime(world), "shims", "bash")
    assert info["SHELL"] == info["CLAUDE_CODE_SHELL"] == info["bash"] == shim
    assert info["PATH"].split(":")[0] == os.path.dirname(shim)
    assert info["PATH"].split(":")[1:] == world.env["PATH"].split(":")
    assert os.path.islink(shim) and os.readlink(shim) == gatesh_exe()
    assert r.returncode == 3  # stdin was /dev/null: the agent read EOF and exited


def test_setsid_grandchild_is_adopted_by_the_launcher_and_reaped(world):
    pidfile = os.path.join(world.root, "gc.pid")
    script = f'setsid -f sh -c "echo \\$\\$ > {pidfile}.tmp; mv {pidfile}.tmp {pidfile}; ' \
             f'exec sleep 300"; echo STARTED; read x; echo BYE'
    p = spawn(world, "sh", "-c", script)
    p.expect("STARTED")

    def grandchild() -> int | None:
        try:
            with open(pidfile) as f:
                return int(f.read())
        except (OSError, ValueError):
            return None

    gc = wait_for(grandchild, "the grandchild wrote its pid")
    try:
        st = wait_for(lambda: procinfo.stat(gc), "the grandchild's stat")
        assert st.ppid == p.pid  # re-parented to the subreaper, not to init
        assert st.session == gc  # setsid: it left the agent's session
    finally:
        os.kill(gc, signal.SIGKILL)
    wait_for(lambda: procinfo.stat(gc) is None, "the launcher reaped the orphan")
    p.sendline("")
    p.expect("BYE")
    assert finish(p) == 0


@pytest.mark.parametrize("script, status", [
    ("exit 7", 7),
    ("kill -TERM $$", 128 + signal.SIGTERM),
    ("kill -KILL $$", 128 + signal.SIGKILL),
    ("true", 0),
])
def test_exit_status_is_the_agents(world, script, status):
    r = world.run([gatectl_exe(), "run", "--", "sh", "-c", script])
    assert r.returncode == status, r.stderr
    assert entries(world) == []


def test_without_a_terminal_output_still_arrives(world):
    r = world.run([gatectl_exe(), "run", "--", "sh", "-c", "echo hello; tty; head -n 1"],
                  input=b"from-the-pipe\n", stdin=None)
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr
    assert "hello" in out and "/dev/pts/" in out
    assert out.count("from-the-pipe") >= 1  # echoed by the pty and printed by head


def test_sigterm_to_the_launcher_reaches_the_agent_and_cleans_up(world):
    p = spawn(world, PY, world.env["PROBE"])
    p.expect("READY")
    assert len(entries(world)) == 1
    os.kill(p.pid, signal.SIGTERM)
    assert finish(p) == 128 + signal.SIGTERM
    assert entries(world) == []


def test_window_size_is_forwarded(world):
    p = spawn(world, PY, world.env["PROBE"], rows=24, cols=80)
    p.expect("SIZE 24 80")
    p.expect("READY")
    p.setwinsize(19, 84)
    p.expect("SIZE 19 84")
    p.sendline("")
    assert finish(p) == 3


def test_outer_terminal_is_raw_during_the_run_and_restored_after(world):
    env = dict(world.env, GATECTL=gatectl_exe())
    p = pexpect.spawn("sh", ["-c", 'stty -g; "$GATECTL" run -- "$0" "$PROBE"; stty -g', PY],
                      env=env, cwd=world.project, encoding="utf-8", timeout=60)
    p.expect(r"([0-9a-f:]+)\r\n")
    before = p.match.group(1)
    p.expect("READY")
    lflag = termios.tcgetattr(p.child_fd)[3]  # a pty master reports its slave's settings
    assert not lflag & termios.ICANON and not lflag & termios.ECHO
    p.sendline("")
    p.expect("BYE")
    p.expect(r"([0-9a-f:]+)\r\n")
    assert p.match.group(1) == before
    p.expect(pexpect.EOF)


def test_unknown_agent_is_one_line_error(world):
    r = world.run([gatectl_exe(), "run", "--", "no-such-agent-xyz"])
    err = r.stderr.decode()
    assert r.returncode == 1
    assert err.startswith("gatectl: cannot run 'no-such-agent-xyz'") and err.count("\n") == 1
    assert entries(world) == []


def test_refuses_when_gatesh_is_not_installed(world):
    code = ("import sys; sys.executable = '/nonexistent/bin/python'\n"
            "from gatesh.ctl import main; sys.exit(main(['run', '--', 'true']))")
    env = dict(world.env, PATH="/usr/bin:/bin")
    r = world.run([PY, "-c", code], env=env)
    err = r.stderr.decode()
    assert r.returncode == 1 and err.startswith("gatectl: gatesh is not installed"), err
    assert err.count("\n") == 1
