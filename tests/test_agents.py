"""Every agent in harnesses.md, wired the way `gatectl install` prints, run the way it runs.

Each test installs gatesh into a temp HOME with the real `gatectl install`, then drives the
installed shim exactly as the agent does (harnesses.md section 2: argv, stdin, environment,
session, completion marker), using the real client where it installs here (aider's run_cmd,
pexpect.replwrap, libtmux) and the hook protocols of section 3 through `gatectl hook`.  For
each agent an allowed command behaves as it does under the real bash, and `rm -rf ~` (HOME
is the temp dir, holding precious.txt) is stopped and runs nothing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass

import pexpect
import pytest
from pexpect import replwrap

from gtutil import World, gatectl_exe, make_world
from tmuxpane import Pane, have_tmux

BASH = "/usr/bin/bash" if os.path.exists("/usr/bin/bash") else "/bin/bash"
ALLOWED = "echo \"it's $((6*7))\" \"$0\"; ls -a | sort; cd src && pwd"
DESTROY = "rm -rf ~"
_ESC = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]|\x1b\][^\x07]*\x07|\r")


@dataclass(frozen=True)
class Installed:
    world: World
    shim: str        # <shim dir>/bash
    shim_dir: str

    @property
    def env(self) -> dict[str, str]:
        return self.world.env

    def shim_first(self) -> dict[str, str]:
        return dict(self.env, PATH=self.shim_dir + os.pathsep + self.env["PATH"])

    def intact(self) -> bool:
        with open(os.path.join(self.world.home, "precious.txt")) as f:
            return f.read() == "keep me\n"


@pytest.fixture
def inst(tmp_path) -> Installed:
    w = make_world(str(tmp_path))
    w.env["TERM"] = "xterm"
    with open(os.path.join(w.home, ".bashrc"), "w") as f:
        f.write("# the user's own start-up file\n")
    r = w.run([gatectl_exe(), "install"])
    assert r.returncode == 0, r.stderr
    shim_dir = os.path.join(w.env["XDG_DATA_HOME"], "gatesh", "bin")
    shim = os.path.join(shim_dir, "bash")
    assert os.path.realpath(shim) != os.path.realpath(BASH)
    return Installed(w, shim, shim_dir)


def _same(a: subprocess.CompletedProcess[bytes], b: subprocess.CompletedProcess[bytes],
          shim: str) -> None:
    """gatesh's run equals bash's, with the shell's own path (as $0) set aside."""
    s, b_ = shim.encode(), BASH.encode()
    assert (a.returncode, a.stderr.replace(s, b_)) == (b.returncode, b.stderr)
    assert a.stdout.replace(s, b_) == b.stdout


def _blocked(r: subprocess.CompletedProcess[bytes], inst: Installed) -> None:
    assert r.returncode == 126, r
    assert r.stderr.startswith(b"gatesh: BLOCKED - the command was NOT executed: ")
    assert b"BLOCKED" not in r.stdout
    assert inst.intact()


def _hook(inst: Installed, harness: str, payload: dict[str, object]) -> tuple[int, str, str]:
    r = inst.world.run([gatectl_exe(), "hook", harness], input=json.dumps(payload).encode(),
                       stdin=None)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


# --- Claude Code --------------------------------------------------------------------------

def _claude(shell: str, cmd: str, inst: Installed) -> subprocess.CompletedProcess[bytes]:
    """spawn(shell, ['-c', '-l', wrapper]) detached, stdin a pipe left open, SHELL overwritten."""
    cwd_file = os.path.join(inst.world.root, "claude-cwd")
    quoted = "'" + cmd.replace("'", "'\"'\"'") + "'"
    wrapper = (f"shopt -u extglob 2>/dev/null || true && eval {quoted} < /dev/null && "
               f"pwd -P >| {cwd_file}")
    env = dict(inst.env, SHELL=shell, CLAUDECODE="1", GIT_EDITOR="true")
    r_fd, w_fd = os.pipe()
    try:
        return subprocess.run([shell, "-c", "-l", wrapper], stdin=r_fd, capture_output=True,
                              cwd=inst.world.project, env=env, start_new_session=True,
                              timeout=60)
    finally:
        os.close(r_fd)
        os.close(w_fd)


