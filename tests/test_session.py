"""gatesh as a long-lived shell: an interactive session in a pty, and a session fed on stdin.

Each test drives gatesh the way a harness in ../shared/design/harnesses.md does (pexpect,
pexpect.replwrap, SWE-ReX's exit-code echo, OpenHands' PS1 JSON, tmux send-keys, Open
Interpreter's stdin writer), in a temp HOME.  The destructive command is always `rm -rf ~`
with HOME a temp directory holding precious.txt, which must survive.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pexpect
import pytest
from pexpect import replwrap

from gtutil import gatectl_exe, gatesh_exe, make_world
from tmuxpane import Pane, have_tmux

PROMPT = "GATESH_TEST$ "


@pytest.fixture
def world(tmp_path):
    w = make_world(str(tmp_path))
    with open(os.path.join(w.home, ".bashrc"), "w") as f:
        f.write(f"PS1='{PROMPT}'\n")
    w.env["TERM"] = "xterm"
    return w


def _precious(world) -> str:
    with open(os.path.join(world.home, "precious.txt")) as f:
        return f.read()


def _spawn(world, args=(), **kw) -> pexpect.spawn:
    p = pexpect.spawn(gatesh_exe(), list(args), env=world.env, cwd=world.project,
                      encoding="utf-8", timeout=20, dimensions=(30, 100), **kw)
    p.expect_exact(PROMPT)
    return p


def _run(p: pexpect.spawn, line: str) -> str:
    p.sendline(line)
    p.expect_exact(PROMPT)
    return p.before


# --- interactive mode -------------------------------------------------------------------

def test_allowed_commands_run_and_state_persists(world):
    p = _spawn(world)
    out = _run(p, "X=41; cd src; f() { echo $((X+1)); }")
    assert "gatesh" not in out
    assert "42" in _run(p, "f; pwd")
    assert world.project + "/src" in _run(p, "pwd")
    p.sendline("exit 7")
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 7


def test_blocked_command_leaves_the_shell_alive_with_status_126(world):
    p = _spawn(world)
    _run(p, "cd src; Y=kept")
    out = _run(p, "rm -rf ~")
    assert "gatesh: BLOCKED - the command was NOT executed" in out
    assert "rm -rf ~" in out and "__gatesh_blocked" not in out
    assert "status=126 Y=kept" in _run(p, "echo status=$? Y=$Y; pwd")
    assert world.project + "/src" in _run(p, "pwd")
    assert "__gatesh_blocked" not in _run(p, "history 3")
    assert _precious(world) == "keep me\n"
    p.sendline("exit")
    p.expect(pexpect.EOF)


def test_multi_line_commands_are_gated_whole(world):
    p = _spawn(world)
    p.sendline("for i in 1 2; do")
    p.expect_exact("> ")
    p.sendline("echo n$i; done")
    p.expect_exact(PROMPT)
    assert "n1" in p.before and "n2" in p.before
    # the last line of a compound command is what makes it destructive: nothing runs
    p.sendline("if true; then")
    p.expect_exact("> ")
    p.sendline("rm -rf ~; fi")
    p.expect_exact("BLOCKED")
    p.expect_exact(PROMPT)
    assert "status=126" in _run(p, "echo status=$?")
    # a continuation line and a heredoc
    assert "ab" in _run(p, "echo a\\\nb")
    p.sendline("cat <<EOF")
    p.expect_exact("> ")
    p.sendline("body text")
    p.expect_exact("> ")
    p.sendline("EOF")
    p.expect_exact(PROMPT)
    assert "body text" in p.before
    assert _precious(world) == "keep me\n"


def test_foreground_program_input_passes_through(world):
    p = _spawn(world)
    p.sendline("read -r line; echo got:$line")
    time.sleep(0.3)
    p.sendline("rm -rf ~ is only data here")
    p.expect_exact("got:rm -rf ~ is only data here")
    p.expect_exact(PROMPT)
    p.sendline("python3 -c 'import sys; print(sys.stdin.readline().upper())'")
    time.sleep(0.5)
    p.sendline("rm -rf ~")
    p.expect_exact("RM -RF ~")
    p.expect_exact(PROMPT)
    assert _precious(world) == "keep me\n"


def test_input_typed_ahead_during_a_command_is_gated_at_the_prompt(world):
    p = _spawn(world)
    p.sendline("sleep 1")
    time.sleep(0.3)            # sleep is the foreground job: this goes to the terminal
    p.sendline("rm -rf ~")
    p.expect_exact("BLOCKED")
    p.expect_exact(PROMPT)
    assert _precious(world) == "keep me\n"


def test_removing_the_prompt_mark_does_not_open_the_gate(world):
    p = _spawn(world)
    assert "tamper:session_hooks" in _run(p, "unset PROMPT_COMMAND")
    assert "tamper:readline_bindings" in _run(p, "bind '\"q\": \"rm -rf ~\"'")
    _run(p, "PROMPT_COMMAND=()")       # gone all the same: the terminal still tells
    p.sendline("rm -rf ~")
    p.expect_exact("BLOCKED")
    p.expect_exact(PROMPT)
    assert _precious(world) == "keep me\n"


def test_ctrl_c_drops_a_held_line_and_ctrl_d_exits(world):
    p = _spawn(world)
    p.send("rm -rf ~")
    p.sendcontrol("c")
    p.expect_exact(PROMPT)
    assert "status=130" in _run(p, "echo status=$?")
    p.sendcontrol("d")
    p.expect(pexpect.EOF)
    assert _precious(world) == "keep me\n"


def test_window_size_is_forwarded_at_start_and_on_resize(world):
    p = _spawn(world)
    assert "30 100" in _run(p, "stty size")
    p.setwinsize(19, 84)
    p.expect_exact(PROMPT)       # readline redraws its prompt on SIGWINCH, as under bash
    assert "19 84" in _run(p, "stty size")


def test_killed_bash_gives_128_plus_n(world):
    p = _spawn(world)
    p.sendline("kill -KILL $$")    # interactive bash ignores SIGTERM, as it should
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 128 + signal.SIGKILL


def test_nested_shells_resolve_to_gatesh(world):
    p = _spawn(world)
    out = _run(p, "command -v bash; echo shell=$SHELL")
    assert "shims/bash" in out and "shell=" + gatesh_exe() in out
    script = os.path.join(world.project, "cleanup.sh")
    with open(script, "w") as f:
        f.write("#!/usr/bin/env bash\nrm -rf ~\n")
    os.chmod(script, 0o755)
    out = _run(p, "./cleanup.sh; echo inner=$?")   # env finds bash on PATH: the shim
    assert "BLOCKED" in out and "inner=126" in out
    assert _precious(world) == "keep me\n"


# --- harnesses --------------------------------------------------------------------------

_ESC = re.compile(r"\x1b\[\?2004[hl]|\r")


def test_pexpect_replwrap_matches_bash(world):
    """replwrap.bash() with gatesh as the command gives bash's own answers."""
    script = ["echo hello; cd /", "pwd", "for i in a b\ndo echo $i\ndone", "echo $((6*7))"]
    answers = {}
    for name, command in (("bash", "bash"), ("gatesh", gatesh_exe())):
        repl = replwrap.bash(command=command)
        try:
            answers[name] = [repl.run_command(c) for c in script]
        finally:
            repl.child.close()
    assert answers["gatesh"] == answers["bash"]
    assert _ESC.sub("", answers["gatesh"][2]).split() == ["a", "b"]
    repl = replwrap.bash(command=gatesh_exe())
    try:
        assert "BLOCKED" in repl.run_command("rm -rf ~")
        assert _ESC.sub("", repl.run_command("echo $?")).strip() == "126"
    finally:
        repl.child.close()
    assert _precious(world) == "keep me\n"


