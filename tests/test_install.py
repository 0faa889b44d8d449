"""`gatectl install` and `--uninstall`, run as a user runs them, in a temp HOME.

Every path (HOME, XDG dirs, agent settings) is inside the test's temp dir; the one
destructive command run here (`rm -rf ~`) targets that temp HOME and must be stopped.
"""

from __future__ import annotations

import json
import os
import tomllib

import pytest

from gtutil import gatectl_exe, gatesh_exe, make_world


@pytest.fixture
def world(tmp_path):
    w = make_world(str(tmp_path))
    assert w.home.startswith(str(tmp_path)) and "GATESH_MODE" not in w.env
    return w


def install(world, *args: str, ok: bool = True):
    r = world.run([gatectl_exe(), "install", *args])
    if ok:
        assert r.returncode == 0, r.stderr.decode()
    return r


def shims(world) -> str:
    return os.path.join(world.env["XDG_DATA_HOME"], "gatesh", "bin")


def manifest(world) -> str:
    return os.path.join(world.env["XDG_CONFIG_HOME"], "gatesh", "install.json")


def snapshot(root: str) -> dict[str, object]:
    """Every file and link under root, with its content or target and mtime."""
    out: dict[str, object] = {}
    for d, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(d, name)
            if os.path.islink(p):
                out[p] = ("link", os.readlink(p))
            elif os.path.isfile(p):
                with open(p, "rb") as f:
                    out[p] = (f.read(), os.stat(p).st_mtime_ns)
    return out


def write(path: str, text: str) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return path


def read(path: str) -> str:
    with open(path) as f:
        return f.read()


def test_install_makes_the_shim_config_and_manifest(world):
    from gatesh.config import find_bash, load
    from gatesh.install import read_manifest
    r = install(world)
    link = os.path.join(shims(world), "bash")
    assert os.readlink(link) == gatesh_exe()
    assert not os.path.lexists(os.path.join(shims(world), "sh"))
    assert not os.path.lexists(os.path.join(shims(world), "zsh"))
    cfg = load(world.env)
    assert cfg.bash == find_bash(world.env) and cfg.path == world.config
    text = read(world.config)
    assert f'bash = "{cfg.bash}"' in text
    for key in ("mode", "timeout", "wait_for_approver", "path", "max_bytes", "syslog",
                "disable"):
        assert f"# {key} = " in text
    m = read_manifest(world.env)
    assert m is not None and m.shim_dir == shims(world) and m.links == (link,)
    assert m.config_path == world.config and m.hooks == ()
    out = r.stdout.decode()
    assert f"export CLAUDE_CODE_SHELL={link}" in out and f"export GOOSE_SHELL={link}" in out
    assert f"export SHELL={link}" in out and f'"shell": "{link}"' in out
    assert f"executable='{link}'" in out and "terminal.integrated.profiles" in out


def test_installed_shim_runs_commands_and_stops_destructive_ones(world):
    install(world)
    bash = os.path.join(shims(world), "bash")
    r = world.run([bash, "-c", "echo ok"])
    assert (r.returncode, r.stdout) == (0, b"ok\n")
    r = world.run([bash, "-c", "rm -rf ~"], start_new_session=True)
    assert r.returncode == 126
    assert r.stderr.startswith(b"gatesh: BLOCKED - the command was NOT executed")
    assert read(os.path.join(world.home, "precious.txt")) == "keep me\n"


def test_running_twice_changes_nothing_and_says_so(world):
    install(world, "--agent", "claude", "--agent", "codex")
    before = snapshot(world.home)
    r = install(world, "--agent", "claude", "--agent", "codex")
    assert "nothing changed" in r.stdout.decode()
    assert snapshot(world.home) == before


def test_prefix_and_extra_shells(world, tmp_path):
    prefix = str(tmp_path / "opt")
    install(world, "--prefix", prefix, "--sh", "--zsh")
    for name in ("bash", "sh", "zsh"):
        assert os.readlink(os.path.join(prefix, "bin", name)) == gatesh_exe()
    assert not os.path.exists(shims(world))