def test_claude_code(inst):
    # CLAUDE_CODE_SHELL is taken only if its path contains "bash" and --version runs
    assert "bash" in inst.shim and os.access(inst.shim, os.X_OK)
    v = inst.world.run([inst.shim, "--version"])
    assert v.returncode == 0 and v.stdout == inst.world.run([BASH, "--version"]).stdout
    _same(_claude(inst.shim, ALLOWED, inst), _claude(BASH, ALLOWED, inst), inst.shim)
    cwd_file = os.path.join(inst.world.root, "claude-cwd")
    with open(cwd_file) as f:
        assert f.read().strip().endswith("/project/src")
    os.unlink(cwd_file)
    _blocked(_claude(inst.shim, DESTROY, inst), inst)
    assert not os.path.exists(cwd_file)   # the && chain stopped
    # the hook route: neutral for an allowed command, never allow for rm -rf ~
    base = {"session_id": "s1", "transcript_path": "/dev/null", "cwd": inst.world.project,
            "permission_mode": "default", "hook_event_name": "PreToolUse", "tool_name": "Bash",
            "tool_use_id": "toolu_1"}
    code, out, _ = _hook(inst, "claude", dict(base, tool_input={"command": "git status"}))
    assert (code, out) == (0, "")
    code, out, err = _hook(inst, "claude", dict(base, tool_input={"command": DESTROY}))
    decision = json.loads(out)["hookSpecificOutput"]["permissionDecision"] if code == 0 else ""
    assert code == 2 or decision in ("deny", "ask"), (code, out, err)
    assert inst.intact()


# --- Codex CLI ----------------------------------------------------------------------------

def _codex_env(inst: Installed) -> dict[str, str]:
    """env_clear() and a policy-built environment: no XDG variables, no GATESH_*."""
    return {k: inst.env[k] for k in ("HOME", "PATH", "USER", "LANG")}


def test_codex(inst):
    env = _codex_env(inst)
    for shell_args in (["-lc"], ["-c"]):
        runs = [inst.world.run([sh, *shell_args, ALLOWED], env=env, start_new_session=True)
                for sh in (inst.shim, BASH)]
        _same(runs[0], runs[1], inst.shim)
        _blocked(inst.world.run([inst.shim, *shell_args, DESTROY], env=env,
                                start_new_session=True), inst)
    # with a shell snapshot gatesh runs twice: the wrapper, then `exec <shell> -c CMD`
    snap = os.path.join(inst.world.root, "snap.sh")
    with open(snap, "w") as f:
        f.write("export SNAP=1\n")

    def snapshot(cmd: str) -> str:
        return (f"if . '{snap}' >/dev/null 2>&1; then :; fi\n\n"
                f"exec '{inst.shim}' -c '{cmd.replace(chr(39), chr(39) + chr(92) + chr(39) * 2)}'")
    r = inst.world.run([inst.shim, "-c", snapshot("echo snap=$SNAP")], env=env)
    assert (r.returncode, r.stdout) == (0, b"snap=1\n")
    _blocked(inst.world.run([inst.shim, "-c", snapshot(DESTROY)], env=env), inst)
    # hooks: PreToolUse denies, PermissionRequest answers allow/deny only for a human
    base = {"session_id": "s", "turn_id": "t", "transcript_path": None,
            "cwd": inst.world.project, "model": "gpt-5", "permission_mode": "default",
            "tool_name": "Bash", "tool_use_id": "c1"}
    pre = dict(base, hook_event_name="PreToolUse")
    code, out, _ = _hook(inst, "codex", dict(pre, tool_input={"command": "ls -la"}))
    assert (code, out) == (0, "")
    code, out, _ = _hook(inst, "codex", dict(pre, tool_input={"command": DESTROY}))
    assert code == 2 or json.loads(out)["hookSpecificOutput"]["permissionDecision"] == "deny"
    perm = dict(base, hook_event_name="PermissionRequest")
    code, out, _ = _hook(inst, "codex", dict(perm, tool_input={"command": DESTROY}))
    assert code == 2 or json.loads(out)["hookSpecificOutput"]["decision"]["behavior"] == "deny"
    assert inst.intact()


