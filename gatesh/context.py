"""The request's context that rules resolve paths against: cwd, home, project, .gitignore.

Facts about the filesystem (the project's git root, its .gitignore) are computed lazily and
reused across the requests of one batch for a couple of seconds.
"""

from __future__ import annotations

import os
from time import monotonic as _monotonic

__all__ = ["Context", "TEMP_DIRS"]

TEMP_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/private/tmp")


class Context:
    """Facts about the request that rules resolve against; computed lazily and cached."""

    def __init__(self, cwd: str, home: str, env: dict[str, str],
                 dirs: dict[str, str] | None = None) -> None:
        self.cwd = _norm(cwd) if cwd else "/"
        self.home = _norm(home) if home else "/root"
        self.env = env
        self.dirs = dirs or {}
        tmp = env.get("TMPDIR")
        self.temp_dirs = TEMP_DIRS + ((_norm(tmp),) if tmp and tmp != "/" else ())
        self._project: str | None | bool = False
        self._ignored: list[str] | None = None
        self._dirs_key: tuple[tuple[str, str], ...] | None = None

    @property
    def dirs_key(self) -> tuple[tuple[str, str], ...]:
        """dirs as a key (for compiled path patterns); only rules with paths need it."""
        if self._dirs_key is None:
            self._dirs_key = tuple(sorted(self.dirs.items()))
        return self._dirs_key

    @property
    def project_root(self) -> str:
        """The git work tree holding cwd, or cwd itself outside a repository."""
        if self._project is False:
            self._project = _cached(("root", self.cwd), lambda: _find_git_root(self.cwd, self.home))
        return self._project or self.cwd  # type: ignore[return-value]

    def ignored(self, rel: str) -> bool:
        """True when the project's .gitignore matches rel (a path relative to the root)."""
        if self._ignored is None:
            root = self.project_root
            self._ignored = _cached(("ignore", root), lambda: _read_gitignore(root))
        if not self._ignored:
            return False
        from fnmatch import fnmatchcase
        parts = rel.split("/")
        for pat in self._ignored:
            anchored = "/" in pat.rstrip("/")
            p = pat.strip("/")
            if anchored:
                for k in range(1, len(parts) + 1):
                    if fnmatchcase("/".join(parts[:k]), p):
                        return True
            elif any(fnmatchcase(part, p) for part in parts):
                return True
        return False


def _norm(path: str) -> str:
    """os.path.normpath, remembered: a batch reviews many commands in the same few dirs."""
    got = _NORMED.get(path)
    if got is None:
        if len(_NORMED) > 256:
            _NORMED.clear()
        got = _NORMED[path] = os.path.normpath(path)
    return got


_NORMED: dict[str, str] = {}

_CACHE: dict[tuple[str, str], tuple[float, object]] = {}
_CACHE_SECONDS = 2.0


def _cached(key: tuple[str, str], compute: object) -> object:
    """Filesystem facts reused across the requests of one batch, for a couple of seconds."""
    now = _monotonic()
    hit = _CACHE.get(key)
    if hit is not None and now - hit[0] < _CACHE_SECONDS:
        return hit[1]
    value = compute()  # type: ignore[operator]
    if len(_CACHE) > 256:
        _CACHE.clear()
    _CACHE[key] = (now, value)
    return value


def _find_git_root(cwd: str, home: str) -> str | None:
    d = cwd
    while True:
        if os.path.exists(os.path.join(d, ".git")):
            return d if d != "/" else None
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def _read_gitignore(root: str) -> list[str]:
    try:
        with open(os.path.join(root, ".gitignore"), encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    return [ln.strip() for ln in lines
            if ln.strip() and not ln.startswith(("#", "!")) and ln.strip() not in ("*", "/")]