def test_existing_config_is_left_alone(world):
    world.write_config('mode = "dry-run"\n')
    install(world)
    assert read(world.config) == 'mode = "dry-run"\n'
    install(world, "--uninstall")
    assert read(world.config) == 'mode = "dry-run"\n'


def test_a_foreign_file_where_a_link_goes_is_refused(world):
    write(os.path.join(shims(world), "bash"), "#!/bin/sh\n")
    r = install(world, ok=False)
    assert r.returncode == 1 and b"is not a link to gatesh" in r.stderr
    assert not os.path.exists(world.config) and not os.path.exists(manifest(world))


CLAUDE_BEFORE = {
    "model": "opus",
    "permissions": {"allow": ["Bash(npm test)"]},
    "hooks": {"PreToolUse": [{"matcher": "Write", "hooks": [{"type": "command",
                                                              "command": "lint-it"}]}],
              "Stop": [{"hooks": [{"type": "command", "command": "say done"}]}]},
}


def test_claude_hook_merges_keeps_everything_else_and_backs_up(world):
    from gatesh.agents import hook_status
    path = write(os.path.join(world.home, ".claude", "settings.json"),
                 json.dumps(CLAUDE_BEFORE, indent=4))
    original = read(path)
    world.write_config("[approval]\ntimeout = 200\n")
    r = install(world, "--agent", "claude")
    data = json.loads(read(path))
    assert data["model"] == "opus" and data["permissions"] == CLAUDE_BEFORE["permissions"]
    assert data["hooks"]["Stop"] == CLAUDE_BEFORE["hooks"]["Stop"]
    write_group, ours = data["hooks"]["PreToolUse"]
    assert write_group == CLAUDE_BEFORE["hooks"]["PreToolUse"][0]
    assert ours == {"matcher": "Bash", "hooks": [{
        "type": "command", "command": f"{gatectl_exe()} hook claude", "timeout": 230}]}
    backups = [n for n in os.listdir(os.path.dirname(path)) if ".gatesh-backup-" in n]
    assert len(backups) == 1
    assert read(os.path.join(os.path.dirname(path), backups[0])) == original
    assert "backup:" in r.stdout.decode()
    assert hook_status(world.env)["claude"] == path
    # the user edits the file afterwards; uninstall takes out only gatesh's entry
    data["theme"] = "dark"
    write(path, json.dumps(data))
    install(world, "--uninstall")
    assert json.loads(read(path)) == {**CLAUDE_BEFORE, "theme": "dark"}
    assert hook_status(world.env)["claude"] is None


def test_gemini_timeout_is_in_milliseconds(world):
    install(world, "--agent", "gemini")
    data = json.loads(read(os.path.join(world.home, ".gemini", "settings.json")))
    (group,) = data["hooks"]["BeforeTool"]
    assert group["matcher"] == "run_shell_command"
    assert group["hooks"][0]["timeout"] == 120_000 > 90 * 1000
    assert group["hooks"][0]["command"].endswith("gatectl hook gemini")


def test_cursor_hooks_file_has_version_and_flat_entry(world):
    install(world, "--agent", "cursor")
    path = os.path.join(world.home, ".cursor", "hooks.json")
    assert json.loads(read(path)) == {"version": 1, "hooks": {"beforeShellExecution": [
        {"command": f"{gatectl_exe()} hook cursor"}]}}
    install(world, "--uninstall")
    assert not os.path.exists(path)   # gatesh created it, and only gatesh's entry was in it


CODEX_TOML = """\
model = "gpt-5"   # my model

[features]
# experiments I like
web_search = true

[profiles.fast]
model = "gpt-5-mini"
"""


def test_codex_hooks_and_feature_flag_edit_only_their_lines(world):
    toml = write(os.path.join(world.home, ".codex", "config.toml"), CODEX_TOML)
    hooks = write(os.path.join(world.home, ".codex", "hooks.json"),
                  json.dumps({"hooks": {"Stop": [{"hooks": [{"type": "command",
                                                            "command": "x"}]}]}}))
    install(world, "--agent", "codex")
    text = read(toml)
    assert text == CODEX_TOML.replace("web_search = true\n",
                                      "web_search = true\ncodex_hooks = true\n")
    assert tomllib.loads(text)["features"] == {"web_search": True, "codex_hooks": True}
    data = json.loads(read(hooks))
    for event in ("PreToolUse", "PermissionRequest"):
        (g,) = data["hooks"][event]
        assert g["matcher"] == "Bash" and g["hooks"][0]["timeout"] == 120
    assert data["hooks"]["Stop"][0]["hooks"][0]["command"] == "x"
    install(world, "--uninstall")
    assert read(toml) == CODEX_TOML
    assert json.loads(read(hooks)) == {"hooks": {"Stop": [{"hooks": [
        {"type": "command", "command": "x"}]}]}}