# --- aider (the real client: aider.run_cmd with SHELL pointing at the shim) ---------------

@pytest.mark.skipif(not have_tmux(), reason="tmux is not installed")
def test_aider_run_cmd(inst, tmp_path):
    pytest.importorskip("aider.run_cmd", reason="aider-chat is not installed")
    script = ("import sys\nfrom aider.run_cmd import run_cmd\n"
              "rc, out = run_cmd(sys.argv[1])\nprint(f'AIDER_EXIT={rc} OUT={out!r}')\n")
    for cmd, want in (("echo aider-$((40+2))", "0"), (DESTROY, "126")):
        pane = Pane(str(tmp_path), dict(inst.env, SHELL=inst.shim))
        pane.start([sys.executable, "-c", script, cmd], cwd=inst.world.project)
        try:
            screen = pane.wait_for("AIDER_EXIT=")
            assert f"AIDER_EXIT={want}" in screen, screen
            # run_cmd returns what the command printed (what aider shows the model)
            assert ("OUT='aider-42\\r\\n'" in screen) if want == "0" else (
                "status=blocked" in screen), screen
        finally:
            pane.tmux("kill-server", check=False)
    assert inst.intact()


# --- OpenHands (SDK subprocess backend in a pty; V0 in a tmux window through libtmux) -----

_PS1JSON = (r'\n###PS1JSON###\n{ "pid":"$!", "exit_code":"$?", "username":"\u", '
            r'"hostname":"\h", "working_dir":"$(pwd)" }\n###PS1END###\n')
_SETUP = "set +H; export PROMPT_COMMAND='export PS1=\"" + _PS1JSON.replace('"', '\\"') + \
    "\"'; export PS2=\"\""
_REPLY = re.compile(r"###PS1JSON###\r*\n(.*?)\r*\n###PS1END###", re.S)


def test_openhands_sdk(inst):
    p = pexpect.spawn(inst.shim, ["-i"], env=dict(inst.env, PS1="$ ", PS2=""),
                      cwd=inst.world.project, encoding="utf-8", timeout=20,
                      dimensions=(40, 200))
    try:
        p.sendline(_SETUP)
        p.expect(_REPLY)
        p.sendline("cd src && echo inside")
        p.expect(_REPLY)
        info = json.loads(p.match.group(1))
        assert "inside" in p.before and info["exit_code"] == "0"
        assert info["working_dir"].endswith("/src")
        p.sendline(DESTROY)
        p.expect(_REPLY)
        assert json.loads(p.match.group(1))["exit_code"] == "126" and "BLOCKED" in p.before
        p.sendline("echo alive")
        p.expect(_REPLY)
        assert "alive" in p.before
    finally:
        p.close(force=True)
    assert inst.intact()


