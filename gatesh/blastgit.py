"""The git part of the blast-radius preview: what a git command would lose, measured with
git itself (read-only, no fetch, no repository-configured filters or hooks run)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from time import monotonic

from .blast import GIT_TIMEOUT, Budget, plural, walk_all
from .challenge import Site

__all__ = ["Git", "git_lines", "repo_lines"]


class Git:
    """Read-only git in one directory: each call has a timeout, all share a deadline, and
    the repository's own config cannot make it run a program (fsmonitor, filters)."""

    def __init__(self, cwd: str, env: Mapping[str, str], budget: Budget) -> None:
        self.cwd, self.budget = cwd, budget
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GIT_OPTIONAL_LOCKS": "0",
                    "HOME": os.environ.get("HOME", "/"), "GIT_TERMINAL_PROMPT": "0",
                    "GIT_NO_LAZY_FETCH": "1", "LC_ALL": "C"}
        self.env.update({k: env[k] for k in ("GIT_DIR", "GIT_WORK_TREE") if env.get(k)})
        self.safe = ["-c", "core.fsmonitor=false", "-c", "protocol.allow=never"]
        for key in self.run("config", "-z", "--name-only", "--get-regexp", r"^filter\.",
                            ok=(0, 1)).split("\0"):
            drv = key.rpartition(".")[0]
            self.safe += [x for v in ("clean=", "smudge=", "process=", "required=false")
                          for x in ("-c", f"{drv}.{v}")] if drv else []

    def run(self, *args: str, ok: tuple[int, ...] = (0,)) -> str:
        left = self.budget.git_deadline - monotonic()
        if left <= 0:
            raise RuntimeError("git took too long")
        try:
            got = subprocess.run(["git", "--no-pager", *self.safe, *args], cwd=self.cwd,
                                 env=self.env, stdin=subprocess.DEVNULL, capture_output=True,
                                 timeout=min(GIT_TIMEOUT, left), start_new_session=True)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"git {args[0]} timed out") from None
        if got.returncode not in ok:
            err = got.stderr.decode("utf-8", "replace").strip().splitlines()
            raise RuntimeError(err[-1] if err else f"git {args[0]} failed")
        return got.stdout.decode("utf-8", "surrogateescape")

    def count(self, *args: str) -> int:
        return int(self.run("rev-list", "--count", *args).strip() or 0)

    def branch(self) -> str:
        return self.run("symbolic-ref", "-q", "--short", "HEAD", ok=(0, 1)).strip()

    def refs(self, prefix: str) -> list[str]:
        return self.run("for-each-ref", "--format=%(refname:short)", prefix).split()

    def changes(self, paths: list[str], untracked: bool, label: str = "git") -> str:
        """A line counting uncommitted changes (untracked files too when they would go)."""
        got = dict.fromkeys(("modified", "staged", "conflicted", "untracked"), 0)
        recs = iter(self.run("status", "--porcelain=v1", "-z", "--ignore-submodules=all",
                             "--untracked-files=" + ("normal" if untracked else "no"), "--",
                             *paths).split("\0"))
        for rec in recs:
            xy = rec[:2]
            if len(rec) > 3:
                if xy[0] in "RC":
                    next(recs, None)  # a rename's source path
                got["untracked" if xy == "??" else "conflicted" if "U" in xy or xy in ("AA", "DD")
                    else "modified" if xy[1] != " " else "staged"] += 1
        n = sum(got.values())
        if not n:
            return f"{label}: no uncommitted changes" + (" in the named paths" if paths else "")
        detail = ", ".join(f"{v} {k}" for k, v in got.items() if v)
        return f"{label}: {plural(n, 'uncommitted change')} would be lost ({detail})"


