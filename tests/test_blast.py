"""The blast-radius preview: real trees and real git repositories in temp dirs."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest

from gtutil import gatesh_exe, make_world

from gatesh import blast
from gatesh.config import load
from gatesh.gate import Request, review
from gatesh.model import Decision, Match, Severity, Verdict


@pytest.fixture
def world(tmp_path):
    return make_world(str(tmp_path))


def decide(w, cmd: str, cwd: str | None = None) -> Decision:
    return review(Request(cmd, cwd or w.project, "check", w.env), load(w.env))


def lines(w, cmd: str, cwd: str | None = None, **kw) -> tuple[str, ...]:
    d = decide(w, cmd, cwd)
    assert d.matches, f"no rule matched {cmd!r}"
    return blast.preview(d, cwd or w.project, w.env, **kw)


def git(cwd: str, env: dict[str, str], *args: str) -> str:
    p = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=60, check=True)
    return p.stdout


def write(path: str, data: bytes | str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def commit(cwd: str, env: dict[str, str], name: str, text: str = "x\n") -> None:
    write(os.path.join(cwd, name), text)
    git(cwd, env, "add", "--", name)
    git(cwd, env, "commit", "-q", "-m", f"add {name}")


def decision(cmd: str, *targets: str) -> Decision:
    m = Match("t:rule", Severity.CRITICAL, Verdict.ASK, "why", "", tuple(targets), cmd)
    return Decision(Verdict.ASK, True, (m,), "why", "no_approver", cmd, cmd)


# --- filesystem ------------------------------------------------------------------------


def test_small_tree_counted_exactly(world):
    data = os.path.join(world.home, "data")
    write(os.path.join(data, "a.txt"), b"x" * 10)
    write(os.path.join(data, "sub", "b.bin"), b"y" * 200)
    write(os.path.join(data, "sub", "deep", "c.bin"), b"z" * 3000)
    os.makedirs(os.path.join(data, "empty"))
    assert blast.walk(data, blast.Budget(1000, 10), []) == (3, 3210, "")
    assert f"{data}: 3 files, 3.2 KB" in lines(world, "rm -rf ~/data")


def test_cut_short_walk_says_at_least(world):
    data = os.path.join(world.home, "big")
    for i in range(60):
        write(os.path.join(data, f"d{i % 3}", f"f{i}"), b"12345")
    got = [ln for ln in lines(world, "rm -rf ~/big", max_entries=10) if ln.startswith(data)]
    assert len(got) == 1 and "at least" in got[0] and "walk cut short" in got[0], got
    full = [ln for ln in lines(world, "rm -rf ~/big") if ln.startswith(data)]
    assert full == [f"{data}: 60 files, 300 B"]


def test_symlinks_are_one_entry_and_never_followed(world):
    data = os.path.join(world.home, "links")
    write(os.path.join(data, "real.txt"), b"abc")
    outside = os.path.join(world.root, "outside")
    write(os.path.join(outside, "huge.bin"), b"h" * 100_000)
    os.symlink("/", os.path.join(data, "to_root"))
    os.symlink(data, os.path.join(data, "loop"))
    os.symlink(outside, os.path.join(data, "sub_out"))
    assert blast.walk(data, blast.Budget(1000, 10), []) == (4, 3, "")
    assert f"{data}: 4 files, 3 B" in lines(world, "rm -rf ~/links")


def test_symlink_target_itself_is_not_followed(world):
    os.symlink("/usr", os.path.join(world.home, "usrlink"))
    got = lines(world, "rm -rf ~/usrlink")
    assert any("symlink (not followed" in ln for ln in got), got


def test_nonexistent_target(world):
    assert f"{world.home}/nope: does not exist" in lines(world, "rm -rf ~/nope")


def test_glob_target_is_expanded(world):
    data = os.path.join(world.home, "g")
    for name in ("a", "b", "c"):
        write(os.path.join(data, name, "f"), b"1234")
    write(os.path.join(data, ".hidden", "f"), b"x" * 999)  # bash's * does not match it
    got = lines(world, "rm -rf ~/g/*")
    assert f"{data}/*: 3 matches, 3 files, 12 B" in got, got


def test_glob_expansion_is_bounded(world):
    data = os.path.join(world.home, "many")
    for i in range(50):
        write(os.path.join(data, f"f{i}"), b"1")
    got = [ln for ln in lines(world, "rm -rf ~/many/*", max_entries=5) if ln.startswith(data)]
    assert got and got[0].startswith(f"{data}/*: at least 5 matches"), got


def test_walk_never_enters_proc_sys_dev(monkeypatch):
    seen: list[str] = []
    real = os.scandir

    class Only:
        """The root directory's listing cut down to proc, sys, dev and etc."""

        def __init__(self, it):
            self.it = it

        def __enter__(self):
            return self

        def __iter__(self):
            return (e for e in self.it if e.name in ("proc", "sys", "dev", "etc"))

        def __exit__(self, *exc):
            self.it.close()

    def scandir(path):
        seen.append(str(path))
        return Only(real(path)) if str(path) == "/" else real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    blast.walk("/", blast.Budget(3000, 5.0), [])
    assert seen[:1] == ["/"] and any(p.startswith("/etc") for p in seen)
    bad = [p for p in seen if p.split("/")[1:2] in (["proc"], ["sys"], ["dev"])]
    assert bad == []


