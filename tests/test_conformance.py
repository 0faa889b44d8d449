"""An allowed command runs under gatesh exactly as under bash: the process, not just output.

Each test runs the same thing under the real bash (behind a private link named bash) and
under gatesh (named bash too), in dry-run mode, and compares what the parent sees: exit
status or death by signal, stdout and stderr bytes, the environment and signal state bash
received, its pid, process group and cwd.  The slow tier runs the shared shell-conformance
corpus through shdiff.py.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO, Shells, iso_env, normalise as _norm



def run(path: str, args: list[object], env: dict[str, str], cwd: str,
        **kw: object) -> subprocess.CompletedProcess[bytes]:
    if "input" not in kw:
        kw.setdefault("stdin", subprocess.DEVNULL)
    kw.setdefault("start_new_session", True)
    return subprocess.run([path, *args], env=env, cwd=cwd, capture_output=True,  # type: ignore[call-overload]
                          timeout=60, **kw)


def same(shells: Shells, args: list[object], env: dict[str, str], cwd: str,
         **kw: object) -> tuple[subprocess.CompletedProcess[bytes], ...]:
    o = run(shells.bash, args, env, cwd, **kw)
    g = run(shells.gatesh, args, env, cwd, **kw)
    assert g.returncode == o.returncode, (args, o.returncode, g.returncode, g.stderr)
    assert _norm(g.stdout, shells) == _norm(o.stdout, shells), args
    assert _norm(g.stderr, shells) == _norm(o.stderr, shells), args
    return o, g


@pytest.mark.parametrize("code, status", [
    ("exit 0", 0), ("exit 1", 1), ("exit 7", 7), ("exit 126", 126), ("exit 127", 127),
    ("exit 255", 255), ("exit 256", 0), ("nosuchcommand-xyz", 127), ("false", 1),
])
def test_exit_status(shells: Shells, world: dict[str, str], code: str, status: int) -> None:
    o, g = same(shells, ["-c", code], world, world["HOME"])
    assert g.returncode == status


@pytest.mark.parametrize("sig", ["TERM", "SEGV", "KILL", "INT", "HUP", "PIPE"])
def test_death_by_signal(shells: Shells, world: dict[str, str], sig: str) -> None:
    """`kill -SIG $$`: the parent sees bash die by that signal, not an exit status."""
    o, g = same(shells, ["-c", f"ulimit -c 0; kill -{sig} $$; echo survived"], world,
                world["HOME"])
    assert g.returncode == -getattr(signal, "SIG" + sig)


def test_pid_is_the_spawned_process(shells: Shells, world: dict[str, str]) -> None:
    """exec, not a child: $$ is the pid the parent spawned, and its group is bash's."""
    code = 'read -r s < /proc/$$/stat; set -- ${s##*) }; echo "$$ $3 $2"'
    for new_session in (True, False):
        p = subprocess.Popen([shells.gatesh, "-c", code], env=world, cwd=world["HOME"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             start_new_session=new_session)
        out, _ = p.communicate(timeout=60)
        pid, pgid, ppid = (int(x) for x in out.split())
        assert pid == p.pid
        assert ppid == os.getpid()
        assert pgid == (p.pid if new_session else os.getpgid(0))


def test_comm_and_exe_are_bash(shells: Shells, world: dict[str, str]) -> None:
    o, g = same(shells, ["-c", "read -r c < /proc/$$/comm; echo $c; echo $(readlink /proc/$$/exe)"],
                world, world["HOME"])
    assert g.stdout == f"bash\n{shells.real_bash}\n".encode()


def test_no_extra_open_fds(shells: Shells, world: dict[str, str]) -> None:
    """Nothing gatesh or the gate opened leaks into bash (fds, and the audit lock)."""
    code = "ls /proc/$$/fd; :"
    o, g = same(shells, ["-c", code], world, world["HOME"])
    assert g.stdout == b"0\n1\n2\n"
    script = os.path.join(world["HOME"], "fds.sh")
    with open(script, "w") as f:
        f.write(code + "\n")
    same(shells, [script], world, world["HOME"])
    same(shells, ["-s"], world, world["HOME"], input=(code + "\n").encode())


def test_cwd(shells: Shells, world: dict[str, str]) -> None:
    sub = os.path.join(world["HOME"], "a dir")
    os.mkdir(sub)
    env = dict(world, PWD=sub)
    o, g = same(shells, ["-c", 'pwd; pwd -P; echo "$PWD"'], env, sub)
    assert g.stdout == f"{sub}\n{sub}\n{sub}\n".encode()


def test_stdin_passthrough(shells: Shells, world: dict[str, str]) -> None:
    data = bytes(range(256)) * 1000
    o, g = same(shells, ["-c", "cat"], world, world["HOME"], input=data)
    assert g.stdout == data


def test_open_unwritten_stdin_does_not_hang(shells: Shells, world: dict[str, str]) -> None:
    """Claude Code leaves stdin an open pipe and never writes: gatesh must not read it."""
    r, w = os.pipe()
    try:
        t0 = time.monotonic()
        p = subprocess.run([shells.gatesh, "-c", "echo $$ ran"], stdin=r, env=world,
                           cwd=world["HOME"], capture_output=True, timeout=30)
        assert p.returncode == 0 and p.stdout.endswith(b" ran\n")
        assert time.monotonic() - t0 < 20
        # and a command that reads it gets everything, first byte included
        p2 = subprocess.Popen([shells.gatesh, "-c", "head -c 5"], stdin=r, env=world,
                              cwd=world["HOME"], stdout=subprocess.PIPE)
        time.sleep(0.3)
        os.write(w, b"hello world")
        out, _ = p2.communicate(timeout=30)
        assert out == b"hello"
    finally:
        os.close(r)
        os.close(w)


def test_closed_stdin(shells: Shells, world: dict[str, str]) -> None:
    """With fd 0 closed, `cat` fails at once, as under bash."""
    def close_stdin() -> None:
        os.close(0)

    res = []
    for sh in (shells.bash, shells.gatesh):
        p = subprocess.run([sh, "-c", "cat; echo status=$?; ls -l /proc/$$/fd/0 2>&1 | wc -l"],
                           stdin=subprocess.DEVNULL, preexec_fn=close_stdin, env=world,
                           cwd=world["HOME"], capture_output=True, timeout=30)
        res.append((p.returncode, p.stdout, _norm(p.stderr, shells)))
    assert res[0] == res[1]
    assert b"status=1" in res[1][1]


def test_nul_bytes_in_output(shells: Shells, world: dict[str, str]) -> None:
    o, g = same(shells, ["-c", r"printf 'a\0b'; printf 'e\0r' >&2"], world, world["HOME"])
    assert (g.stdout, g.stderr) == (b"a\0b", b"e\0r")


def test_large_output_through_a_pipe(shells: Shells, world: dict[str, str]) -> None:
    code = "yes 0123456789abcdef | head -c 20000000"
    outs = []
    for sh in (shells.bash, shells.gatesh):
        p = subprocess.Popen([sh, "-c", code], env=world, cwd=world["HOME"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
        digest, size = hashlib.sha256(), 0
        assert p.stdout is not None
        while chunk := p.stdout.read(1 << 16):
            digest.update(chunk)
            size += len(chunk)
        assert p.wait(timeout=60) == 0
        outs.append((size, digest.hexdigest()))
    assert outs[0] == outs[1] and outs[1][0] == 20_000_000


# bash's own /proc entry, read by a builtin (a lone `cat` would be exec'd in bash's place)
_ENVIRON = "while IFS= read -r -d '' e; do printf '%s\\0' \"$e\"; done < /proc/$$/environ"


def _environ_seen(shells: Shells, env: dict[str, str], cwd: str) -> tuple[bytes, bytes]:
    o, g = same(shells, ["-c", _ENVIRON], env, cwd)
    return o.stdout, g.stdout


def test_environment_is_exact(shells: Shells, world: dict[str, str]) -> None:
    env = dict(world, ZZZ_FIRST="1", weird_name="a=b=c", EMPTY="", SPACES=" x  y ",
               PYTHONPATH="/nonexistent-but-the-caller-set-it")
    bash_env, gatesh_env = _environ_seen(shells, env, world["HOME"])
    assert gatesh_env == bash_env
    assert gatesh_env == b"".join(f"{k}={v}\0".encode() for k, v in env.items())


@pytest.mark.parametrize("locale_env", [
    {"LANG": "C"}, {}, {"LC_ALL": "C"}, {"LC_CTYPE": "C"}, {"LANG": "POSIX"},
])
def test_pep538_locale_coercion_is_undone(shells: Shells, tmp_path: object,
                                          locale_env: dict[str, str]) -> None:
    """Python coerces a C locale into LC_CTYPE=C.UTF-8; bash must not see that."""
    env = iso_env(str(tmp_path), GATESH_MODE="dry-run")
    del env["LC_ALL"]
    env.update(locale_env)
    bash_env, gatesh_env = _environ_seen(shells, env, env["HOME"])
    assert gatesh_env == bash_env
    assert not any(e.startswith(b"PYTHON") for e in gatesh_env.split(b"\0"))
    o, g = same(shells, ["-c", 'echo "${LC_CTYPE-unset} ${LC_ALL-unset} $(locale charmap)"'],
                env, env["HOME"])


def test_non_utf8_arguments_round_trip(shells: Shells, tmp_path: object) -> None:
    env = iso_env(str(tmp_path), GATESH_MODE="dry-run", LANG="C")
    del env["LC_ALL"]
    args: list[object] = [b"-c", b'printf "%s|" "$0" "$1" "$2" | od -An -c',
                          b"n\xff", b"\xfe\xe9", "é".encode()]
    o, g = same(shells, args, env, env["HOME"])
    assert b"377" in g.stdout


def test_raw_environment_entries(shells: Shells, world: dict[str, str]) -> None:
    """Duplicate names and entries without '=' reach bash as they were given."""
    helper = (
        "import ctypes, os, sys\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "argv = [os.fsencode(sys.argv[1]), b'-c', os.fsencode(sys.argv[4]), None]\n"
        "envp = [b'DUP=1', b'NOEQUALS', b'DUP=2', b'PATH=/usr/bin:/bin', b'=empty-name',\n"
        "        b'XDG_CONFIG_HOME=' + os.fsencode(sys.argv[2]),\n"
        "        b'XDG_STATE_HOME=' + os.fsencode(sys.argv[3]), b'GATESH_MODE=dry-run', None]\n"
        "libc.execve(argv[0], (ctypes.c_char_p * len(argv))(*argv),\n"
        "            (ctypes.c_char_p * len(envp))(*envp))\n"
        "sys.exit(99)\n"
    )
    outs = []
    for sh in (shells.bash, shells.gatesh):
        p = subprocess.run([sys.executable, "-c", helper, sh, world["XDG_CONFIG_HOME"],
                            world["XDG_STATE_HOME"], _ENVIRON], cwd=world["HOME"], env=world,
                           capture_output=True, timeout=60)
        outs.append((p.returncode, p.stdout))
    assert outs[0] == outs[1]
    assert b"NOEQUALS\0" in outs[1][1] and b"DUP=1\0" in outs[1][1]


# bash's signal sets, read by bash itself (while it forks and waits for a child, bash
# blocks SIGCHLD for a moment, so a child reading them would race)
_SIGSETS = ("while read -r k v; do case $k in SigIgn:|SigBlk:|SigCgt:) echo \"$k\t$v\";; "
            "esac; done < /proc/$$/status")


def test_signal_state_is_bash_own(shells: Shells, world: dict[str, str]) -> None:
    """Ignored, blocked and caught signal sets are what bash has when started directly."""
    code = _SIGSETS + "; trap -p"
    o, g = same(shells, ["-c", code], world, world["HOME"])
    ign = int(dict(ln.split(":\t") for ln in g.stdout.decode().splitlines()
                   if ln.startswith("Sig"))["SigIgn"], 16)
    assert not ign & (1 << (signal.SIGPIPE - 1)) and not ign & (1 << (signal.SIGXFSZ - 1))


def test_caller_ignored_signals_stay_ignored(shells: Shells, world: dict[str, str]) -> None:
    """A signal the caller ignores (nohup, `cmd &`) is still ignored in bash."""
    def ignore() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)

    code = _SIGSETS + "; trap -p; trap - INT; trap -p INT"
    res = []
    for sh in (shells.bash, shells.gatesh):
        p = subprocess.run([sh, "-c", code], stdin=subprocess.DEVNULL, preexec_fn=ignore,
                           env=world, cwd=world["HOME"], capture_output=True, timeout=30)
        res.append((p.returncode, p.stdout, p.stderr))
    assert res[0] == res[1]


def test_sigpipe_default(shells: Shells, world: dict[str, str]) -> None:
    o, g = same(shells, ["-c", 'yes | head -1; echo "${PIPESTATUS[@]}"; trap -p PIPE'],
                world, world["HOME"])
    assert g.stdout == b"y\n141 0\n"


def test_sigxfsz_default(shells: Shells, world: dict[str, str]) -> None:
    code = "exec 2>/dev/null; ulimit -f 1; head -c 100000 /dev/zero > big; echo $?"
    o, g = same(shells, ["-c", code], world, world["HOME"])
    assert g.stdout == b"153\n"


@pytest.mark.parametrize("suffix", [
    "", "\n# a second line 'quoted' \"double\" $x `y`", " # \xe9\u2028\t\x01", "  ",
])
def test_bash_execution_string(shells: Shells, world: dict[str, str], suffix: str) -> None:
    text = "printf '%s' \"$BASH_EXECUTION_STRING\"" + suffix
    o, g = same(shells, ["-c", text], world, world["HOME"])
    assert g.stdout == text.encode()


def test_argv_and_dollar_zero(shells: Shells, world: dict[str, str]) -> None:
    code = 'echo "$0|$#|$*|$BASH_ARGV0|${BASH_ARGV[*]}"; shopt -q login_shell && echo login'
    same(shells, ["-c", code], world, world["HOME"])
    same(shells, ["-c", code, "name", "1", "2 3"], world, world["HOME"])
    o, g = same(shells, ["-l", "-c", code, "-name"], world, world["HOME"])
    assert g.stdout.startswith(b"-name|0||-name|")


# --- the shared shell-conformance corpus -----------------------------------------------------

_SHDIFF = os.path.join(os.path.dirname(REPO), "shared", "tools", "shdiff.py")


def _installed_gatesh() -> str | None:
    cand = os.path.join(os.path.dirname(sys.executable), "gatesh")
    return cand if os.access(cand, os.X_OK) else shutil.which("gatesh")


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["c", "script"])
def test_shdiff_corpus(shells: Shells, mode: str, tmp_path: object) -> None:
    if not os.path.exists(_SHDIFF):
        pytest.skip("shared/tools/shdiff.py is not beside the repository")
    exe = _installed_gatesh()
    if exe is None:
        exe = shells.gatesh                  # the launcher, when gatesh is not installed
    root = str(tmp_path)
    env = dict(os.environ, XDG_CONFIG_HOME=os.path.join(root, "config"),
               XDG_STATE_HOME=os.path.join(root, "state"),
               XDG_CACHE_HOME=os.path.join(root, "cache"),
               XDG_RUNTIME_DIR=os.path.join(root, "run"), GATESH_MODE="dry-run")
    # shdiff gives each case a fixed environment; --env passes the gate's settings through
    # cases that start dozens of nested shells get 15 s (not 5): a loaded machine is not a
    # conformance failure
    args = [sys.executable, _SHDIFF, "--shell", exe, "--mode", mode, "-q", "--jobs", "8",
            "--timeout", "15"]
    for key in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR",
                "GATESH_MODE"):
        args += ["--env", f"{key}={env[key]}"]
    p = subprocess.run(args, env=env, capture_output=True, text=True, timeout=1800)
    summary = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else p.stderr
    assert summary == "1943 passed, 0 failed", p.stdout[-4000:] + p.stderr[-2000:]