def _push(g: Git, rest: list[str]) -> list[str]:
    """What a push would overwrite or delete on the remote, as of the last fetch."""
    opts = [a for a in rest if a.startswith("-")]
    pos = [a for i, a in enumerate(rest) if not a.startswith("-")
           and not (i and rest[i - 1] in ("-o", "--push-option", "--repo", "--exec"))]
    cur = g.branch()
    remote = pos[0] if pos else (cur and g.run("config", f"branch.{cur}.remote", ok=(0, 1))
                                 .strip() or "origin")
    if remote not in g.run("remote").split():
        return [f"git: {remote} is not a configured remote; its commits could not be counted"]
    if pos[1:]:
        specs = [r.lstrip("+") for r in pos[1:]]
    elif {"--all", "--mirror", "--branches"} & set(opts):
        specs = g.refs("refs/heads/")
    else:
        specs = [cur] if cur else []
    out = []
    for spec in specs[:8]:
        src, colon, dst = spec.partition(":")
        dst = (dst if colon else cur if src == "HEAD" else src).removeprefix("refs/heads/")
        theirs = f"{remote}/{dst}"
        if not g.refs(f"refs/remotes/{theirs}"):
            out.append(f"git: {theirs} was never fetched; commits on the remote could not be "
                       "counted")
        elif {"-d", "--delete"} & set(opts) or (colon and not src):
            n = g.count(f"refs/remotes/{theirs}", "--not", f"--exclude={theirs}", "--remotes",
                        "--branches", "--tags")
            out.append(f"git: {plural(n, 'commit')} on {theirs} on no other branch or tag would be "
                       "lost (as of the last fetch)")
        else:
            lost, ahead = g.run("rev-list", "--left-right", "--count",
                                f"refs/remotes/{theirs}...{src or 'HEAD'}").split()
            out.append(f"git: {plural(lost, 'commit')} on {theirs} not in {src or 'HEAD'} would be "
                       "lost (as of the last fetch)")
            out += [f"git: {plural(ahead, 'unpushed commit')} on {src}"] if ahead != "0" else []
    return out


def git_lines(site: Site, env: Mapping[str, str], budget: Budget) -> list[str]:
    """What the matched git command would lose, measured in the directory it runs in."""
    argv, cwd, i = site.argv, site.cwd, 1
    if cwd is None:
        return ["git: not measured (the directory it runs in is only known at run time)"]
    while i < len(argv) and (argv[i] or "-").startswith("-"):
        if argv[i] in ("-C", "-c", "--git-dir", "--work-tree", "--namespace"):
            val = argv[i + 1] if i + 1 < len(argv) else None
            cwd = os.path.join(cwd, val or "?") if argv[i] == "-C" else cwd
            i += 1
        i += 1
    sub, rest = (argv[i] if i < len(argv) else ""), [a for a in argv[i + 1:] if a is not None]
    pos = [a for a in rest if not a.startswith("-")]
    short = "".join(a[1:] for a in rest if a[:1] == "-" and a[1:2] != "-")  # -fdx: f, d, x
    g = Git(cwd, env, budget)
    if sub == "push":
        return _push(g, rest)
    if sub in ("checkout", "switch", "restore", "rm", "reset"):
        paths = rest[rest.index("--") + 1:] if "--" in rest else \
            pos if sub in ("restore", "rm") else []
        out = [g.changes(paths, False)]
        if sub == "reset" and pos:
            cur = g.branch()
            try:
                n = g.count("HEAD", f"^{pos[0]}", "--not", f"--exclude={cur or 'HEAD'}",
                            "--branches", "--remotes", "--tags")
            except RuntimeError:
                n = 0
            out += [f"git: {plural(n, 'commit')} on {cur or 'HEAD'} would be left only in the "
                    "reflog"] if n else []
        return out
    if sub == "branch" and ("d" in short.lower() or "--delete" in rest):
        out = []
        for b in pos:
            if not g.refs(f"refs/heads/{b}"):
                out.append(f"git: branch {b} does not exist")
                continue
            n = g.count(f"refs/heads/{b}", "--not", f"--exclude={b}", "--branches", "--remotes",
                        "--tags")
            out.append(f"git: {plural(n, 'commit')} on {b} on no other branch, tag or remote"
                       + (" would be lost" if n else ""))
        return out
    if sub == "clean":
        keep = ["-ff" if short.count("f") > 1 else "-f"] + [f"-{c}" for c in "dxX" if c in short]
        keep += [a for a in rest if a in ("-e", "--exclude") or not a.startswith("-")]
        gone = [ln[13:] for ln in g.run("clean", "-n", *keep).splitlines()
                if ln.startswith("Would remove ")]
        return [f"git: clean would delete {plural(len(gone), 'untracked path')}: " +
                walk_all([os.path.join(cwd, q) for q in gone], budget, [])]
    return []


def repo_lines(g: Git, label: str) -> list[str]:
    """Everything a deleted repository would take with it."""
    out = [g.changes([], True, label)]
    if not g.run("remote").split():
        n = g.count("--branches") if g.refs("refs/heads/") else 0
        return out + [f"{label}: no remote holds any of its {plural(n, 'commit')}"] if n else out
    for b in g.refs("refs/heads/")[:8]:
        n = g.count(f"refs/heads/{b}", "--not", "--remotes")
        out += [f"{label}: {plural(n, 'unpushed commit')} on {b}"] if n else []
    return out
