"""What a command's arguments point at: paths made absolute and put in classes, git branches.

Classes: root, system, device, home, home_config, outside_project, project_root,
inside_project, build_output, temp, unknown.  A glob that covers a whole directory
(`~/*`, `/srv/*`) counts as that directory.
"""

from __future__ import annotations

import os

from .context import TEMP_DIRS, Context
from .model import PartKind, Word

__all__ = ["Context", "PathTarget", "resolve_path", "path_class", "current_branch",
           "BUILD_OUTPUT"]

SYSTEM_DIRS = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/opt",
               "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/usr", "/var", "/mnt",
               "/media", "/snap", "/home", "/nix", "/System", "/Library", "/Applications",
               "/Users", "/private", "/Volumes", "/data", "/backup", "/backups")
BUILD_OUTPUT = frozenset({
    "node_modules", "dist", "build", "target", ".venv", "venv", "__pycache__", ".pytest_cache",
    ".mypy_cache", ".ruff_cache", ".tox", ".nox", ".cache", ".next", ".nuxt", ".turbo",
    ".parcel-cache", ".svelte-kit", "coverage", ".coverage", "htmlcov", "out", ".gradle",
    ".eggs", "bower_components", ".angular", "obj", "bin", ".dart_tool", ".terraform",
    "cmake-build-debug", "cmake-build-release", ".idea", "tmp", "temp", "logs", ".sass-cache",
    "site-packages", "vendor",
})


class PathTarget:
    __slots__ = ("text", "path", "cls")

    def __init__(self, text: str, path: str | None, cls: str) -> None:
        self.text, self.path, self.cls = text, path, cls

    def __repr__(self) -> str:
        return f"{self.path or self.text} ({self.cls})"


def _under(p: str, d: str) -> bool:
    return p == d or p.startswith(d.rstrip("/") + "/")


def regenerable_below(parts: list[str]) -> bool:
    """A path's components below a directory of the home (`app/node_modules`) name build
    output: regenerable wherever that directory is."""
    return len(parts) > 1 and any(x in BUILD_OUTPUT for x in parts[1:])


def path_class(p: str, ctx: Context) -> str:
    """The class of an absolute, normalised path."""
    if p == "/":
        return "root"
    if _under(p, "/dev"):
        return "device"
    home = ctx.home
    if p == home:
        return "home"
    root = ctx.project_root
    if root != "/" and root != home and _under(p, root):
        if p == root:
            return "project_root"
        rel = p[len(root) + 1:]
        parts = rel.split("/")
        if any(part in BUILD_OUTPUT or part.endswith(".egg-info") for part in parts):
            return "build_output"
        if parts[0] == ".git":
            return "git_dir"
        if ctx.ignored(rel):
            return "build_output"
        return "top_level_dir" if len(parts) == 1 and not parts[0].startswith(".") and \
            os.path.isdir(p) else "inside_project"
    if _under(p, home) and home != "/":
        parts = p[len(home) + 1:].split("/")
        if parts[0].startswith("."):
            return "home_config"
        if regenerable_below(parts):
            return "build_output"  # ~/other-app/node_modules is just as regenerable
        return "outside_project"
    # home and project first: they may themselves live under /tmp (tests, CI, containers)
    if any(p == t for t in TEMP_DIRS):
        return "system"
    if any(_under(p, t) for t in ctx.temp_dirs):
        return "temp"
    if any(_under(p, d) for d in SYSTEM_DIRS):
        return "system"
    if p.count("/") == 1:
        return "system"  # any other top-level directory
    return "outside_project"


def _expand(word: Word, ctx: Context) -> str | None:
    out = []
    for i, part in enumerate(word.parts):
        if part.kind is PartKind.LIT or part.kind is PartKind.GLOB:
            out.append(part.text)
        elif part.kind is PartKind.TILDE and i == 0:
            if part.text == "~":
                out.append(ctx.home)
            else:
                out.append("/home/" + part.text[1:])
        elif part.kind is PartKind.VAR:
            val = _var(part.text, ctx)
            if val is None:
                return None
            out.append(val)
        elif part.kind is PartKind.OTHER and part.text.startswith("${") and (
                ":-" in part.text or "-" in part.text) and part.program is None:
            val = _default_expansion(part.text, ctx)
            if val is None:
                return None
            out.append(val)
        elif part.kind is PartKind.CMDSUB and part.program is not None:
            val = _known_output(part.program, ctx)
            if val is None:
                return None
            out.append(val)
        else:
            return None
    return "".join(out)


def _var(name: str, ctx: Context) -> str | None:
    """A variable's value at run time: the request's home and cwd, else its environment."""
    return ctx.home if name == "HOME" else ctx.cwd if name == "PWD" else ctx.env.get(name)


def _default_expansion(text: str, ctx: Context) -> str | None:
    """${NAME:-word} / ${NAME-word} with a literal word: the value bash will use."""
    inner = text[2:-1] if text.endswith("}") else ""
    colon = ":-" in inner
    name, _, word = inner.partition(":-" if colon else "-")
    if not name.isidentifier() or any(c in word for c in "$`\\'\"{}*?["):
        return None
    val = _var(name, ctx)
    if val is None or (colon and val == ""):
        return word
    return val


