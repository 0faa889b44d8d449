"""The gate end to end through the real gatesh and the real bash, in a temp HOME."""

from __future__ import annotations

import os

import pytest

from gtutil import gatesh_exe, make_world


@pytest.fixture
def world(tmp_path):
    return make_world(str(tmp_path))


def test_rm_rf_home_is_blocked_with_the_message(world):
    r = world.run([gatesh_exe(), "-c", "rm -rf ~"])
    assert r.returncode == 126
    err = r.stderr.decode()
    lines = err.splitlines()
    assert lines[0].startswith("gatesh: BLOCKED - the command was NOT executed: ")
    assert all(line.startswith("gatesh: ") for line in lines)
    assert "fs:rm_recursive_home" in err
    assert "safer: " in err and "do not retry" in err
    assert lines[-1].startswith("gatesh: status=blocked reason=")
    assert r.stdout == b""
    assert os.path.exists(os.path.join(world.home, "precious.txt"))
    assert os.path.isdir(os.path.join(world.project, "src"))


def test_routine_command_runs_as_under_bash(world):
    g = world.run([gatesh_exe(), "-c", "ls -la"])
    b = world.run(["/usr/bin/bash", "-c", "ls -la"])
    assert (g.returncode, g.stdout, g.stderr) == (b.returncode, b.stdout, b.stderr)
    assert g.returncode == 0 and b"src" in g.stdout


def test_destructive_text_as_data_is_allowed(world):
    r = world.run([gatesh_exe(), "-c", 'echo "rm -rf /"'])
    assert r.returncode == 0 and r.stdout == b"rm -rf /\n"


def test_unset_shell_variable_is_the_login_shell_as_in_bash(world):
    # bash fills an unset SHELL from the password database, so `$SHELL -c` runs a shell
    assert "SHELL" not in world.env
    r = world.run([gatesh_exe(), "-c", '$SHELL -c "rm -rf ~"'])
    assert r.returncode == 126 and b"fs:rm_recursive_home" in r.stderr
    assert os.path.exists(os.path.join(world.home, "precious.txt"))


def test_no_human_mode_blocks_ask(world):
    world.env["GATESH_MODE"] = "no-human"
    r = world.run([gatesh_exe(), "-c", "git push --force origin main"])
    assert r.returncode == 126
    assert b"reason=no_human" in r.stderr


def test_deny_rule_blocks_in_every_enforcing_mode(world):
    for mode in ("enforce", "no-human"):
        world.env["GATESH_MODE"] = mode
        r = world.run([gatesh_exe(), "-c", "rm -rf /"])
        assert r.returncode == 126 and b"reason=rule_deny" in r.stderr


def test_tamper_is_denied_and_recorded(world):
    cfgdir = os.path.join(world.env["XDG_CONFIG_HOME"], "gatesh")
    os.makedirs(cfgdir)
    r = world.run([gatesh_exe(), "-c", f"echo 'mode = \"dry-run\"' > {cfgdir}/config.toml"])
    assert r.returncode == 126 and b"reason=tamper" in r.stderr
    assert not os.path.exists(os.path.join(cfgdir, "config.toml"))
    assert world.records()[-1]["reason"] == "tamper"


def test_dry_run_runs_everything_and_logs_the_verdict(world):
    victim = os.path.join(world.home, "victim")
    os.makedirs(os.path.join(victim, "sub"))
    world.env["GATESH_MODE"] = "dry-run"
    r = world.run([gatesh_exe(), "-c", "rm -rf ~/victim && echo gone"])
    assert r.returncode == 0 and r.stdout == b"gone\n" and r.stderr == b""
    assert not os.path.exists(victim)
    rec = world.records()[-1]
    assert rec["verdict"] == "ask" and rec["outcome"] == "dry-run"
    assert "fs:rm_recursive_outside_project" in rec["rules"]