def _swerex(world) -> pexpect.spawn:
    env = dict(world.env, PS1="SHELLPS1PREFIX", PS2="", PS0="")
    p = pexpect.spawn("/usr/bin/env", ["bash"], env=dict(env, PATH=_shim_path(world)),
                      cwd=world.project, encoding="utf-8", timeout=20, echo=False)
    p.sendline("source ~/.bashrc ; sleep 0.3 ; export PS1='SHELLPS1PREFIX' ; export PS2='' ;"
               " export PS0=''")
    p.expect_exact("SHELLPS1PREFIX")
    return p


def _shim_path(world) -> str:
    shims = os.path.join(world.root, "shimdir")
    os.makedirs(shims, exist_ok=True)
    link = os.path.join(shims, "bash")
    if not os.path.exists(link):
        os.symlink(gatesh_exe(), link)
    return shims + os.pathsep + world.env["PATH"]


def _swerex_run(p: pexpect.spawn, cmd: str) -> tuple[str, int]:
    p.sendline(cmd)
    p.sendline("\necho EXITCODESTART$?EXITCODEEND")
    p.expect(r"EXITCODESTART(\d+)EXITCODEEND")
    code = int(p.match.group(1))
    out = p.before
    p.expect_exact("SHELLPS1PREFIX")
    return out, code


