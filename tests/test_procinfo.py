"""gatesh.procinfo against real processes, sockets and ptys."""

from __future__ import annotations

import ctypes  # noqa: F401  loaded now: a forked child that became uid 65534 cannot read /root
import errno
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pexpect
import pytest

from gatesh import procinfo

PY = sys.executable

# A child that renames itself (prctl PR_SET_NAME, 15 bytes at most), says READY, then waits.
_RENAMED = r"""
import ctypes, sys
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)
print("READY", flush=True)
sys.stdin.read()
"""


def _wait_line(proc: subprocess.Popen[str], want: str) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip().startswith(want), line
    return line.strip()


@pytest.mark.parametrize("name", ["a) 1 2 (b", ") S 1 1 1 0 (", "x)", "sp ace )"])
def test_stat_parses_after_the_last_paren(name):
    proc = subprocess.Popen([PY, "-c", _RENAMED, name], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        _wait_line(proc, "READY")
        st = procinfo.stat(proc.pid)
        assert st is not None
        assert st.comm == name
        assert st.pid == proc.pid
        assert st.ppid == os.getpid()
        assert st.session == os.getsid(0)
        assert st.starttime > procinfo.stat(os.getpid()).starttime - 1
        assert [s.pid for s in procinfo.ancestry(proc.pid)[:2]] == [proc.pid, os.getpid()]
    finally:
        proc.communicate("")


def test_stat_of_a_reaped_process_is_none():
    proc = subprocess.Popen(["true"])
    proc.wait()
    assert procinfo.stat(proc.pid) is None
    assert procinfo.proc_cwd(proc.pid) is None


def test_ancestry_ends_at_pid_1():
    chain = procinfo.ancestry(os.getpid())
    assert chain[0].pid == os.getpid()
    assert chain[-1].pid == 1 and chain[-1].ppid == 0
    for child, parent in itertools.pairwise(chain):
        assert child.ppid == parent.pid


def test_ancestry_limit_cuts_the_chain():
    chain = procinfo.ancestry(os.getpid(), limit=1)
    assert [s.pid for s in chain] == [os.getpid()]
    assert chain[-1].ppid != 0


def test_peer_cred_on_a_socketpair():
    a, b = socket.socketpair()
    with a, b:
        assert procinfo.peer_cred(a) == (os.getpid(), os.getuid(), os.getgid())


def _listener(path: str) -> subprocess.Popen[str]:
    code = ("import socket, sys\n"
            "s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)\n"
            "print('READY', flush=True)\n"
            "sys.stdin.read()\n")
    proc = subprocess.Popen([PY, "-c", code, path], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    _wait_line(proc, "READY")
    return proc


def test_peer_cred_and_pidfd_name_the_listener(tmp_path):
    path = str(tmp_path / "l.sock")
    proc = _listener(path)
    try:
        client = socket.socket(socket.AF_UNIX)
        client.connect(path)
        with client:
            assert procinfo.peer_cred(client) == (proc.pid, os.getuid(), os.getgid())
            fd = procinfo.peer_pidfd(client)
            if fd is None:
                pytest.skip("this kernel has no SO_PEERPIDFD")
            try:
                assert not os.get_inheritable(fd)
                assert procinfo.pidfd_alive(fd)
                proc.kill()
                proc.wait()
                assert not procinfo.pidfd_alive(fd)
            finally:
                os.close(fd)
    finally:
        proc.kill()
        proc.communicate()


def test_pidfd_alive_until_reaped():
    proc = subprocess.Popen(["sleep", "300"])
    fd = procinfo.pidfd_open(proc.pid)
    assert fd is not None
    try:
        assert procinfo.pidfd_alive(fd)
        proc.kill()
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)  # a zombie now, not reaped
        assert procinfo.pidfd_alive(fd)
        proc.wait()
        assert not procinfo.pidfd_alive(fd)
        assert procinfo.pidfd_open(proc.pid) is None
    finally:
        os.close(fd)


def test_tracer_pid():
    assert procinfo.tracer_pid() == 0
    assert procinfo.tracer_pid(os.getpid()) == 0
    assert procinfo.tracer_pid(2 ** 22 + 7) == -1  # no such pid: unreadable, never "0"
    strace = shutil.which("strace")
    if not strace:
        pytest.skip("strace is not installed")
    code = "from gatesh import procinfo; print(procinfo.tracer_pid())"
    r = subprocess.run([strace, "-f", "-o", os.devnull, PY, "-c", code],
                       capture_output=True, text=True, timeout=60, check=False)
    if r.returncode != 0 and "ptrace" in r.stderr:
        pytest.skip(f"strace cannot trace here: {r.stderr.strip()}")
    assert int(r.stdout.strip()) > 0


def test_own_tty_nr_names_the_controlling_pty():
    code = ("import os; from gatesh import procinfo\n"
            "rdev = os.stat(os.ttyname(0)).st_rdev\n"
            "print('TTY', procinfo.own_tty_nr(), procinfo.tty_nr_of(rdev))")
    child = pexpect.spawn(PY, ["-c", code], encoding="utf-8", timeout=60)
    child.expect(r"TTY (\d+) (\d+)")
    own, expected = int(child.match.group(1)), int(child.match.group(2))
    child.expect(pexpect.EOF)
    assert own == expected and own != 0
    r = subprocess.run([PY, "-c", "from gatesh import procinfo; print(procinfo.own_tty_nr())"],
                       capture_output=True, text=True, start_new_session=True, timeout=60,
                       check=False)
    assert r.stdout.strip() == "0"


def test_proc_cwd(tmp_path):
    proc = subprocess.Popen(["sleep", "300"], cwd=tmp_path)
    try:
        assert procinfo.proc_cwd(proc.pid) == os.path.realpath(tmp_path)
    finally:
        proc.kill()
        proc.wait()


def _fork(body) -> tuple[int, int]:
    """Fork a child that runs body(write_fd) and exits; returns (pid, read end of its pipe)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(r)
            body(w)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    return pid, r


def _drop_to_nobody() -> None:
    """As root, become uid/gid 65534 so the kernel's same-uid rules apply (root bypasses them)."""
    if os.geteuid() == 0:
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)