def test_unparseable_command_is_never_allowed(world):
    r = world.run([gatesh_exe(), "-c", "echo $(( 1 + )"])
    assert r.returncode == 126
    assert b"could not parse" in r.stderr
    assert world.records()[-1]["parsed"] is False


def test_bad_config_blocks_with_file_and_line(world):
    world.write_config('mode = "enforce"\nbogus = 1\n')
    r = world.run([gatesh_exe(), "-c", "echo hi"])
    assert r.returncode == 126 and r.stdout == b""
    first = r.stderr.decode().splitlines()[0]
    assert first.startswith("gatesh: BLOCKED - the command was NOT executed")
    assert f"{world.config}:2" in r.stderr.decode()


def test_bad_user_rule_file_blocks(world):
    d = os.path.join(world.env["XDG_CONFIG_HOME"], "gatesh", "rules")
    os.makedirs(d)
    with open(os.path.join(d, "mine.toml"), "w") as f:
        f.write('[pack]\nname = "mine"\n[[rule]]\nid = "mine:x"\nseverity = "big"\n')
    r = world.run([gatesh_exe(), "-c", "echo hi"])
    assert r.returncode == 126 and r.stdout == b""
    assert b"mine.toml:4" in r.stderr


def test_unwritable_audit_log_blocks(world):
    blocker = os.path.join(world.home, ".local", "state")
    os.makedirs(os.path.dirname(blocker), exist_ok=True)
    with open(blocker, "w") as f:
        f.write("a file where a directory should be")
    r = world.run([gatesh_exe(), "-c", "echo hi"])
    assert r.returncode == 126 and r.stdout == b""
    assert b"reason=audit_unwritable" in r.stderr


def test_every_decision_is_recorded_before_exec(world):
    world.run([gatesh_exe(), "-c", "true"])
    world.run([gatesh_exe(), "-c", "rm -rf ~"])
    recs = world.records()
    # an `ask` leaves a pending record before the approval wait, then the decision
    assert [r["event"] for r in recs] == ["decision", "pending", "decision"]
    assert recs[1]["request"] == recs[2]["request"]
    recs = [r for r in recs if r["event"] == "decision"]
    assert [r["verdict"] for r in recs] == ["allow", "ask"]
    assert [r["outcome"] for r in recs] == ["run", "blocked"]
    assert world.records()[2]["prev"] == world.records()[1]["hash"]
    for key in ("ts", "mode", "cwd", "command", "inner", "verdict", "rules", "outcome"):
        assert key in recs[0]
    assert recs[0]["cwd"] == world.project


def test_script_file_is_gated_as_a_whole(world):
    script = os.path.join(world.project, "cleanup.sh")
    with open(script, "w") as f:
        f.write("#!/bin/bash\necho start\nrm -rf \"$HOME\"\n")
    r = world.run([gatesh_exe(), script])
    assert r.returncode == 126 and r.stdout == b""
    assert os.path.exists(os.path.join(world.home, "precious.txt"))


def test_python_and_loader_variables_do_not_steer_the_gate(world, tmp_path):
    # PYTHONINSPECT would leave an interpreter prompt behind a blocked command; the gate
    # re-executes itself isolated, and the command still gets the caller's exact environment
    env = {**world.env, "PYTHONINSPECT": "1", "PYTHONFOO": "x y", "LD_FOO": "z"}
    r = world.run([gatesh_exe(), "-c", "rm -rf ~"], env=env)
    assert r.returncode == 126 and r.stdout == b"" and b">>>" not in r.stderr
    assert os.path.exists(os.path.join(world.home, "precious.txt"))
    g = world.run([gatesh_exe(), "-c", "env"], env=env)
    b = world.run(["/usr/bin/bash", "-c", "env"], env=env)
    assert g.returncode == 0 and g.stdout == b.stdout
    assert b"PYTHONFOO=x y\n" in g.stdout and b"GATESH" not in g.stdout