def test_swe_rex_style_session(world):
    p = _swerex(world)
    out, code = _swerex_run(p, "echo one ; cd src")
    assert "one" in out and code == 0
    out, code = _swerex_run(p, "pwd")
    assert "/project/src\r\n" in out and code == 0
    out, code = _swerex_run(p, "rm -rf ~")
    assert "BLOCKED" in out and code == 126
    out, code = _swerex_run(p, "false")
    assert code == 1
    p.close()
    assert _precious(world) == "keep me\n"


_PS1JSON = (r'\n###PS1JSON###\n{ "pid":"$!", "exit_code":"$?", "username":"\u", '
            r'"working_dir":"$(pwd)" }\n###PS1END###\n')


def test_openhands_style_ps1_json_session(world):
    p = pexpect.spawn(gatesh_exe(), ["-i"], env=dict(world.env, PS1="$ ", PS2=""),
                      cwd=world.project, encoding="utf-8", timeout=20, dimensions=(40, 200))
    ps1 = _PS1JSON.replace('"', '\\"')
    p.sendline(f"set +H; export PROMPT_COMMAND='export PS1=\"{ps1}\"'; export PS2=\"\"")

    def reply() -> dict[str, str]:
        p.expect(r"###PS1JSON###\r*\n(.*?)\r*\n###PS1END###", timeout=20)
        return json.loads(p.match.group(1))

    reply()
    p.sendline("cd src && echo inside")
    info = reply()
    assert info["exit_code"] == "0" and info["working_dir"].endswith("/src")
    p.sendline("rm -rf ~")
    info = reply()
    assert info["exit_code"] == "126"
    assert "BLOCKED" in p.before
    p.sendline("echo 'still here!'")
    info = reply()
    assert "still here!" in p.before and info["exit_code"] == "0"
    p.close()
    assert _precious(world) == "keep me\n"


def test_aider_style_interactive_dash_c(world):
    p = pexpect.spawn(gatesh_exe(), ["-i", "-c", "echo aider-ok; exit 3"], env=world.env,
                      cwd=world.project, encoding="utf-8", timeout=20)
    p.expect_exact("aider-ok")
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 3
    p = pexpect.spawn(gatesh_exe(), ["-i", "-c", "rm -rf ~"], env=world.env,
                      cwd=world.project, encoding="utf-8", timeout=20)
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 126 and "BLOCKED" in p.before
    assert _precious(world) == "keep me\n"