def test_virtual_and_device_targets():
    got = blast.preview(decision("rm -rf /proc/1", "/proc/1 (system)"), "/", {})
    assert got == ("/proc/1: not measured (virtual or device filesystem)",)
    got = blast.preview(decision("mkfs.ext4 /dev/null", "/dev/null (device)"), "/", {})
    assert got == ("/dev/null: character device",)
    got = blast.preview(decision("mkfs.ext4 /dev/sdzz9", "/dev/sdzz9 (device)"), "/", {})
    assert got == ("/dev/sdzz9: does not exist",)


def test_remote_paths_are_not_measured_locally(world):
    got = lines(world, "ssh host rm -rf /usr/share")
    assert "/usr/share: not measured (runs on host)" in got, got


def test_never_raises(world, monkeypatch):
    odd = decision("", "(", "/", "of=", "production: ", "branch ")
    assert isinstance(blast.preview(odd, world.project, world.env, max_entries=50), tuple)

    def boom(*a, **k):
        raise RuntimeError("no")
    monkeypatch.setattr(blast, "sites", boom)
    got = blast.preview(decide(world, "rm -rf ~/x"), world.project, world.env)
    assert len(got) == 1 and "could not be measured" in got[0]


# --- names ----------------------------------------------------------------------------


def test_names_of_other_targets(world):
    assert "bucket prod-data (production)" in lines(world, "aws s3 rb s3://prod-data --force")
    assert "namespace prod (production)" in lines(world, "kubectl delete ns prod")
    assert "database shop" in lines(world, 'psql -c "DROP DATABASE shop"')
    got = lines(world, "AWS_PROFILE=prod aws s3 rm s3://logs --recursive")
    assert "bucket logs" in got and "production marker: AWS_PROFILE=prod" in got, got


# --- git ------------------------------------------------------------------------------


@pytest.fixture
def repo(world):
    """The world's project with one commit on main and an origin (a local bare repo)."""
    bare = os.path.join(world.root, "origin.git")
    git(world.root, world.env, "init", "-q", "--bare", "-b", "main", bare)
    commit(world.project, world.env, "README", "one\n")
    commit(world.project, world.env, "src/app.py", "print('hi')\n")
    git(world.project, world.env, "remote", "add", "origin", bare)
    git(world.project, world.env, "push", "-q", "-u", "origin", "main")
    return bare


def test_uncommitted_changes_counted(world, repo):
    write(os.path.join(world.project, "README"), "changed\n")
    write(os.path.join(world.project, "src", "app.py"), "print('changed')\n")
    write(os.path.join(world.project, "notes.txt"), "untracked\n")
    got = lines(world, "git reset --hard")
    assert "git: 2 uncommitted changes would be lost (2 modified)" in got, got
    got = lines(world, "rm -rf ~/project", cwd=world.home)
    want = f"git: {world.project}: 3 uncommitted changes would be lost (2 modified, 1 untracked)"
    assert want in got, got


def test_reset_to_older_commit_counts_commits(world, repo):
    commit(world.project, world.env, "c3")
    commit(world.project, world.env, "c4")
    got = lines(world, "git reset --hard HEAD~2")
    assert "git: 2 commits on main would be left only in the reflog" in got, got


def test_unpushed_commits(world, repo):
    git(world.project, world.env, "checkout", "-q", "-b", "feature")
    git(world.project, world.env, "push", "-q", "origin", "feature")
    for name in ("f1", "f2", "f3", "f4"):
        commit(world.project, world.env, name)
    got = lines(world, "git push --force origin feature")
    assert "git: 4 unpushed commits on feature" in got, got
    assert "git: 0 commits on origin/feature not in feature would be lost " \
           "(as of the last fetch)" in got, got
    got = lines(world, "rm -rf ~/project", cwd=world.home)
    assert f"git: {world.project}: 4 unpushed commits on feature" in got, got