@pytest.mark.skipif(not have_tmux(), reason="tmux is not installed")
def test_openhands_v0_libtmux(inst, tmp_path):
    libtmux = pytest.importorskip("libtmux")
    conf = os.path.join(str(tmp_path), "tmux.conf")
    with open(conf, "w") as f:
        f.write("set -g history-limit 5000\n")
    server = libtmux.Server(socket_path=os.path.join(str(tmp_path), "oh.sock"), config_file=conf)
    envs = " ".join(f"{k}={v}" for k, v in inst.env.items() if " " not in v)
    try:
        session = server.new_session(session_name="openhands", x=200, y=50,
                                     window_command=f"env -i {envs} {inst.shim}",
                                     start_directory=inst.world.project)
        pane = session.active_window.active_pane
        pane.send_keys(_SETUP, enter=True)

        def replies(n: int) -> str:
            import time
            for _ in range(200):
                text = "\n".join(pane.capture_pane(start=-2000))
                if [ln.strip() for ln in text.splitlines()].count("###PS1END###") >= n:
                    return text
                time.sleep(0.1)
            raise AssertionError(text)
        before = [ln.strip() for ln in replies(1).splitlines()].count("###PS1END###")
        pane.send_keys("echo from-tmux $((1+1))", enter=True)
        text = replies(before + 1)
        assert "from-tmux 2" in text
        pane.send_keys(DESTROY, enter=True)
        text = replies(before + 2)
        last = text.rsplit("###PS1JSON###", 1)[1].split("###PS1END###")[0]
        assert json.loads(last.replace("\n", ""))["exit_code"] == "126"
        assert "BLOCKED" in text
    finally:
        server.kill()
    assert inst.intact()


# --- SWE-agent / SWE-ReX (`/usr/bin/env bash` with the shims first on PATH) ----------------

def test_swe_rex(inst):
    env = dict(inst.shim_first(), PS1="SHELLPS1PREFIX", PS2="", PS0="")
    assert shutil.which("bash", path=env["PATH"]) == inst.shim
    p = pexpect.spawn("/usr/bin/env", ["bash"], env=env, cwd=inst.world.project,
                      encoding="utf-8", timeout=20, echo=False)

    def run(cmd: str) -> tuple[str, int]:
        p.sendline(cmd)
        p.sendline("\necho EXITCODESTART$?EXITCODEEND")
        p.expect(r"EXITCODESTART(\d+)EXITCODEEND")
        code, out = int(p.match.group(1)), p.before
        p.expect_exact("SHELLPS1PREFIX")
        return out, code
    try:
        # SWE-ReX sources /root/.bashrc (it runs as root in its container); here HOME's
        p.sendline("source ~/.bashrc ; sleep 0.3 ; export PS1='SHELLPS1PREFIX' ; "
                   "export PS2='' ; export PS0=''")
        p.expect_exact("SHELLPS1PREFIX")
        out, code = run("echo one ; cd src")
        assert "one" in out and code == 0
        out, code = run(DESTROY)
        assert "BLOCKED" in out and code == 126
        out, code = run("pwd")
        assert "/project/src\r\n" in out and code == 0
    finally:
        p.close(force=True)
    # the syntax pre-check reaches the shim as `bash -n` with the script on stdin
    for body in (DESTROY, "if then fi"):
        check = f"/usr/bin/env bash -n << 'UNIQUESTRING29234'\n{body}\nUNIQUESTRING29234"
        runs = [subprocess.run(check, shell=True, capture_output=True, cwd=inst.world.project,
                               env=e, timeout=30) for e in (inst.shim_first(), inst.env)]
        # bash names itself by argv[0], "bash"; a script run through #! gets its full path
        # as argv[0] from the kernel, and that is the one difference
        err = runs[0].stderr.replace(inst.shim.encode(), b"bash")
        assert (runs[0].returncode, err) == (runs[1].returncode, runs[1].stderr)
    assert inst.intact()


# --- Goose (GOOSE_SHELL) --------------------------------------------------------------------

def test_goose(inst):
    env = dict(inst.env, GOOSE_SHELL=inst.shim, GOOSE_TERMINAL="1", AGENT="goose")
    runs = [inst.world.run([sh, "-c", ALLOWED], env=env) for sh in (inst.shim, BASH)]
    _same(runs[0], runs[1], inst.shim)
    _blocked(inst.world.run([inst.shim, "-c", DESTROY], env=env), inst)
    # start-up PATH probe: the last non-empty stdout line is PATH, in a new session
    probes = [inst.world.run([sh, "-l", "-i", "-c", "echo $PATH"], env=env,
                             start_new_session=True) for sh in (inst.shim, BASH)]
    lines = [[x for x in p.stdout.decode().splitlines() if x.strip()] for p in probes]
    assert lines[0] and lines[0][-1] == lines[1][-1]


