"""What one invocation says: its flags, operands, paths and branches, computed once and
shared by every rule that looks at it."""

from __future__ import annotations

from .model import Invocation, PartKind, Word
from .rules import Tool
from .targets import (BUILD_OUTPUT, Context, PathTarget, current_branch, regenerable_below,
                      resolve_path)

__all__ = ["Facts", "NO_TOOL"]

_WRITE_OPS = frozenset({">", ">>", ">|", "&>", "&>>", "<>"})
NO_TOOL = Tool()
_OFF = frozenset({"false", "0", "no", "off"})
_SIGNALLERS = frozenset({"kill", "pkill", "killall", "skill", "snice"})
# Hyphen lookalikes pasted from web pages: `git reset ‐‐hard` is read as `--hard`, so a
# program that accepts them cannot slip past a rule that looks for the option.
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"
# Classes that only mean something on this machine: another host's /home/x/app is not our
# project, and a relative path there is relative to a home directory we cannot see.
_LOCAL_ONLY = frozenset({"project_root", "top_level_dir", "inside_project", "build_output",
                         "git_dir"})


def _remote(t: PathTarget, w: Word) -> PathTarget:
    """t re-judged for a command that runs on another host (`ssh HOST CMD`)."""
    v = w.value
    if v is None or not (v.startswith("/") or v.startswith("~")):
        parts = [x for x in (v or "").split("/") if x not in ("", ".")]
        if ".." not in parts and regenerable_below(parts):
            return PathTarget(w.text, None, "build_output")  # as ~/app/node_modules here
        return PathTarget(w.text, None, "unknown")
    if t.cls == "build_output" and any(x in BUILD_OUTPUT for x in (t.path or "").split("/")):
        return t  # named so, not made so by our .gitignore
    if t.cls == "temp" or t.cls in _LOCAL_ONLY:
        # another host's /tmp is not this agent's scratch space
        return PathTarget(t.text, t.path, "outside_project")
    return t