@pytest.mark.parametrize("dumpable", [True, False])
def test_set_dumpable_guards_environ_from_a_same_uid_sibling(dumpable):
    def target(w: int) -> None:
        _drop_to_nobody()
        procinfo.set_dumpable(dumpable)
        os.write(w, b"1" if procinfo.get_dumpable() else b"0")
        time.sleep(300)

    tpid, tr = _fork(target)
    try:
        assert os.read(tr, 1) == (b"1" if dumpable else b"0")

        def sibling(w: int) -> None:
            _drop_to_nobody()
            try:
                with open(f"/proc/{tpid}/environ", "rb") as f:
                    f.read()
                os.write(w, b"read")
            except OSError as e:
                os.write(w, errno.errorcode.get(e.errno or 0, "?").encode())
            st = procinfo.stat(tpid)
            os.write(w, b" stat" if st is not None and st.pid == tpid else b" nostat")

        spid, sr = _fork(sibling)
        os.waitpid(spid, 0)
        answer = os.read(sr, 100).decode()
        os.close(sr)
        # the ancestry checks keep working either way: stat stays readable
        assert answer == ("read stat" if dumpable else "EACCES stat")
    finally:
        os.kill(tpid, signal.SIGKILL)
        os.waitpid(tpid, 0)
        os.close(tr)


def test_set_child_subreaper_adopts_a_double_forked_grandchild():
    code = r"""
import os, sys, time
from gatesh import procinfo
procinfo.set_child_subreaper()
assert procinfo.is_child_subreaper()
r, w = os.pipe()
mid = os.fork()
if mid == 0:
    if os.fork() == 0:
        os.setsid()
        os.close(r)
        os.write(w, b"x")
        time.sleep(300)
        os._exit(0)
    os._exit(0)
os.waitpid(mid, 0)
os.read(r, 1)
kids = [int(p) for p in os.listdir("/proc") if p.isdigit()
        and (procinfo.stat(int(p)) or procinfo.Stat(0, "", -1, 0, 0, 0)).ppid == os.getpid()]
print("KIDS", len(kids), flush=True)
for k in kids:
    os.kill(k, 9)
    os.waitpid(k, 0)
"""
    r = subprocess.run([PY, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert r.stdout.strip() == "KIDS 1", r.stderr
