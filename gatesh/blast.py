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

from .challenge import names, sites
from .checks import PROD
from .model import Decision

__all__ = ["preview", "walk", "walk_all", "human_size", "plural", "Budget", "FAILS"]

_VIRTUAL = ("/proc", "/sys", "/dev")
GIT_TIMEOUT, _GIT_TOTAL, _MAX_LINES = 3.0, 8.0, 16
_DELETES = frozenset({"rm", "unlink", "rmdir", "shred", "wipe", "srm", "find", "remove-item",
                      "ri", "del", "rd", "rsync", "rclone"})  # repos inside their targets go
FAILS = (RuntimeError, OSError, ValueError, subprocess.SubprocessError)


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


def plural(n: int | str, word: str, plural: str = "") -> str:
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
    return (f"at least {plural(files, 'file')}, {human_size(size)} ({short})" if short
            else f"{plural(files, 'file')}, {human_size(size)}")


def walk_all(paths: list[str], budget: Budget, repos: list[str]) -> str:
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
        return f"{p}: {more}{plural(len(found[:limit]), 'match', 'matches')}, " + \
            walk_all(found[:limit], budget, repos)
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


def preview(decision: Decision, cwd: str, env: Mapping[str, str], *, max_entries: int = 20000,
            max_seconds: float = 1.0) -> tuple[str, ...]:
    """One short line per finding about what the request would destroy; never raises."""
    from .blastgit import Git, git_lines, repo_lines  # after this module is complete
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
                    out += git_lines(site, env, budget)
                except FAILS as e:
                    out.append(f"git: could not be measured ({e})")
        for repo in repos[:3]:
            try:
                out += repo_lines(Git(repo, {}, budget), f"git: {repo}")  # not $GIT_DIR
            except FAILS as e:
                out.append(f"git: {repo}: could not be measured ({e})")
        return tuple(dict.fromkeys(_shown(ln) for ln in out))[:_MAX_LINES]
    except Exception as e:
        return (f"blast radius could not be measured ({type(e).__name__}: {e})",)
