"""`gatectl hook <harness>` run as each harness runs it: JSON on stdin, the answer on stdout.

Every payload comes from tests/fixtures/hooks/ (harnesses.md section 3) with the command and
cwd replaced.  The hook never runs the command, so destructive text is safe here; everything
lives in a temp HOME.  A real `gatectl approve` in a tmux pane answers yes and no.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from gtutil import REPO, gatectl_exe, make_world
from tmuxpane import Pane, have_tmux

FIXTURES = os.path.join(REPO, "tests", "fixtures", "hooks")
PAYLOADS = {
    "claude": "claude-pretooluse.json",
    "codex": "codex-pretooluse.json",
    "codex-pr": "codex-permissionrequest.json",
    "gemini": "gemini-beforetool.json",
    "cursor": "cursor-beforeshellexecution.json",
}
ALL = list(PAYLOADS)


@pytest.fixture
def world(tmp_path):
    w = make_world(str(tmp_path))
    assert "GATESH_MODE" not in w.env   # enforce
    return w


def payload(kind: str, command: object, cwd: str, **tool: object) -> dict[str, object]:
    with open(os.path.join(FIXTURES, PAYLOADS[kind])) as f:
        data = json.load(f)
    data["cwd"] = cwd
    if kind == "cursor":
        data["command"] = command
        data["workspace_roots"] = [cwd]
    else:
        data["tool_input"]["command"] = command
        data["tool_input"].update(tool)
    return data


def harness(kind: str) -> str:
    return kind.split("-")[0]


def start(world, kind: str, data: object, env: dict[str, str] | None = None,
          raw: bytes | None = None) -> subprocess.Popen[bytes]:
    """The hook as a harness starts it: its own session, JSON on a pipe."""
    p = subprocess.Popen([gatectl_exe(), "hook", harness(kind)], cwd=world.project,
                         env=env or world.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True)
    assert p.stdin is not None
    p.stdin.write(raw if raw is not None else json.dumps(data).encode())
    p.stdin.close()
    p.stdin = None   # communicate() must not flush it again
    return p


def finish(p: subprocess.Popen[bytes]) -> tuple[int, object, str]:
    out, err = p.communicate(timeout=60)
    text = out.decode()
    return p.returncode, (json.loads(text) if text.strip() else None), err.decode()


def hook(world, kind: str, command: object = "ls -la", env: dict[str, str] | None = None,
         raw: bytes | None = None, **tool: object) -> tuple[int, object, str]:
    return finish(start(world, kind, payload(kind, command, world.project, **tool), env, raw))


def decisions(world) -> list[dict[str, object]]:
    return [r for r in world.records() if r.get("event") == "decision"]


NEUTRAL = {"claude": None, "codex": None, "codex-pr": None, "gemini": {},
           "cursor": {"permission": "allow"}}


def deny_reason(kind: str, ans: object) -> str:
    """The reason text of a deny answer; fails unless ans is exactly the deny shape."""
    assert isinstance(ans, dict)
    if kind in ("claude", "codex"):
        (out,) = ans.values()
        assert list(ans) == ["hookSpecificOutput"]
        assert set(out) == {"hookEventName", "permissionDecision", "permissionDecisionReason"}
        assert out["hookEventName"] == "PreToolUse" and out["permissionDecision"] == "deny"
        return out["permissionDecisionReason"]
    if kind == "codex-pr":
        assert ans == {"hookSpecificOutput": {"hookEventName": "PermissionRequest",
                                              "decision": {"behavior": "deny",
                                                           "message": ans["hookSpecificOutput"]
                                                           ["decision"]["message"]}}}
        return ans["hookSpecificOutput"]["decision"]["message"]
    if kind == "gemini":
        assert set(ans) == {"decision", "reason"} and ans["decision"] == "deny"
        return ans["reason"]
    assert set(ans) == {"permission", "user_message", "agent_message"}
    assert ans["permission"] == "deny"
    assert ans["agent_message"].startswith("gatesh: " + ans["user_message"])
    return ans["agent_message"]


@pytest.mark.parametrize("kind", ALL)
def test_allowed_command_gets_the_neutral_answer_and_a_record(world, kind):
    code, ans, err = hook(world, kind, "ls -la")
    assert (code, ans, err) == (0, NEUTRAL[kind], "")
    (rec,) = decisions(world)
    assert rec["verdict"] == "allow" and rec["origin"] == "hook"
    assert rec["harness"] == harness(kind) and rec["cwd"] == world.project


@pytest.mark.parametrize("kind", ALL)
@pytest.mark.parametrize("command, reason", [("rm -rf /", "rule_deny"),
                                             ("gatectl approve", "tamper")])
def test_denied_and_tamper_get_the_deny_answer(world, kind, command, reason):
    code, ans, _ = hook(world, kind, command)
    assert code == 0
    text = deny_reason(kind, ans)
    assert text.startswith("gatesh: BLOCKED - the command was NOT executed: ")
    assert f"status=blocked reason={reason}" in text
    (rec,) = decisions(world)
    assert rec["reason"] == reason and rec["outcome"] == "blocked"


@pytest.mark.parametrize("kind", ["codex", "codex-pr", "gemini", "cursor"])
def test_ask_without_an_approver_is_denied(world, kind):
    code, ans, _ = hook(world, kind, "rm -rf ~")
    assert code == 0
    text = deny_reason(kind, ans)
    assert "no approver is running" in text and "reason=no_approver" in text
    pending, = [r for r in world.records() if r["event"] == "pending"]
    (rec,) = decisions(world)
    assert rec["reason"] == "no_approver" and rec["request"] == pending["request"]


def test_claude_hands_ask_to_its_own_prompt_when_no_approver_runs(world):
    code, ans, _ = hook(world, "claude", "rm -rf ~")
    assert code == 0
    out = ans["hookSpecificOutput"]
    assert out["hookEventName"] == "PreToolUse" and out["permissionDecision"] == "ask"
    assert "no `gatectl approve` is running" in out["permissionDecisionReason"]
    assert "fs:rm_recursive_home" in out["permissionDecisionReason"]
    (rec,) = decisions(world)
    assert rec["reason"] == "harness_ask" and rec["outcome"] == "harness_ask"
    assert rec["approval"]["answer"] == "no_approver" and rec["harness"] == "claude"


def test_no_human_mode_denies_ask_even_for_claude(world):
    env = {**world.env, "GATESH_MODE": "no-human"}
    code, ans, _ = hook(world, "claude", "rm -rf ~", env=env)
    assert "reason=no_human" in deny_reason("claude", ans)


@pytest.mark.parametrize("kind", ALL)
def test_dry_run_answers_neutral_but_records(world, kind):
    env = {**world.env, "GATESH_MODE": "dry-run"}
    code, ans, _ = hook(world, kind, "rm -rf /", env=env)
    assert (code, ans) == (0, NEUTRAL[kind])
    (rec,) = decisions(world)
    assert rec["verdict"] == "deny" and rec["outcome"] == "dry-run" and rec["mode"] == "dry-run"


MALFORMED = [
    ("not json", b"{\"tool_input\": "),
    ("not an object", b"[1, 2]"),
    ("not utf-8", b"\xff\xfe{}"),
]


@pytest.mark.parametrize("kind", ALL)
@pytest.mark.parametrize("what, raw", MALFORMED)
def test_malformed_input_is_denied(world, kind, what, raw):
    code, ans, err = hook(world, kind, raw=raw)
    assert code == 0
    # the event cannot be known: Codex gets its PreToolUse deny
    assert "malformed hook input" in deny_reason(kind.replace("codex-pr", "codex"), ans)
    assert len(err.strip().splitlines()) == 1 and "malformed input" in err
    (rec,) = decisions(world)
    assert rec["reason"] == "bad_hook_input" and rec["outcome"] == "blocked"


def test_broken_permission_request_gets_the_permission_request_deny(world):
    raw = b'{"hook_event_name": "PermissionRequest", "tool_input": {"command": "ls"'
    code, ans, _ = hook(world, "codex-pr", raw=raw)
    assert "not JSON" in deny_reason("codex-pr", ans)


@pytest.mark.parametrize("kind", ALL)
@pytest.mark.parametrize("command", [None, "", ["rm", "-rf", "/"], 7])
def test_missing_or_wrongly_typed_command_is_denied(world, kind, command):
    data = payload(kind, command, world.project)
    if command is None:
        data.pop("command", None)
        if kind != "cursor":
            del data["tool_input"]["command"]
    code, ans, _ = finish(start(world, kind, data))
    assert code == 0 and "malformed hook input" in deny_reason(kind, ans)


@pytest.mark.parametrize("kind", ["claude", "codex", "gemini"])
def test_tool_input_that_is_not_an_object_is_denied(world, kind):
    data = payload(kind, "ls", world.project)
    data["tool_input"] = "ls"
    code, ans, _ = finish(start(world, kind, data))
    assert "tool_input" in deny_reason(kind, ans)


def test_wrong_cwd_type_and_unknown_event_are_denied(world):
    data = payload("claude", "ls", world.project)
    data["cwd"] = 7
    assert "cwd" in deny_reason("claude", finish(start(world, "claude", data))[1])
    data = payload("gemini", "ls", world.project)
    data["hook_event_name"] = "AfterTool"
    assert "AfterTool" in deny_reason("gemini", finish(start(world, "gemini", data))[1])


def test_another_tool_without_a_command_is_not_gated(world):
    data = payload("claude", "x", world.project)
    data["tool_name"], data["tool_input"] = "Write", {"file_path": "a", "content": "b"}
    assert finish(start(world, "claude", data))[:2] == (0, None)


@pytest.mark.parametrize("argv", [["hook"], ["hook", "vim"]])
def test_unknown_or_missing_harness_exits_2_with_one_line(world, argv):
    r = world.run([gatectl_exe(), *argv], input=b"{}", stdin=None)
    assert r.returncode == 2 and r.stdout == b""
    assert len(r.stderr.decode().strip().splitlines()) == 1
    assert b"claude|codex|gemini|cursor" in r.stderr


def test_bad_config_blocks(world):
    world.write_config("mode = 'yolo'\n")
    code, ans, err = hook(world, "gemini", "ls")
    assert "mode must be one of" in deny_reason("gemini", ans) and "config.toml" in err


def test_gemini_dir_path_is_where_targets_resolve(world):
    code, ans, _ = hook(world, "gemini", "rm -rf ../x")           # outside the project
    assert "fs:rm_recursive_outside_project" in deny_reason("gemini", ans)
    code, ans, _ = hook(world, "gemini", "rm -rf ../x", dir_path="src")  # project/x
    assert (code, ans) == (0, {})
    recs = decisions(world)
    assert recs[-1]["cwd"] == os.path.join(world.project, "src")


def test_gemini_dir_path_of_the_wrong_type_is_denied(world):
    code, ans, _ = hook(world, "gemini", "ls", dir_path=["src"])
    assert "dir_path" in deny_reason("gemini", ans)


# --- with a real approver ------------------------------------------------------------------

READY = "y approve"


@pytest.fixture
def approver(world, tmp_path):
    if not have_tmux():
        pytest.skip("tmux is not installed")
    pane = Pane(str(tmp_path), world.env)
    pane.start([gatectl_exe(), "approve"], cwd=world.home)
    pane.wait_for(" pending  |")
    yield pane
    pane.close()


APPROVED = {
    "codex": None,
    "gemini": {"decision": "allow"},
    "codex-pr": {"hookSpecificOutput": {"hookEventName": "PermissionRequest",
                                        "decision": {"behavior": "allow"}}},
}


@pytest.mark.parametrize("kind", ALL)
def test_a_human_yes_is_the_explicit_allow(world, approver, kind):
    p = start(world, kind, payload(kind, "git reset --hard", world.project))
    screen = approver.wait_for(READY)
    assert "git reset --hard" in screen and "git:reset_hard" in screen
    approver.keys("y")
    code, ans, _ = finish(p)
    (rec,) = decisions(world)
    assert rec["reason"] == "approved" and rec["outcome"] == "run"
    assert rec["approval"]["answer"] == "approved" and rec["harness"] == harness(kind)
    rid = rec["request"]
    assert code == 0
    if kind == "claude":
        assert ans == {"hookSpecificOutput": {
            "hookEventName": "PreToolUse", "permissionDecision": "allow",
            "permissionDecisionReason":
                f"gatesh: approved by a human in gatectl approve (request {rid})"}}
    elif kind == "cursor":
        assert ans == {"permission": "allow",
                       "user_message": f"approved by a human in gatectl approve (request {rid})"}
    else:
        assert ans == APPROVED[kind]


@pytest.mark.parametrize("kind", ALL)
def test_a_human_no_is_the_deny(world, approver, kind):
    p = start(world, kind, payload(kind, "git reset --hard", world.project))
    approver.wait_for(READY)
    approver.keys("n")
    code, ans, _ = finish(p)
    assert code == 0
    text = deny_reason(kind, ans)
    assert "a human denied it in gatectl approve" in text and "reason=denied" in text
    (rec,) = decisions(world)
    assert rec["reason"] == "denied" and rec["outcome"] == "blocked"


def _approve_through_hook(world, approver, cmd: str) -> None:
    p = start(world, "claude", payload("claude", cmd, world.project))
    approver.wait_for(READY)
    approver.keys("y")
    _, ans, _ = finish(p)
    assert ans["hookSpecificOutput"]["permissionDecision"] == "allow"
    approver.wait_for(" 0 pending")


def test_a_hook_approval_is_not_asked_again_by_the_shell_route_once(world, approver):
    """Claude Code with both routes: the hook's yes lets the shell run that command once,
    and only as the human saw it."""
    from gtutil import gatesh_exe
    wrapper = ("shopt -u extglob 2>/dev/null || true && eval 'git reset --hard' < /dev/null"
               f" && pwd -P >| {world.root}/claude-cwd")
    _approve_through_hook(world, approver, "git reset --hard")
    # more than the human saw, outside the wrapper's eval: asked (and here denied)
    p = subprocess.Popen([gatesh_exe(), "-c", "-l", wrapper + "; git clean -fdx"],
                         cwd=world.project, env=world.env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert "git clean -fdx" in approver.wait_for(READY)
    approver.keys("n")
    assert p.wait(timeout=60) == 126
    # the grant was used up by that attempt: approve again, then the exact command runs
    _approve_through_hook(world, approver, "git reset --hard")
    approver.close()
    r = world.run([gatesh_exe(), "-c", "-l", wrapper])
    assert r.returncode != 126, r.stderr
    last = decisions(world)[-1]
    assert last["reason"] == "approved_hook" and last["outcome"] == "run"
    r = world.run([gatesh_exe(), "-c", "-l", wrapper])   # once only
    assert r.returncode == 126 and b"no approver is running" in r.stderr


def test_codex_permission_request_after_a_pretooluse_yes_is_not_asked_again(world, approver):
    p = start(world, "codex", payload("codex", "git reset --hard", world.project))
    approver.wait_for(READY)
    approver.keys("y")
    code, ans, _ = finish(p)
    assert (code, ans) == (0, None)
    approver.close()   # nobody left to ask: only the grant can answer
    code, ans, _ = hook(world, "codex-pr", "git reset --hard")
    assert ans == APPROVED["codex-pr"]
    assert decisions(world)[-1]["reason"] == "approved_hook"
    code, ans, _ = hook(world, "codex-pr", "git reset --hard")   # once only
    assert ans["hookSpecificOutput"]["decision"]["behavior"] == "deny"


def test_a_second_pretooluse_for_the_same_command_is_asked_again(world, approver):
    p = start(world, "claude", payload("claude", "git reset --hard", world.project))
    approver.wait_for(READY)
    approver.keys("y")
    finish(p)
    approver.close()
    code, ans, _ = hook(world, "claude", "git reset --hard")
    assert ans["hookSpecificOutput"]["permissionDecision"] == "ask"   # Claude's own prompt
