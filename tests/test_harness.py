"""Harness wrappers seen through (harnesses.md, requirements 13 and 14), with the real bash.

Each fixture in fixtures/harness is a known argv shape with the agent's command in it.  Under
gatesh an allowed command behaves as under bash, `rm -rf ~` is blocked, and the audit record
names the agent's own command.  Set-up scripts are allowed by what they do, and the same
script with `rm -rf ~` added is not.
"""

from __future__ import annotations

import json
import os
import tomllib

import pytest

from gatesh.config import load
from gatesh.gate import Request, review
from gtutil import gatesh_exe, make_world

HERE = os.path.join(os.path.dirname(__file__), "fixtures")
WRAPPERS = sorted(f for f in os.listdir(os.path.join(HERE, "harness")) if f.endswith(".toml"))
SETUPS = sorted(os.listdir(os.path.join(HERE, "setup")))
ALLOWED = "echo 'it''s here' \"$0\"; ls -a | sort; cd src && pwd"


def _quote(cmd: str, how: str) -> str:
    if how == "single":
        return "'" + cmd.replace("'", "'\"'\"'") + "'"
    if how == "json":
        return json.dumps(cmd)
    return cmd


def _argv(fixture: str, cmd: str, world, shell: str) -> tuple[list[str], dict]:
    with open(os.path.join(HERE, "harness", fixture), "rb") as f:
        spec = tomllib.load(f)
    snap = os.path.join(world.root, "snapshot.sh")
    with open(snap, "w") as f:
        f.write("export SNAPSHOT_LOADED=yes\n")
    subst = {"{SNAP}": snap, "{TMP}": world.root, "{CWD}": world.project, "{SHELL}": shell,
             "{QCMD}": _quote(cmd, spec["quoting"]), "{CMD}": cmd}
    out = []
    for a in spec["argv"]:
        for k, v in subst.items():
            a = a.replace(k, v)
        out.append(a)
    return out, spec


@pytest.fixture
def world(tmp_path):
    return make_world(str(tmp_path))


def _norm(b: bytes, *names: str) -> bytes:
    for n in names:
        b = b.replace(n.encode(), b"<SHELL>")
    return b


@pytest.mark.parametrize("fixture", WRAPPERS)
def test_allowed_command_runs_as_under_bash(world, fixture):
    gs = gatesh_exe()
    argv_b, _ = _argv(fixture, ALLOWED, world, "/usr/bin/bash")
    argv_g, _ = _argv(fixture, ALLOWED, world, gs)
    rb = world.run(["/usr/bin/bash"] + argv_b)
    rg = world.run([gs] + argv_g)
    assert rg.returncode == rb.returncode == 0, rg.stderr
    assert _norm(rg.stdout, gs) == _norm(rb.stdout, "/usr/bin/bash")
    assert rg.stderr == rb.stderr == b""


@pytest.mark.parametrize("fixture", WRAPPERS)
def test_destructive_command_inside_the_wrapper_is_blocked(world, fixture):
    gs = gatesh_exe()
    argv, spec = _argv(fixture, "rm -rf ~", world, gs)
    r = world.run([gs] + argv)
    assert r.returncode == 126
    assert r.stderr.startswith(b"gatesh: BLOCKED - the command was NOT executed: ")
    assert os.path.exists(os.path.join(world.home, "precious.txt"))
    rec = world.records()[-1]
    assert rec["verdict"] != "allow" and rec["outcome"] == "blocked"
    assert rec["harness"] == spec["harness"]
    if spec["harness"]:
        assert rec["inner"] == "rm -rf ~"
        assert b"gatesh: command: rm -rf ~\n" in r.stderr


def test_claude_quoting_is_decoded(world):
    cfg = load(world.env)
    cmd = "printf '%s\\n' 'a b' \"it's\""
    argv, _ = _argv("claude-code-wrapper.toml", cmd, world, "bash")
    d = review(Request(argv[1], world.project, "c", world.env), cfg)
    assert d.harness == "claude-code" and d.display == cmd and d.verdict.value == "allow"


def test_text_outside_the_extracted_command_is_still_gated(world):
    cfg = load(world.env)
    argv, _ = _argv("claude-code-wrapper.toml", "ls", world, "bash")
    sneaky = argv[1].replace("&& pwd -P", "&& rm -rf ~ && pwd -P")
    d = review(Request(sneaky, world.project, "c", world.env), cfg)
    assert d.verdict.value != "allow"
    assert any(m.rule_id == "fs:rm_recursive_home" for m in d.matches)


@pytest.mark.parametrize("fixture", SETUPS)
def test_setup_scripts_allowed_by_structure(world, fixture):
    cfg = load(world.env)
    with open(os.path.join(HERE, "setup", fixture)) as f:
        text = f.read()
    d = review(Request(text, world.project, "c", world.env), cfg)
    assert d.parsed, d.notes
    assert d.verdict.value == "allow", [m.rule_id for m in d.matches]
    bad = review(Request(text.rstrip("\n") + "\nrm -rf ~\n", world.project, "c", world.env), cfg)
    assert bad.verdict.value != "allow"
    bad2 = review(Request(text.rstrip("\n") + " ; rm -rf ~", world.project, "c", world.env), cfg)
    assert bad2.verdict.value != "allow"
