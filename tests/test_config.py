"""Config file and environment: modes, the real bash, and fail-closed errors with lines."""

from __future__ import annotations

import os

import pytest

from gatesh.config import find_bash, load
from gatesh.errors import ConfigError


def _env(tmp_path, **extra):
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
           "XDG_STATE_HOME": str(tmp_path / "state"), "PATH": "/usr/bin:/bin"}
    env.update(extra)
    return env


def _write(tmp_path, text):
    d = tmp_path / "cfg" / "gatesh"
    d.mkdir(parents=True, exist_ok=True)
    (d / "config.toml").write_text(text)
    return str(d / "config.toml")


def test_defaults_without_a_file(tmp_path):
    cfg = load(_env(tmp_path))
    assert cfg.mode == "enforce"
    assert cfg.approval_timeout == 90
    assert cfg.audit_path == str(tmp_path / "state" / "gatesh" / "audit.jsonl")
    assert os.path.basename(cfg.bash) == "bash" and os.access(cfg.bash, os.X_OK)


def test_mode_from_file_and_env_override(tmp_path):
    _write(tmp_path, 'mode = "dry-run"\n')
    assert load(_env(tmp_path)).mode == "dry-run"
    assert load(_env(tmp_path, GATESH_MODE="no-human")).mode == "no-human"


def test_gatesh_config_names_another_file(tmp_path):
    other = tmp_path / "elsewhere.toml"
    other.write_text('mode = "no-human"\n')
    assert load(_env(tmp_path, GATESH_CONFIG=str(other))).mode == "no-human"


@pytest.mark.parametrize("text, line, words", [
    ('mode = "yolo"\n', 1, "mode must be one of"),
    ('\n\nmode = "enforce"\nmoed = 1\n', 4, "unknown setting 'moed'"),
    ('mode = "enforce"\n[approval]\ntimeout = "soon"\n', 3, "wrong type"),
    ('mode = enforce\n', 1, "not valid TOML"),
    ('[approval]\ntimeout = 0\n', 2, "1..3600"),
])
def test_bad_file_names_file_and_line(tmp_path, text, line, words):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        load(_env(tmp_path))
    msg = str(e.value)
    assert msg.startswith(f"{path}:{line}:"), msg
    assert words in msg and "\n" not in msg


def test_bad_mode_in_environment(tmp_path):
    with pytest.raises(ConfigError):
        load(_env(tmp_path, GATESH_MODE="off"))


def test_configured_bash_must_be_real(tmp_path):
    fake = tmp_path / "bash"
    fake.write_text("#!/usr/bin/env python3\n# gatesh shim\n")
    fake.chmod(0o755)
    _write(tmp_path, f'bash = "{fake}"\n')
    with pytest.raises(ConfigError):
        load(_env(tmp_path))


def test_find_bash_skips_gatesh_shims(tmp_path):
    shim = tmp_path / "bin" / "bash"
    shim.parent.mkdir()
    shim.write_text("#!/usr/bin/python3\nfrom gatesh.shell import main\n")
    shim.chmod(0o755)
    found = find_bash({"PATH": f"{shim.parent}:/usr/bin:/bin"})
    assert found != str(shim)
