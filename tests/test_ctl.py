"""gatectl check and gatectl rules, run as a user would run them."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from gtutil import gatectl_exe, make_world


@pytest.fixture
def world(tmp_path):
    return make_world(str(tmp_path))


def check(world, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return world.run([gatectl_exe(), "check", *args],
                     input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL)


@pytest.mark.parametrize("command, code", [
    ("ls -la", 0), ("rm -rf ~", 1), ("rm -rf /", 2), ("gatectl approve", 2),
])
def test_exit_status_says_the_verdict(world, command, code):
    assert check(world, "--", command).returncode == code


def test_json_output(world):
    r = check(world, "--json", "--", "sudo bash -c 'rm -rf ~'")
    ans = json.loads(r.stdout)
    assert ans["decision"] == "ask" and ans["parsed"] is True
    assert "fs:rm_recursive_home" in ans["rules"]
    assert ans["matches"][0]["targets"] == [f"{world.home} (home)"]
    assert any("bash" in n for n in ans["notes"])


def test_explain_shows_steps_targets_and_the_deciding_rule(world):
    r = check(world, "--explain", "--", "sudo env X=1 bash -c 'rm -rf ~'")
    out = r.stdout.decode()
    assert "ASK" in out and "unwrapped sudo" in out and "unwrapped bash" in out
    assert f"{world.home} (home)" in out
    assert "decided by fs:rm_recursive_home" in out


def test_cwd_option_resolves_paths_there(world):
    other = os.path.join(world.root, "elsewhere")
    os.makedirs(other)
    assert check(world, "--cwd", world.project, "--", "rm -rf ../x").returncode == 1
    assert check(world, "--cwd", world.project, "--", "rm -rf node_modules").returncode == 0


def test_untrusted_text_is_never_markup(world):
    r = check(world, "--", "echo '[bold red]x[/]' \x1b[2K")
    out = r.stdout.decode()
    assert "[bold red]x[/]" in out and "\\x1b[2K" in out and "\x1b[2K" not in out


def test_jsonl_answers_every_line_in_order(world):
    cmds = [f"echo {i}" for i in range(2000)] + ["rm -rf ~", "echo $((", "gatectl approve"]
    payload = "".join(json.dumps({"command": c, "cwd": world.project}) + "\n" for c in cmds)
    payload += "not json\n"
    r = check(world, "--jsonl", stdin=payload.encode())
    assert r.returncode == 0
    answers = [json.loads(line) for line in r.stdout.decode().splitlines()]
    assert len(answers) == len(cmds) + 1
    assert all(a["decision"] == "allow" for a in answers[:2000])
    tail = answers[2000:]
    assert [a["decision"] for a in tail] == ["ask", "ask", "deny", "ask"]
    assert tail[1]["parsed"] is False and tail[3]["parsed"] is False
    assert "fs:rm_recursive_home" in tail[0]["rules"] and tail[0]["why"]


def test_check_writes_no_audit_record(world):
    check(world, "--", "rm -rf ~")
    assert world.records() == []


def test_rules_list_and_test(world):
    r = world.run([gatectl_exe(), "rules", "list", "--json"])
    ids = [json.loads(line)["id"] for line in r.stdout.decode().splitlines()]
    assert "fs:rm_recursive_home" in ids and "tamper:gatectl_human_only" in ids
    r = world.run([gatectl_exe(), "rules", "test"])
    assert r.returncode == 0, r.stdout.decode()[-2000:]
    assert r.stdout.decode().splitlines()[-1].endswith(" passed, 0 failed")


def test_rules_test_reports_a_users_broken_example(world, tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text('[pack]\nname = "mine"\n[[rule]]\nid = "mine:deploy"\nseverity = "high"\n'
                 'why = "deploys need a human."\nsafer = "make deploy-staging"\n'
                 'match = { command = ["make"], args = ["deploy"] }\n'
                 'examples.match = ["make deploy", "make build"]\nexamples.ignore = ["make test"]\n')
    r = world.run([gatectl_exe(), "rules", "test", str(f)])
    assert r.returncode == 1
    out = r.stdout.decode()
    assert "mine:deploy should match: make build" in out and "2 passed, 1 failed" in out


def test_bad_config_is_one_line_error(world):
    world.write_config("mode = 3\n")
    r = check(world, "--", "ls")
    assert r.returncode == 3
    lines = r.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gatectl: ") and f"{world.config}:1" in lines[0]


def test_version(world):
    r = world.run([gatectl_exe(), "--version"])
    assert r.returncode == 0 and r.stdout.decode().startswith("gatectl (gatesh) ")