# --- Gemini CLI (bash from PATH, its wrapper; the BeforeTool hook) ---------------------------

def test_gemini(inst):
    env = dict(inst.shim_first(), GEMINI_CLI="1", PAGER="cat", GIT_CONFIG_GLOBAL="/dev/null")
    bash = shutil.which("bash", path=env["PATH"])
    assert bash == inst.shim

    def wrapper(cmd: str) -> str:
        return (f"shopt -u promptvars nullglob extglob nocaseglob dotglob; "
                f"_bgpids_file={inst.world.root}/bg\n(\n  trap 'jobs -p > \"$_bgpids_file\"' "
                f"EXIT\n{cmd}\n)\n__code=$?\nexit $__code")
    runs = [inst.world.run([sh, "-c", wrapper(ALLOWED)], env=env, start_new_session=True)
            for sh in (bash, BASH)]
    _same(runs[0], runs[1], inst.shim)
    _blocked(inst.world.run([bash, "-c", wrapper(DESTROY)], env=env), inst)
    base = {"session_id": "g", "transcript_path": "/dev/null", "cwd": inst.world.project,
            "hook_event_name": "BeforeTool", "timestamp": "2026-11-22T10:00:00Z",
            "tool_name": "run_shell_command"}
    code, out, _ = _hook(inst, "gemini", dict(base, tool_input={"command": "ls"}))
    assert code == 0 and json.loads(out) == {}
    code, out, _ = _hook(inst, "gemini", dict(base, tool_input={"command": DESTROY,
                                                                 "dir_path": "src"}))
    assert code == 2 or json.loads(out)["decision"] in ("deny", "block")
    assert inst.intact()


# --- opencode ("shell" in its config: the bash tool, and `!cmd` by basename) ----------------

def test_opencode(inst):
    runs = [inst.world.run([sh, "-c", ALLOWED]) for sh in (inst.shim, BASH)]
    _same(runs[0], runs[1], inst.shim)
    _blocked(inst.world.run([inst.shim, "-c", DESTROY]), inst)

    def bang(cmd: str) -> list[str]:
        return ["-l", "-c", "shopt -s expand_aliases; [[ -f ~/.bashrc ]] && source ~/.bashrc; "
                f"cd -- \"$1\"; eval {json.dumps(cmd)}", "opencode", inst.world.project]
    # the command is JSON-quoted inside eval "...": $0 and $1 expand before eval reads it
    runs = [inst.world.run([sh, *bang("echo $0 $1; pwd")]) for sh in (inst.shim, BASH)]
    _same(runs[0], runs[1], inst.shim)
    assert runs[0].stdout.startswith(f"opencode {inst.world.project}\n".encode())
    _blocked(inst.world.run([inst.shim, *bang(DESTROY)]), inst)


# --- Cline / Roo Code (VS Code terminal profile with shell integration; execa -c) -----------

def test_cline_roo_vscode_terminal(inst):
    init = os.path.join(inst.world.root, "shellIntegration-bash.sh")
    with open(init, "w") as f:   # what VS Code's script does that matters here: OSC 633
        f.write("[ -f ~/.bashrc ] && . ~/.bashrc\nPS1='vsc$ '\n"
                "__vsc_done() { printf '\\033]633;D;%s\\007\\033]633;A\\007' \"$?\"; }\n"
                "PROMPT_COMMAND=__vsc_done\n")
    p = pexpect.spawn(inst.shim, ["--init-file", init], cwd=inst.world.project, timeout=20,
                      env=dict(inst.env, VSCODE_INJECTION="1", CLINE_ACTIVE="true",
                               SHELL=inst.shim))
    try:
        p.expect_exact(b"\x1b]633;A\x07")
        p.sendline("echo from-vscode")
        p.expect_exact(b"\x1b]633;D;0\x07")
        assert b"from-vscode" in p.before
        p.sendline(DESTROY)
        p.expect_exact(b"\x1b]633;D;126\x07")
        assert b"BLOCKED" in p.before
    finally:
        p.close(force=True)
    # background exec (Cline) and execa (Roo): -c CMD, stdin closed or ignored
    runs = [inst.world.run([sh, "-c", ALLOWED]) for sh in (inst.shim, BASH)]
    _same(runs[0], runs[1], inst.shim)
    _blocked(inst.world.run([inst.shim, "-c", DESTROY]), inst)


