"""The blast-radius preview the approver shows: measured by gatesh, not claimed by the agent.

Files and bytes under filesystem targets (a bounded walk: lstat only, never into /proc, /sys
or /dev), what git would lose, devices, and the names of anything else with production
markers.  Git runs read-only and offline: GIT_OPTIONAL_LOCKS=0, protocol.allow=never, no
fsmonitor or filter programs, a timeout, the approver's PATH (never the agent's).
Only the approver imports this module.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Mapping
from time import monotonic

from .challenge import PROD, Site, names, sites
from .model import Decision

__all__ = ["preview", "walk", "human_size", "Budget"]

_VIRTUAL = ("/proc", "/sys", "/dev")
_GIT_TIMEOUT, _GIT_TOTAL, _MAX_LINES = 3.0, 8.0, 16
_DELETES = frozenset({"rm", "unlink", "rmdir", "shred", "wipe", "srm", "find", "remove-item",
                      "ri", "del", "rd", "rsync", "rclone"})  # repos inside their targets go
_FAILS = (RuntimeError, OSError, ValueError, subprocess.SubprocessError)


class Budget:
    """Entries and time left for the walks of one request, and the deadline for git."""

    def __init__(self, entries: int, seconds: float) -> None:
        self.entries, self.deadline = entries, monotonic() + seconds
        self.git_deadline = monotonic() + _GIT_TOTAL

    def spent(self) -> bool:
        return self.entries <= 0 or monotonic() > self.deadline


def human_size(n: int) -> str:
    """Decimal units with one decimal: 56.1 MB."""
    size, unit = float(n), "B"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            break
        size /= 1000
    return f"{n} B" if unit == "B" else f"{size:.1f} {unit}"


def _n(n: int | str, word: str, plural: str = "") -> str:
    n = int(n)
    return f"{n:,} {word if n == 1 else plural or word + 's'}"


def _shown(line: str) -> str:
    """A line safe to print: names come from the agent (control characters made visible)."""
    from .display import visible
    line = visible(line)
    return line if len(line) <= 200 else line[:197] + "..."


def _virtual(p: str) -> bool:
    return any(p == v or p.startswith(v + "/") for v in _VIRTUAL)


def walk(root: str, budget: Budget, repos: list[str]) -> tuple[int, int, str]:
    """(files, bytes, why the count is only a lower bound or "") for the tree at root.

    lstat only: a symlink is one entry and is never followed.  Git work trees met on the
    way (a `.git` entry) are added to repos, at most 3."""
    st = os.lstat(root)
    budget.entries -= 1
    if not stat.S_ISDIR(st.st_mode):
        return 1, st.st_size if stat.S_ISREG(st.st_mode) else 0, ""
    if os.path.basename(root) == ".git" and len(repos) < 3:
        repos.append(os.path.dirname(root))
    files, size, short = 0, 0, ""
    stack = [] if _virtual(root) else [root]
    while stack:
        d = stack.pop()
        try:
            it = os.scandir(d)
        except OSError:
            short = "some directories could not be read"
            continue
        with it:
            for e in it:
                if budget.entries <= 0 or (budget.entries & 255 == 0 and budget.spent()):
                    return files, size, "walk cut short"
                budget.entries -= 1
                if e.name == ".git" and len(repos) < 3 and d not in repos:
                    repos.append(d)
                try:
                    if e.is_dir(follow_symlinks=False):
                        stack.extend(() if _virtual(e.path) else (e.path,))
                        continue
                    files += 1
                    if e.is_file(follow_symlinks=False):
                        size += e.stat(follow_symlinks=False).st_size
                except OSError:
                    short = "some entries could not be read"
    return files, size, short


def _count(files: int, size: int, short: str) -> str:
    return (f"at least {_n(files, 'file')}, {human_size(size)} ({short})" if short
            else f"{_n(files, 'file')}, {human_size(size)}")


def _walk_all(paths: list[str], budget: Budget, repos: list[str]) -> str:
    files, size, short = 0, 0, ""
    for p in paths:
        if budget.spent():
            return _count(files, size, "walk cut short")
        try:
            f, b, why = walk(p, budget, repos)
        except OSError:
            f, b, why = 0, 0, "some entries could not be read"
        files, size, short = files + f, size + b, short or why
    return _count(files, size, short)


def _fs_line(p: str, budget: Budget, repos: list[str]) -> str:
    if p.endswith("/?"):
        return f"{p[:-2]}/...: part of the name is only known at run time; not measured"
    if _virtual(p):
        return f"{p}: not measured (virtual or device filesystem)"
    if any(c in p for c in "*?[") and not os.path.lexists(p):  # else a name, not a pattern
        import glob
        from itertools import islice
        limit = max(budget.entries, 1)
        found = list(islice(glob.iglob(p), limit + 1))
        if not found:
            return f"{p}: matches nothing"
        more = "at least " if len(found) > limit else ""
        return f"{p}: {more}{_n(len(found[:limit]), 'match', 'matches')}, " + \
            _walk_all(found[:limit], budget, repos)
    try:
        if os.path.islink(p):
            return f"{p}: a symlink (not followed; only the link is removed)"
        return f"{p}: {_count(*walk(p, budget, repos))}"
    except FileNotFoundError:
        return f"{p}: does not exist"
    except OSError as e:
        return f"{p}: could not be measured ({e.strerror or type(e).__name__})"


def _device_line(p: str, *_: object) -> str:
    try:
        st = os.stat(p)
    except OSError as e:
        return f"{p}: " + ("does not exist" if isinstance(e, FileNotFoundError) else
                           f"could not be read ({e.strerror})")
    if not stat.S_ISBLK(st.st_mode):
        return f"{p}: {'character device' if stat.S_ISCHR(st.st_mode) else 'not a device node'}"
    name, out = os.path.basename(os.path.realpath(p)), f"{p}: block device"
    try:
        with open(f"/sys/class/block/{name}/size") as f:
            out += f", {human_size(int(f.read().strip()) * 512)}"
        with open("/proc/self/mounts") as f:
            mounts = [ln.split()[1] for ln in f if ln.startswith("/dev/") and
                      os.path.basename(os.path.realpath(ln.split()[0])).startswith(name)]
        out += f", mounted at {', '.join(mounts[:4])}" if mounts else ", not mounted"
    except (OSError, ValueError):
        pass
    return out


class _Git:
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
        got = subprocess.run(["git", "--no-pager", *self.safe, *args], cwd=self.cwd,
                             env=self.env, stdin=subprocess.DEVNULL, capture_output=True,
                             timeout=min(_GIT_TIMEOUT, left), start_new_session=True)
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
        return f"{label}: {_n(n, 'uncommitted change')} would be lost ({detail})"


def _push(g: _Git, rest: list[str]) -> list[str]:
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
            out.append(f"git: {_n(n, 'commit')} on {theirs} on no other branch or tag would be "
                       "lost (as of the last fetch)")
        else:
            lost, ahead = g.run("rev-list", "--left-right", "--count",
                                f"refs/remotes/{theirs}...{src or 'HEAD'}").split()
            out.append(f"git: {_n(lost, 'commit')} on {theirs} not in {src or 'HEAD'} would be "
                       "lost (as of the last fetch)")
            out += [f"git: {_n(ahead, 'unpushed commit')} on {src}"] if ahead != "0" else []
    return out


def _git_lines(site: Site, env: Mapping[str, str], budget: Budget) -> list[str]:
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
    g = _Git(cwd, env, budget)
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
            out += [f"git: {_n(n, 'commit')} on {cur or 'HEAD'} would be left only in the "
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
            out.append(f"git: {_n(n, 'commit')} on {b} on no other branch, tag or remote"
                       + (" would be lost" if n else ""))
        return out
    if sub == "clean":
        keep = ["-ff" if short.count("f") > 1 else "-f"] + [f"-{c}" for c in "dxX" if c in short]
        keep += [a for a in rest if a in ("-e", "--exclude") or not a.startswith("-")]
        gone = [ln[13:] for ln in g.run("clean", "-n", *keep).splitlines()
                if ln.startswith("Would remove ")]
        return [f"git: clean would delete {_n(len(gone), 'untracked path')}: " +
                _walk_all([os.path.join(cwd, q) for q in gone], budget, [])]
    return []


def _repo_lines(g: _Git, label: str) -> list[str]:
    """Everything a deleted repository would take with it."""
    out = [g.changes([], True, label)]
    if not g.run("remote").split():
        n = g.count("--branches") if g.refs("refs/heads/") else 0
        return out + [f"{label}: no remote holds any of its {_n(n, 'commit')}"] if n else out
    for b in g.refs("refs/heads/")[:8]:
        n = g.count(f"refs/heads/{b}", "--not", "--remotes")
        out += [f"{label}: {_n(n, 'unpushed commit')} on {b}"] if n else []
    return out


def preview(decision: Decision, cwd: str, env: Mapping[str, str], *, max_entries: int = 20000,
            max_seconds: float = 1.0) -> tuple[str, ...]:
    """One short line per finding about what the request would destroy; never raises."""
    try:
        budget, out, repos = Budget(max_entries, max_seconds), list[str](), list[str]()
        for site in sites(decision, cwd, env):
            marks = [t[12:] for t in site.match.targets if t.startswith("production: ")]
            for kind, name in names(site, env):
                if kind in ("path", "device") and site.remote is not None:
                    out.append(f"{name}: not measured (runs on {site.remote})")
                elif kind in ("path", "device"):
                    found = repos if site.name in _DELETES else []
                    out.append((_fs_line if kind == "path" else _device_line)(name, budget, found))
                elif kind not in ("branch", "production"):
                    prod = PROD.search(name) or any(name in m for m in marks)
                    out.append(f"{kind} {name}" + (" (production)" if prod else ""))
                    marks = [m for m in marks if name not in m]
            out += [f"production marker: {m}" for m in marks]
            if site.name == "git" and site.remote is None:
                try:
                    out += _git_lines(site, env, budget)
                except _FAILS as e:
                    out.append(f"git: could not be measured ({e})")
        for repo in repos[:3]:
            try:
                out += _repo_lines(_Git(repo, env, budget), f"git: {repo}")
            except _FAILS as e:
                out.append(f"git: {repo}: could not be measured ({e})")
        return tuple(dict.fromkeys(_shown(ln) for ln in out))[:_MAX_LINES]
    except Exception as e:
        return (f"blast radius could not be measured ({type(e).__name__}: {e})",)