def test_force_push_reports_remote_commits_lost(world, repo):
    other = os.path.join(world.root, "other")
    git(world.root, world.env, "clone", "-q", repo, other)
    commit(other, world.env, "theirs1")
    commit(other, world.env, "theirs2")
    git(other, world.env, "push", "-q", "origin", "main")
    commit(world.project, world.env, "mine")
    git(world.project, world.env, "fetch", "-q", "origin")
    before = git(repo, world.env, "rev-parse", "main")
    got = lines(world, "git push --force origin main")
    assert "git: 2 commits on origin/main not in main would be lost (as of the last fetch)" \
        in got, got
    assert "git: 1 unpushed commit on main" in got, got
    assert git(repo, world.env, "rev-parse", "main") == before  # preview pushed nothing


def test_git_runs_in_the_commands_directory(world, repo):
    other = os.path.join(world.root, "other")
    git(world.root, world.env, "clone", "-q", repo, other)
    write(os.path.join(other, "README"), "edited\n")
    want = "git: 1 uncommitted change would be lost (1 modified)"
    assert want in lines(world, f"cd {other} && git reset --hard")
    assert want in lines(world, f"git -C {other} reset --hard")
    assert "git: no uncommitted changes" in lines(world, "git reset --hard")


def test_branch_delete_and_clean(world, repo):
    git(world.project, world.env, "branch", "feat")
    git(world.project, world.env, "checkout", "-q", "feat")
    commit(world.project, world.env, "only-here")
    git(world.project, world.env, "checkout", "-q", "main")
    got = lines(world, "git branch -D feat")
    assert "git: 1 commit on feat on no other branch, tag or remote would be lost" in got, got
    write(os.path.join(world.project, "junk", "a.log"), b"x" * 2000)
    write(os.path.join(world.project, "b.tmp"), b"y" * 500)
    got = lines(world, "git clean -fd")
    assert "git: clean would delete 2 untracked paths: 2 files, 2.5 KB" in got, got
    assert os.path.exists(os.path.join(world.project, "junk", "a.log"))


def test_git_never_writes_the_index(world, repo):
    index = os.path.join(world.project, ".git", "index")
    os.utime(os.path.join(world.project, "README"), (1_000_000_000, 1_000_000_000))
    before = (os.stat(index).st_mtime_ns, hashlib.sha256(open(index, "rb").read()).hexdigest())
    lines(world, "git reset --hard")
    lines(world, "rm -rf ~/project", cwd=world.home)
    after = (os.stat(index).st_mtime_ns, hashlib.sha256(open(index, "rb").read()).hexdigest())
    assert after == before
    assert not os.path.exists(index + ".lock")


def test_repository_config_cannot_run_programs(world, repo):
    marker = os.path.join(world.root, "ran")
    hook = os.path.join(world.root, "hook.sh")
    write(hook, f"#!/bin/sh\necho ran >> {marker}\ncat\n")
    os.chmod(hook, 0o755)
    git(world.project, world.env, "config", "filter.evil.clean", hook)
    write(os.path.join(world.project, ".gitattributes"), "* filter=evil\n")
    os.utime(os.path.join(world.project, "README"), (1_000_000_000, 1_000_000_000))
    git(world.project, world.env, "status", "--porcelain")  # plain git does run it
    assert os.path.exists(marker)
    os.unlink(marker)
    os.utime(os.path.join(world.project, "README"), (1_000_000_001, 1_000_000_001))
    git(world.project, world.env, "config", "core.fsmonitor", hook)
    got = lines(world, "git reset --hard")
    assert any(ln.startswith("git: ") for ln in got), got
    assert not os.path.exists(marker)


def test_the_gate_does_not_import_these_modules(world):
    r = world.run([sys.executable, "-X", "importtime", gatesh_exe(), "-c", "rm -rf ~"])
    assert r.returncode == 126
    err = r.stderr.decode()
    assert "gatesh.classify" in err  # the listing works
    assert "gatesh.blast" not in err and "gatesh.challenge" not in err


def test_repositories_inside_a_deleted_tree(world, repo):
    write(os.path.join(world.project, "README"), "changed\n")
    want = f"git: {world.project}: 1 uncommitted change would be lost (1 modified)"
    assert want in lines(world, "rm -rf .git")
    assert want in lines(world, "rm -rf ~", cwd=world.home)
    got = lines(world, "chmod -R 777 ~", cwd=world.home)  # nothing is deleted
    assert got and not any("uncommitted" in ln for ln in got), got


def test_control_characters_in_names_are_shown_escaped(world):
    os.makedirs(os.path.join(world.home, "a\x1b[2Jb"))
    got = lines(world, "rm -rf ~/$'a\\x1b[2Jb'")
    assert any("a\\x1b[2Jb: 0 files" in ln for ln in got), got
    assert not any("\x1b" in ln for ln in got)