# --- Open Interpreter 0.4 (Popen([$SHELL]) fed on a pipe, sentinel on stdout) ---------------

def test_open_interpreter(inst):
    env = dict(inst.env, SHELL=inst.shim)
    p = subprocess.Popen([env["SHELL"]], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, bufsize=0, cwd=inst.world.project, env=env)
    assert p.stdin and p.stdout

    def block(code: str) -> bytes:
        lines = [f'echo "##active_line {i}##"\n{line}\n'
                 for i, line in enumerate(code.splitlines(), 1)]
        p.stdin.write(("".join(lines) + 'echo "##end_of_execution##"\n').encode())
        out = b""
        while b"##end_of_execution##" not in out:
            chunk = p.stdout.read1(65536) if hasattr(p.stdout, "read1") else os.read(
                p.stdout.fileno(), 65536)
            assert chunk, out
            out += chunk
        return out
    try:
        assert b"oi-42" in block("X=42\necho oi-$X")   # output arrives while stdin is open
        assert b"still-42" in block(f"{DESTROY}\necho still-$X")   # state kept
    finally:
        p.stdin.close()
        p.wait(timeout=30)
    assert p.stderr and b"gatesh: BLOCKED - the command was NOT executed: " in p.stderr.read()
    assert inst.intact()


# --- Python subprocess (executable=) and pexpect.replwrap (command=) -------------------------

def test_python_subprocess(inst):
    runs = [subprocess.run([ALLOWED, "arg0"], shell=True, executable=sh, capture_output=True,
                           cwd=inst.world.project, env=inst.env, timeout=60)
            for sh in (inst.shim, BASH)]
    _same(runs[0], runs[1], inst.shim)
    _blocked(subprocess.run(DESTROY, shell=True, executable=inst.shim, capture_output=True,
                            cwd=inst.world.project, env=inst.env, timeout=60), inst)


def test_pexpect_replwrap(inst, monkeypatch):
    monkeypatch.chdir(inst.world.project)
    for k, v in inst.env.items():
        monkeypatch.setenv(k, v)
    outs = []
    for sh in (inst.shim, BASH):
        repl = replwrap.bash(command=sh)
        try:
            outs.append(_ESC.sub("", repl.run_command("echo repl $((3*3)); cd src; pwd")))
            if sh == inst.shim:
                assert "BLOCKED" in repl.run_command(DESTROY)
                assert _ESC.sub("", repl.run_command("echo $?")).strip() == "126"
        finally:
            repl.child.close(force=True)
    assert outs[0] == outs[1] and "repl 9" in outs[0]
    assert inst.intact()


# --- Cursor (beforeShellExecution hook only) ---------------------------------------------------

def test_cursor_hook(inst):
    base = {"hook_event_name": "beforeShellExecution", "conversation_id": "c",
            "generation_id": "g", "workspace_roots": [inst.world.project],
            "cwd": inst.world.project}
    code, out, _ = _hook(inst, "cursor", dict(base, command="npm test"))
    assert code == 0 and json.loads(out)["permission"] == "allow"
    code, out, _ = _hook(inst, "cursor", dict(base, command=DESTROY))
    assert code == 2 or json.loads(out)["permission"] == "deny"
    assert inst.intact()
