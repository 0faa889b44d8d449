"""gatectl doctor, run as a user would: on a home set up by the real `gatectl install`, then
with one thing broken by hand at a time; each breakage must fail with its fix."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading

import pytest

from gtutil import World, gatectl_exe, make_world

AGENTS = ("claude", "codex", "gemini", "cursor")


@pytest.fixture
def world(tmp_path) -> World:
    w = make_world(str(tmp_path))
    argv = [gatectl_exe(), "install"]
    for a in AGENTS:
        argv += ["--agent", a]
    r = w.run(argv)
    assert r.returncode == 0, r.stderr.decode()
    return w


def shim_dir(w: World) -> str:
    return os.path.join(w.env["XDG_DATA_HOME"], "gatesh", "bin")


def doctor(w: World, *args: str, **env: str) -> subprocess.CompletedProcess[bytes]:
    return w.run([gatectl_exe(), "doctor", *args], env={**w.env, **env})


def text(r: subprocess.CompletedProcess[bytes]) -> str:
    return r.stdout.decode()


def results(w: World, **env: str) -> list[dict[str, str]]:
    r = doctor(w, "--json", **env)
    return json.loads(r.stdout)["checks"]


def line_of(out: str, needle: str) -> tuple[str, str]:
    """The output line holding needle, and the line after it (the fix, when there is one)."""
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if needle in line:
            return line, lines[i + 1] if i + 1 < len(lines) else ""
    raise AssertionError(f"{needle!r} not in:\n{out}")


def check_line(out: str, name: str) -> tuple[str, str]:
    """The line of the check called name (the word after the mark), and the line after it."""
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line[2:].startswith(name + "  "):
            return line, lines[i + 1] if i + 1 < len(lines) else ""
    raise AssertionError(f"no check {name!r} in:\n{out}")


def run_commands(w: World) -> None:
    """A real audit log: commands run through the installed bash shim."""
    bash = os.path.join(shim_dir(w), "bash")
    for cmd in ("echo one", "ls", "true"):
        assert w.run([bash, "-c", cmd]).returncode == 0
    assert len(w.records()) >= 3


def test_passes_on_a_fresh_install(world):
    run_commands(world)
    r = doctor(world)
    out = text(r)
    assert r.returncode == 0, out
    assert "✗" not in out and "ready" in out
    for name in ("bash", "shims", "config", "rules", "audit log", *(f"agent {a}" for a in AGENTS)):
        line, _ = check_line(out, name)
        assert line.startswith("✓"), line
    assert check_line(out, "audit log")[0].endswith("chain intact")
    assert "hook timeout 120 s > approval timeout 90 s" in check_line(out, "agent claude")[0]


def test_fails_when_the_bash_shim_is_removed(world):
    link = os.path.join(shim_dir(world), "bash")
    os.unlink(link)
    r = doctor(world)
    line, fix = line_of(text(r), f"{link} is missing")
    assert r.returncode == 1
    assert line.startswith("✗") and "fix: run gatectl install again" in fix
    # and the fix works
    assert world.run([gatectl_exe(), "install"]).returncode == 0
    assert doctor(world).returncode == 0


def test_fails_on_a_config_syntax_error(world):
    with open(world.config) as f:
        n = len(f.read().splitlines()) + 1
    with open(world.config, "a") as f:
        f.write('mode = "enforce\n')
    r = doctor(world)
    line, fix = line_of(text(r), f"{world.config}:{n}: not valid TOML")
    assert r.returncode == 1 and line.startswith("✗")
    assert f"fix: fix line {n} of {world.config}" in fix
    assert check_line(text(r), "bash")[0].startswith("!")  # cannot tell which bash: no ✓


def test_fails_on_a_config_that_does_not_validate(world):
    with open(world.config) as f:
        body = f.read()
    with open(world.config, "w") as f:
        f.write('colour = "red"\n' + body)
    r = doctor(world)
    line, fix = line_of(text(r), f"{world.config}:1: unknown setting 'colour'")
    assert r.returncode == 1 and line.startswith("✗") and "fix: fix line" in fix


@pytest.mark.parametrize("name, body, error", [
    ("broken.toml", "[pack\nname = 'broken'\n", "broken.toml:1: not valid TOML"),
    ("mine.toml", ("[pack]\nname = 'mine'\n[[rule]]\nid = 'mine:x'\nseverity = 'huge'\n"
                   "why = 'x'\nmatch = { command = ['x'] }\n"),
     "mine.toml:4 (rule mine:x): severity must be low, medium, high or critical"),
])
def test_fails_on_a_user_rule_file_error(world, name, body, error):
    rules = os.path.join(world.env["XDG_CONFIG_HOME"], "gatesh", "rules")
    os.makedirs(rules, exist_ok=True)
    with open(os.path.join(rules, name), "w") as f:
        f.write(body)
    r = doctor(world)
    line, fix = line_of(text(r), error)
    assert r.returncode == 1 and line.startswith("✗")
    assert os.path.join(rules, name) in line and "fix: fix or remove the file" in fix


def test_a_good_user_rule_file_passes(world):
    rules = os.path.join(world.env["XDG_CONFIG_HOME"], "gatesh", "rules")
    os.makedirs(rules)
    with open(os.path.join(rules, "mine.toml"), "w") as f:
        f.write("[pack]\nname = 'mine'\n[[rule]]\nid = 'mine:x'\nseverity = 'high'\n"
                "why = 'x'\nmatch = { command = ['frobnicate'] }\n")
    r = doctor(world)
    assert r.returncode == 0, text(r)
    assert "(1 user file," in check_line(text(r), "rules")[0]


def test_fails_when_the_log_chain_is_edited(world):
    run_commands(world)
    with open(world.audit) as f:
        lines = f.read().splitlines()
    rec = json.loads(lines[1])
    rec["command"] = "echo harmless"
    lines[1] = json.dumps(rec)
    with open(world.audit, "w") as f:
        f.write("\n".join(lines) + "\n")
    r = doctor(world)
    line, fix = line_of(text(r), "chain BROKEN")
    assert r.returncode == 1 and line.startswith("✗")
    assert f"{world.audit}:2: seq 2: hash mismatch" in line
    assert "keep it as evidence" in fix and f"mv {world.audit} {world.audit}.broken" in fix
    os.rename(world.audit, world.audit + ".broken")  # the fix: a new chain starts
    run_commands(world)
    assert doctor(world).returncode == 0


def test_no_approver_is_a_warning_only(world):
    r = doctor(world)
    line, fix = check_line(text(r), "approver")
    assert r.returncode == 0
    assert line.startswith("!") and "no approver is running" in line
    assert "fix: run gatectl approve in a second terminal" in fix


def test_a_listening_approver_is_seen(world):
    path = os.path.join(world.env["XDG_RUNTIME_DIR"], "gatesh", "approver.sock")
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)

    def greet() -> None:
        conn, _ = srv.accept()
        conn.sendall(b'{"type":"hello","v":1,"approver_pid":4242}\n')
        conn.close()

    t = threading.Thread(target=greet, daemon=True)
    t.start()
    try:
        r = doctor(world)
    finally:
        t.join(5)
        srv.close()
    line, _ = check_line(text(r), "approver")
    assert line.startswith("✓") and "running (pid 4242)" in line


def test_not_installed(tmp_path):
    w = make_world(str(tmp_path))
    r = doctor(w)
    line, fix = line_of(text(r), "not installed")
    assert r.returncode == 1 and line.startswith("✗") and "fix: run gatectl install" in fix


def test_hook_timeout_not_above_the_approval_timeout_fails(world):
    with open(world.config) as f:
        cfg = f.read()
    with open(world.config, "w") as f:
        f.write(cfg.replace("# timeout = 90", "timeout = 120"))
    r = doctor(world)
    out = text(r)
    assert r.returncode == 1
    for agent in ("claude", "codex", "gemini"):
        line, fix = check_line(out, f"agent {agent}")
        assert line.startswith("✗") and "hook timeout 120 s" in line and "not above" in line
        assert f"gatectl install --agent {agent} again" in fix
    assert check_line(out, "agent cursor")[0].startswith("✓")  # Cursor's hook has no timeout


def test_hook_removed_from_settings_fails(world):
    path = os.path.join(world.home, ".claude", "settings.json")
    with open(path, "w") as f:
        f.write("{}\n")
    r = doctor(world)
    line, fix = check_line(text(r), "agent claude")
    assert r.returncode == 1 and line.startswith("✗") and path in line
    assert "gatectl install --agent claude again" in fix


def test_codex_without_its_feature_flag_fails(world):
    cfg = os.path.join(world.home, ".codex", "config.toml")
    with open(cfg, "w") as f:
        f.write("[features]\n")
    r = doctor(world)
    line, _ = line_of(text(r), "Codex runs no hooks")
    assert r.returncode == 1 and line.startswith("✗") and "codex_hooks = true" in line


def test_codex_not_wired_gets_the_hook_route_recommended(tmp_path):
    w = make_world(str(tmp_path))
    assert w.run([gatectl_exe(), "install"]).returncode == 0
    r = doctor(w)
    assert r.returncode == 0 and "agent codex" not in text(r)
    os.makedirs(os.path.join(w.home, ".codex"))
    r = doctor(w)
    line, fix = check_line(text(r), "agent codex")
    assert r.returncode == 0 and line.startswith("!")
    assert "fix: run gatectl install --agent codex" in fix


def test_dry_run_is_a_warning(world):
    r = doctor(world, GATESH_MODE="dry-run")
    line, fix = check_line(text(r), "mode")
    assert r.returncode == 0 and line.startswith("!") and "dry-run" in line
    assert "unset GATESH_MODE" in fix


def test_shims_first_on_path(world):
    r = doctor(world, PATH=shim_dir(world) + os.pathsep + world.env["PATH"])
    assert check_line(text(r), "PATH")[0].startswith("✓")
    r = doctor(world)
    line, fix = check_line(text(r), "PATH")
    assert line.startswith("!") and f"export PATH={shim_dir(world)}:" in fix


def test_json_shape(world):
    r = doctor(world, "--json")
    data = json.loads(r.stdout)
    assert r.returncode == 0 and data["ok"] is True
    assert set(data) == {"ok", "counts", "checks"}
    assert all(set(c) == {"name", "status", "found", "fix"} for c in data["checks"])
    assert {c["status"] for c in data["checks"]} <= {"ok", "warn", "fail"}
    assert data["counts"]["fail"] == 0 and data["counts"]["ok"] >= 8
    os.unlink(os.path.join(shim_dir(world), "bash"))
    r = doctor(world, "--json")
    data = json.loads(r.stdout)
    assert r.returncode == 1 and data["ok"] is False and data["counts"]["fail"] == 1
    bad = [c for c in data["checks"] if c["status"] == "fail"]
    assert bad[0]["name"] == "shims" and bad[0]["fix"].startswith("run gatectl install")


def test_untrusted_text_is_never_markup(world):
    rules = os.path.join(world.env["XDG_CONFIG_HOME"], "gatesh", "rules")
    os.makedirs(rules)
    for name in ("x[bold red]y.toml", "z\x1b[31mw.toml"):
        with open(os.path.join(rules, name), "w") as f:
            f.write("[pack\n")
    r = doctor(world)
    assert r.returncode == 1
    assert "x[bold red]y.toml:1: not valid TOML" in text(r)
    assert "z\\x1b[31mw.toml:1: not valid TOML" in text(r) and "\x1b" not in text(r)


def test_a_shim_that_no_longer_leads_to_gatesh_fails(world):
    link = os.path.join(shim_dir(world), "bash")
    os.unlink(link)
    os.symlink(shutil.which("true") or "/bin/true", link)
    r = doctor(world)
    line, fix = line_of(text(r), f"{link} no longer leads to gatesh")
    assert r.returncode == 1 and line.startswith("✗") and "fix: move" in fix


def test_a_configured_bash_that_is_not_bash_fails(world):
    fake = os.path.join(world.root, "notbash")
    with open(fake, "w") as f:
        f.write("#!/bin/sh\necho 'not it'\n")
    os.chmod(fake, 0o755)
    with open(world.config) as f:
        body = f.read()
    with open(world.config, "w") as f:
        f.write("\n".join(f'bash = "{fake}"' if line.startswith("bash = ") else line
                          for line in body.splitlines()) + "\n")
    r = doctor(world)
    line, fix = check_line(text(r), "bash")
    assert r.returncode == 1 and line.startswith("✗") and fake in line
    assert "does not say it is GNU bash" in line and f'set bash = "/path/to/real/bash" in' in fix