@pytest.mark.skipif(not have_tmux(), reason="tmux is not installed")
def test_aider_run_cmd_with_interact_in_a_terminal(world, tmp_path):
    """aider: pexpect.spawn(SHELL, ["-i", "-c", CMD]) bridged to a person's terminal."""
    fixture = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures",
                           "aider_run_cmd.py")
    env = dict(world.env, SHELL=gatesh_exe())
    for n, (cmd, keys, want) in enumerate((
            ("read -p 'name? ' x; echo hi-$x; sleep 0.5; exit 3", "ada", "hi-ada"),
            ("rm -rf ~", None, "status=blocked reason="))):
        root = os.path.join(str(tmp_path), f"pane{n}")
        os.makedirs(root)
        pane = Pane(root, env)
        try:
            pane.start([sys.executable, fixture, cmd], cwd=world.project)
            if keys:
                pane.wait_for("name? ")
                pane.keys(keys, "Enter")
            screen = pane.wait_for("AIDER_EXIT=")
            assert want.strip() in screen
            assert ("AIDER_EXIT=3" if keys else "AIDER_EXIT=126") in screen
        finally:
            pane.close()
    assert _precious(world) == "keep me\n"


@pytest.mark.skipif(not have_tmux(), reason="tmux is not installed")
def test_tmux_send_keys_session_and_approval_through_the_console(world, tmp_path):
    for name in ("agent", "console"):
        os.makedirs(os.path.join(str(tmp_path), name))
    agent = Pane(os.path.join(str(tmp_path), "agent"), world.env)
    console = Pane(os.path.join(str(tmp_path), "console"), world.env)
    try:
        console.start([gatectl_exe(), "approve"], cwd=world.home)
        console.wait_for(" pending  |")
        agent.start([gatesh_exe()], cwd=world.project)
        agent.wait_for(PROMPT)
        agent.keys("echo via-tmux", "Enter")
        agent.wait_for("via-tmux\n" + PROMPT)
        os.makedirs(os.path.join(world.home, "scratch"))
        agent.keys("rm -rf ../precious.txt; echo after=$?", "Enter")
        console.wait_for("y approve")
        agent.keys("echo queued", "Enter")           # typed while the gate waits: held
        time.sleep(0.5)
        assert "queued" not in agent.screen().split("rm -rf ../precious.txt")[-1]
        console.keys("n")
        screen = agent.wait_for("queued\n" + PROMPT)
        assert "BLOCKED" in screen and not re.search(r"after=\d", screen)
        assert _precious(world) == "keep me\n"
        agent.keys("rm -r ../scratch; echo removed=$?", "Enter")   # outside the project
        console.wait_for("y approve")
        console.keys("y")
        agent.wait_for("removed=0")
        assert not os.path.exists(os.path.join(world.home, "scratch"))
    finally:
        agent.close()
        console.close()


# --- stdin mode -------------------------------------------------------------------------

def test_open_interpreter_style_stdin_session(world):
    p = subprocess.Popen([gatesh_exe()], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, bufsize=0, env=world.env, cwd=world.project)

    def run(code: str) -> str:
        p.stdin.write(code.encode() + b'\necho "##end_of_execution##"\n')
        out = b""
        deadline = time.monotonic() + 20
        while b"##end_of_execution##" not in out and time.monotonic() < deadline:
            out += os.read(p.stdout.fileno(), 4096)
        return out.decode()

    try:
        assert "hi 5" in run("X=5; cd src; echo hi $X")       # arrives before stdin closes
        assert f"5 {world.project}/src" in run("echo $X $PWD")
        out = run("rm -rf ~")
        assert "gatesh: BLOCKED" in out
        assert run("for i in 1 2\ndo echo n$i\ndone").split()[:2] == ["n1", "n2"]
        assert "s=126" in run("rm -rf ~\necho s=$?")
    finally:
        p.stdin.close()
        p.wait(timeout=20)
    assert p.returncode == 0
    assert _precious(world) == "keep me\n"