def _known_output(prog: object, ctx: Context) -> str | None:
    """The output of $(pwd) and $(git rev-parse --show-toplevel), which the gate knows."""
    pls = getattr(prog, "pipelines", ())
    if len(pls) != 1 or len(pls[0].elements) != 1:
        return None
    argv = getattr(pls[0].elements[0], "argv", None)
    if not argv:
        return None
    vals = [w.value for w in argv]
    if vals in (["pwd"], ["pwd", "-P"], ["pwd", "-L"]):
        return ctx.cwd
    if vals == ["git", "rev-parse", "--show-toplevel"] and ctx.project_root != ctx.cwd or (
            vals == ["git", "rev-parse", "--show-toplevel"] and os.path.isdir(
                os.path.join(ctx.cwd, ".git"))):
        return ctx.project_root
    return None


def resolve_path(word: Word, ctx: Context, base: str | None = None) -> PathTarget:
    """word as an absolute path, with its class; unknown when it holds a run-time expansion."""
    raw = _expand(word, ctx)
    if raw is None:
        return _partly_known(word, ctx, base)
    if raw == "":
        return PathTarget(word.text, None, "unknown")
    p = os.path.normpath(os.path.join(base or ctx.cwd, raw))
    if p.startswith("//"):
        p = "/" + p.lstrip("/")
    if word.has_glob:
        head, _, last = p.rpartition("/")
        head = head or "/"
        if any(ch in head for ch in "*?["):
            # a glob in a middle component: judge by the directory above the first glob
            cut = min(i for i in (head.find("*"), head.find("?"), head.find("[")) if i >= 0)
            head = os.path.dirname(head[:cut]) or "/"
            return PathTarget(word.text, head + "/*", _glob_class(head, ctx))
        if last and all(ch in "*?.[]" for ch in last) or last in ("*", ".*", "*.*"):
            return PathTarget(word.text, p, _glob_class(head, ctx))
        return PathTarget(word.text, p, path_class(os.path.join(head, "x"), ctx))
    cls = path_class(p, ctx)
    if cls in ("temp", "build_output", "inside_project") and ".." in raw.split("/"):
        if not raw.startswith("/"):
            root = ctx.project_root
            if not _under(p, root) and _under(ctx.cwd, root):
                cls = "outside_project"  # `rm -rf ../x` climbs out of the project
        elif cls == "temp" and not _under(p, os.path.normpath(raw.split("/..", 1)[0] or "/")):
            cls = "outside_project"  # `$TMPDIR/../etc`: it climbs out of the temp dir it names
    return PathTarget(word.text, p, cls)


_RISK = ("root", "system", "device", "home", "home_config", "outside_project", "project_root",
         "git_dir", "unknown", "inside_project", "build_output", "temp")


def _partly_known(word: Word, ctx: Context, base: str | None) -> PathTarget:
    """A path with a run-time part: judged by the literal directory before it, if any.

    The run-time part may be empty (`rm -rf "$DIR/"`), so the directory itself counts too.
    """
    from .record import replace as _replace
    known = []
    for part in word.parts:
        if part.kind in (PartKind.CMDSUB, PartKind.PROCSUB, PartKind.OTHER) or (
                part.kind is PartKind.VAR and _expand(Word(part.text, (part,)), ctx) is None):
            break
        known.append(part)
    prefix = _expand(_replace(word, parts=tuple(known)), ctx) if known else None
    if not prefix or "/" not in prefix:
        return PathTarget(word.text, None, "unknown")
    d = prefix[:prefix.rfind("/") + 1] or "/"
    p = os.path.normpath(os.path.join(base or ctx.cwd, d))
    b = path_class(os.path.join(p, "x"), ctx)
    if not prefix.endswith("/"):
        return PathTarget(word.text, p + "/?", b)  # `build-$N`: never the directory itself
    a = path_class(p, ctx)
    cls = a if _RISK.index(a) < _RISK.index(b) else b
    return PathTarget(word.text, p + "/?", cls)


def _glob_class(d: str, ctx: Context) -> str:
    """Everything inside directory d."""
    cls = path_class(d, ctx)
    if cls in ("root", "home", "project_root"):
        return cls
    if cls == "system" and d.count("/") <= 1:
        return "system"
    return path_class(d.rstrip("/") + "/x", ctx)


def current_branch(ctx: Context) -> str | None:
    """The branch checked out in the project, read from .git/HEAD."""
    gitdir = os.path.join(ctx.project_root, ".git")
    try:
        if os.path.isfile(gitdir):
            with open(gitdir, encoding="utf-8") as f:
                line = f.read().strip()
            if line.startswith("gitdir:"):
                gitdir = os.path.join(ctx.project_root, line[7:].strip())
        with open(os.path.join(gitdir, "HEAD"), encoding="utf-8") as f:
            head = f.read().strip()
    except OSError:
        return None
    if head.startswith("ref: refs/heads/"):
        return head[16:]
    return None