def test_codex_flag_table_is_appended_when_missing_and_a_false_flag_replaced(world):
    toml = write(os.path.join(world.home, ".codex", "config.toml"), 'model = "o3"\n')
    install(world, "--agent", "codex")
    assert read(toml) == 'model = "o3"\n\n[features]\ncodex_hooks = true\n'
    install(world, "--uninstall")
    assert read(toml) == 'model = "o3"\n'
    write(toml, "[features]\ncodex_hooks = false\n")
    install(world, "--agent", "codex")
    assert read(toml) == "[features]\ncodex_hooks = true\n"
    install(world, "--uninstall")
    assert read(toml) == "[features]\ncodex_hooks = false\n"


@pytest.mark.parametrize("agent, rel", [("claude", ".claude/settings.json"),
                                        ("gemini", ".gemini/settings.json"),
                                        ("cursor", ".cursor/hooks.json"),
                                        ("codex", ".codex/hooks.json")])
def test_settings_that_are_not_json_are_refused_and_nothing_is_written(world, agent, rel):
    path = write(os.path.join(world.home, rel), '{"hooks": {,}')
    r = install(world, "--agent", agent, ok=False)
    err = r.stderr.decode()
    assert r.returncode == 1 and len(err.strip().splitlines()) == 1
    assert path in err and "not valid JSON" in err and "nothing was changed" in err
    assert read(path) == '{"hooks": {,}'
    assert not os.path.exists(shims(world)) and not os.path.exists(world.config)
    assert not os.path.exists(manifest(world))
    assert [n for n in os.listdir(os.path.dirname(path)) if "backup" in n] == []


def test_codex_config_that_is_not_toml_is_refused(world):
    write(os.path.join(world.home, ".codex", "config.toml"), "[features\n")
    r = install(world, "--agent", "codex", ok=False)
    assert r.returncode == 1 and b"not valid TOML" in r.stderr
    assert not os.path.exists(os.path.join(world.home, ".codex", "hooks.json"))


def test_uninstall_removes_only_what_install_made(world):
    install(world, "--sh")
    bash, sh = (os.path.join(shims(world), n) for n in ("bash", "sh"))
    mine = write(os.path.join(shims(world), "mytool"), "keep\n")
    os.unlink(sh)
    write(sh, "#!/bin/sh\n")                     # the user replaced a link: not ours any more
    with open(world.config, "a") as f:
        f.write("# my note\n")                    # the config changed since install
    r = install(world, "--uninstall")
    out = r.stdout.decode()
    assert not os.path.lexists(bash)
    assert read(sh) == "#!/bin/sh\n" and read(mine) == "keep\n"
    assert read(world.config).endswith("# my note\n") and "you changed it" in out
    assert not os.path.exists(manifest(world))
    r = install(world, "--uninstall")
    assert "nothing to uninstall" in r.stdout.decode()


def test_uninstall_removes_an_unchanged_config_and_empty_dirs(world):
    install(world)
    install(world, "--uninstall")
    assert not os.path.exists(world.config)
    assert not os.path.exists(os.path.join(world.env["XDG_DATA_HOME"], "gatesh"))


def test_claude_config_dir_is_honoured(world, tmp_path):
    elsewhere = str(tmp_path / "claude-home")
    env = {**world.env, "CLAUDE_CONFIG_DIR": elsewhere}
    r = world.run([gatectl_exe(), "install", "--agent", "claude"], env=env)
    assert r.returncode == 0, r.stderr
    assert os.path.exists(os.path.join(elsewhere, "settings.json"))
    assert not os.path.exists(os.path.join(world.home, ".claude"))