class Facts:
    """What one invocation says, computed once and shared by every rule that looks."""

    def __init__(self, inv: Invocation, tool: Tool, ctx: Context) -> None:
        self.inv, self.ctx = inv, ctx
        self.name = inv.name
        self.flags: set[str] = set()
        self.positionals: list[Word] = []
        args = inv.argv[1:]
        if self.name == "git" and args and args[0].value == "--":
            args = args[1:]  # `git -- reset --hard` still runs reset --hard
        i, n = 0, len(args)
        leading = tool.operands == "leading"
        in_operands = True
        optional = tool.optional_values
        while i < n:
            w = args[i]
            v = w.value
            if v and v[0] in _DASHES and not v.isascii():  # an ASCII v has only "-" to keep
                v = "-" * (len(v) - len(v.lstrip(_DASHES))) + v.lstrip(_DASHES)
            if leading and v in ("-exec", "-execdir", "-ok", "-okdir"):
                self.flags.add(v)
                while i < n and args[i].value not in (";", "+"):
                    i += 1  # the command after -exec is judged as its own invocation
                i += 1
                in_operands = False
                continue
            if v is not None and v in optional and i + 1 < n and args[i + 1].value in optional[v]:
                self.flags.add(v)
                i += 2
                continue
            if v is None or w is None:
                self.positionals.append(w)
            elif v == "--":
                self.positionals.extend(args[i + 1:])
                break
            elif v.startswith("--") and len(v) > 2:
                key, eq, val = v.partition("=")
                if eq and val.lower() in _OFF:
                    i += 1
                    continue  # `--dry-run=false` turns the option off
                self.flags.add(key)
                if not key.islower():
                    self.flags.add(key.lower())  # as for command names: --HARD is --hard
                if key in tool.value_options and "=" not in v:
                    i += 1
            elif v.startswith("-") and len(v) > 1:
                self.flags.add(v)
                if v in tool.pair_options:
                    i += 2
                elif v in tool.value_options:
                    i += 1
                elif not leading and not v[1].isdigit() and not (
                        self.name in _SIGNALLERS and v[1:].isupper()):  # `pkill -HUP x`
                    for ch in v[1:]:
                        self.flags.add("-" + ch)
                        if "-" + ch in tool.value_options:
                            if ch == v[-1]:
                                i += 1
                            break
                in_operands = False
            elif v in ("(", "!") and leading:
                in_operands = False
            elif not leading or in_operands:
                self.positionals.append(w)
            i += 1
        # `CMD ... --help` prints help and runs nothing (getopt handles it first); git -h too
        self.help_only = (("--help" in self.flags and "--help" not in tool.value_options) or
                          ("--version" in self.flags and "--version" not in tool.value_options)
                          or (self.name == "git" and "-h" in self.flags))
        self._sub: tuple[str | None, ...] | None = None
        self._paths: dict[int, list[PathTarget]] = {}
        self._redirects: list[PathTarget] | None = None
        self._text: str | None = None

    def has_flag(self, flag: str) -> bool:
        """flag is given; a long option also as an abbreviation (--forc for --force), as
        git and getopt_long accept them."""
        if flag in self.flags:
            return True
        if flag.startswith("--"):
            return any(len(g) >= 4 and g.startswith("--") and flag.startswith(g) and g != "--"
                       for g in self.flags)
        return False

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = " ".join(w.value if w.value is not None else w.text
                                  for w in self.inv.argv)
        return self._text

    def values(self, skip: int) -> list[str | None]:
        return [w.value for w in self.positionals[skip:]]

    def paths(self, skip: int) -> list[PathTarget]:
        got = self._paths.get(skip)
        if got is None:
            got = [self.resolve(w) for w in self.positionals[skip:]]
            self._paths[skip] = got
        return got

    def resolve(self, w: Word) -> PathTarget:
        """w as a path, relative to where the command runs (after a `cd` in the command)."""
        if self.inv.remote is not None:
            return _remote(resolve_path(w, self.ctx, "/"), w)
        cwd = self.inv.cwd
        if cwd == "?":
            v = w.value
            if v is None or not (v.startswith("/") or v.startswith("~") or w.parts and
                                 w.parts[0].kind is PartKind.VAR):
                return PathTarget(w.text, None, "unknown")  # relative to an unknown directory
            cwd = None
        return resolve_path(w, self.ctx, cwd)

    def redirect_paths(self) -> list[PathTarget]:
        if self._redirects is None:
            self._redirects = [self.resolve(r.target) for r in self.inv.redirects
                               if r.op in _WRITE_OPS and r.target is not None
                               and r.target.value not in ("/dev/null", "/dev/stdout",
                                                           "/dev/stderr", "/dev/tty")
                               and not (r.target.value or "").startswith("/dev/fd/")]
        return self._redirects

    def subcommand(self, seqs: list[tuple[str, ...]]) -> int | None:
        """Length of the first matching subcommand sequence, or None."""
        vals = self._sub
        if vals is None:
            vals = self._sub = tuple(v.lower() if v is not None else None
                                     for v in self.values(0)[:4])
        for seq in seqs:
            if vals[:len(seq)] == seq:
                return len(seq)
        return None

    def branches(self, skip: int) -> list[str]:
        """Branches a `git push` would write: refspec destinations, or the current branch."""
        vals = [v for v in self.values(skip)]
        if "--all" in self.flags or "--mirror" in self.flags:
            return ["*all branches*"]
        refs = [v for v in vals[1:] if v is not None]
        if not refs:
            b = current_branch(self.ctx)
            return [b] if b else ["*current branch*"]
        out = []
        for r in refs:
            r = r.lstrip("+")
            dst = r.split(":", 1)[1] if ":" in r else r
            out.append(dst.removeprefix("refs/heads/") or "*deleted*")
        return out