def test_stdin_script_that_ends_at_once_is_still_exec_d_whole(world):
    done = subprocess.run([gatesh_exe(), "-s", "a"], input=b"echo $1 $$; exit 4\n",
                          capture_output=True, env=world.env, cwd=world.project, timeout=20)
    assert done.returncode == 4 and done.stdout.split()[0] == b"a"


# --- approvals scoped to the approved command's process tree -------------------------------

def _script(world, name: str, body: str) -> None:
    path = os.path.join(world.project, name)
    with open(path, "w") as f:
        f.write("#!/usr/bin/env bash\n" + body)
    os.chmod(path, 0o755)


@pytest.mark.skipif(not have_tmux(), reason="tmux is not installed")
def test_nested_shells_of_an_approved_command_are_not_asked_again(world, tmp_path):
    for name in ("agent", "agent2", "console"):
        os.makedirs(os.path.join(str(tmp_path), name))
    for d in ("a", "b", "c", "d"):
        os.makedirs(os.path.join(world.home, d))
    _script(world, "nested.sh", "rm -r ../b && echo nested-ran\n")
    _script(world, "later.sh", "rm -r ../c\n")
    agent = Pane(os.path.join(str(tmp_path), "agent"), world.env)
    console = Pane(os.path.join(str(tmp_path), "console"), world.env)
    shims = _shim_path(world)   # a shim `bash` first on PATH, as after gatectl install
    try:
        console.start([gatectl_exe(), "approve"], cwd=world.home)
        console.wait_for(" pending  |")
        # gatesh -c: the approved process is the gate itself, then bash in its place
        agent.start(["env", f"PATH={shims}", gatesh_exe(), "-c",
                     "rm -r ../a && ./nested.sh; echo c-done=$?; sleep 30"], cwd=world.project)
        console.wait_for("y approve")
        console.keys("y")
        agent.wait_for("c-done=0")
        assert "nested-ran" in agent.screen()
        assert not os.path.exists(os.path.join(world.home, "b"))
        agent.close()
        # interactive: the approval lasts while the line runs, not for the next one
        agent = Pane(os.path.join(str(tmp_path), "agent2"), world.env)
        agent.start(["env", f"PATH={shims}", gatesh_exe()], cwd=world.project)
        agent.wait_for(PROMPT)
        os.makedirs(os.path.join(world.home, "b"))
        agent.keys("rm -r ../d && ./nested.sh", "Enter")
        console.wait_for("y approve")
        console.keys("y")
        agent.wait_for("nested-ran")
        agent.keys("./later.sh; echo later=$?", "Enter")   # a new line: asked again
        console.wait_for("rm -r ../c")
        console.wait_for("y approve")
        console.keys("n")
        agent.wait_for("later=126")
        assert os.path.exists(os.path.join(world.home, "c"))
        records = [r for r in world.records() if r.get("reason") == "approved_ancestor"]
        assert len(records) == 2 and all("rm -r ../b" in r["command"] for r in records)
    finally:
        agent.close()
        console.close()


def test_login_and_norc_sessions_read_what_bash_reads_and_stay_gated(world):
    with open(os.path.join(world.home, ".bash_profile"), "w") as f:
        f.write(f"PS1='{PROMPT}'; export FROM_PROFILE=yes\n")
    with open(os.path.join(world.home, ".bashrc"), "w") as f:
        f.write(f"PS1='{PROMPT}'; FROM_RC=yes\n")
    for args, want in ((["-l"], "profile=yes rc="), (["--norc"], "profile= rc="),
                       ([], "profile= rc=yes")):
        p = pexpect.spawn(gatesh_exe(), args, env=dict(world.env, PS1=PROMPT), cwd=world.project,
                          encoding="utf-8", timeout=20)
        p.expect_exact(PROMPT)
        assert want in _run(p, "echo profile=$FROM_PROFILE rc=$FROM_RC")
        assert "BLOCKED" in _run(p, "rm -rf ~")
        p.sendline("exit")
        p.expect(pexpect.EOF)
    assert _precious(world) == "keep me\n"
