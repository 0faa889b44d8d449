"""Match invocations against the rules: pure, given the request's Context.

A rule that raises while matching becomes a fail-closed `ask` match, never a skip.
"""

from __future__ import annotations

import re

from .model import Invocation, Match, PartKind, Severity, Verdict, Word
from .rules import Rule, RuleSet, Tool, compiled
from .targets import (PROTECTED_BRANCHES, Context, PathTarget, current_branch, resolve_path)

__all__ = ["Facts", "classify", "match_rule"]

_WRITE_OPS = frozenset({">", ">>", ">|", "&>", "&>>", "<>"})
_DESTRUCTIVE_FLAGS = frozenset({"-r", "-R", "-f", "--force", "--recursive", "--delete",
                                "--hard", "--no-preserve-root", "-D"})
_DANGER_CLASSES = frozenset({"root", "system", "home", "home_config", "device"})
_NO_TOOL = Tool()


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
                key = v.split("=", 1)[0]
                self.flags.add(key)
                if key in tool.value_options and "=" not in v:
                    i += 1
            elif v.startswith("-") and len(v) > 1:
                self.flags.add(v)
                if v in tool.pair_options:
                    i += 2
                elif v in tool.value_options:
                    i += 1
                elif not leading and not v[1].isdigit():
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
            got = [resolve_path(w, self.ctx) for w in self.positionals[skip:]]
            self._paths[skip] = got
        return got

    def redirect_paths(self) -> list[PathTarget]:
        if self._redirects is None:
            self._redirects = [resolve_path(r.target, self.ctx) for r in self.inv.redirects
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


def _paths_re(pats: list[str], ctx: Context) -> re.Pattern[str]:
    """The path globs of one rule, with {home}, {config_dir}, ... filled in, as one regex."""
    key = (id(pats), ctx.home, ctx.dirs_key)
    got = _PATHS_RE.get(key)
    if got is None:
        from fnmatch import translate
        values = dict(ctx.dirs, home=ctx.home)
        got = re.compile("|".join(f"(?:{translate(p.format_map(values))})" for p in pats))
        if len(_PATHS_RE) > 512:
            _PATHS_RE.clear()
        _PATHS_RE[key] = got
    return got


_PATHS_RE: dict[tuple[object, ...], re.Pattern[str]] = {}


_PROD = re.compile(r"(?i)(?:^|[^a-z0-9])(?:prod|production|prd|live)(?:[^a-z0-9]|$)")
_PROD_ENV = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "CLOUDSDK_ACTIVE_CONFIG_NAME",
             "CLOUDSDK_CORE_PROJECT", "GOOGLE_CLOUD_PROJECT", "AZURE_SUBSCRIPTION_ID",
             "KUBE_CONTEXT", "TF_WORKSPACE", "PULUMI_STACK", "ENVIRONMENT", "ENV", "STAGE",
             "DEPLOY_ENV", "RAILS_ENV", "APP_ENV", "MIX_ENV", "DATABASE_URL", "PGDATABASE",
             "PGHOST", "MYSQL_HOST", "REDIS_URL", "MONGODB_URI", "HEROKU_APP")


def _read_marker(path: str, prefix: str = "") -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh.read(1 << 16).splitlines():
                if line.startswith(prefix):
                    return line[len(prefix):].strip().strip("'\"") or None
    except OSError:
        return None
    return None


def production_markers(f: Facts) -> list[str]:
    """Signs that a command acts on production: names, profiles, contexts, workspaces."""
    import os
    found: list[str] = []
    for w in f.inv.argv[1:]:
        v = w.value
        if v is not None and _PROD.search(v):
            found.append(v)
    for a in f.inv.assigns:
        v = a.value.value if a.value is not None else None
        if v is not None and _PROD.search(v):
            found.append(f"{a.name}={v}")
    env = f.ctx.env
    for name in _PROD_ENV:
        v = env.get(name)
        if v and _PROD.search(v):
            found.append(f"{name}={v}")
    if f.name in ("terraform", "tofu", "terragrunt"):
        ws = _read_marker(os.path.join(f.ctx.cwd, ".terraform", "environment"))
        if ws and _PROD.search(ws):
            found.append(f"workspace {ws}")
    if f.name in ("kubectl", "helm", "k9s", "kubectx", "oc"):
        cfg = (env.get("KUBECONFIG") or os.path.join(f.ctx.home, ".kube", "config")).split(":")[0]
        kctx = _read_marker(cfg, "current-context:")
        if kctx and _PROD.search(kctx) and not any(x in f.flags for x in ("--context", "--kube-context")):
            found.append(f"context {kctx}")
    return found


def _sql_texts(f: Facts) -> list[str]:
    texts = [w.value for w in f.inv.argv[1:] if w.value is not None]
    texts += [t.split("=", 1)[1] for t in texts if t.startswith("--") and "=" in t]  # --sql=...
    if f.inv.stdin is not None and f.inv.stdin.literal is not None:
        texts.append(f.inv.stdin.literal)
    return texts


def _env_match(specs: list[str], f: Facts) -> bool:
    """Some variable set for the command matches NAME or NAME=glob."""
    from fnmatch import fnmatchcase
    got = {a.name: (a.value.value if a.value is not None else None) for a in f.inv.assigns}
    for spec in specs:
        name, eq, pat = spec.partition("=")
        if name in got and (not eq or (got[name] is not None and fnmatchcase(got[name] or "", pat))):
            return True
    return False


def _check(cond: dict[str, object], comp: dict[str, object], f: Facts,
           targets: list[str]) -> bool:
    """True when every condition holds; appends what was resolved to targets."""
    skip = 0
    if "command" in cond and f.name not in cond["command"] and "*" not in cond["command"]:  # type: ignore[operator]
        return False
    if "subcommand" in comp:
        got = f.subcommand(comp["subcommand"])  # type: ignore[arg-type]
        if got is None:
            return False
        skip = got
    if "flags" in cond and not any(f.has_flag(x) for x in cond["flags"]):  # type: ignore[union-attr]
        return False
    if "flags_all" in cond and not all(any(f.has_flag(y) for y in x.split("|"))
                                       for x in cond["flags_all"]):  # type: ignore[union-attr]
        return False
    if "no_flags" in cond and any(f.has_flag(x) for x in cond["no_flags"]):  # type: ignore[union-attr]
        return False
    if "remote" in cond and (f.inv.remote is not None) != cond["remote"]:
        return False
    if "env" in cond:
        if not _env_match(cond["env"], f):  # type: ignore[arg-type]
            return False
    if "via" in cond and not any(v.startswith(tuple(cond["via"])) for v in f.inv.via):  # type: ignore[arg-type]
        return False
    if "stdin" in cond and (f.inv.stdin is None or f.inv.stdin.kind not in cond["stdin"]):  # type: ignore[operator]
        return False
    if "min_positionals" in cond and len(f.positionals) - skip < cond["min_positionals"]:  # type: ignore[operator]
        return False
    if "text" in comp and not comp["text"].search(f.text):  # type: ignore[attr-defined]
        return False
    vals = None
    if "args" in comp:
        vals = f.values(skip)
        rx = comp["args"]
        hit = [v for v in vals if v is not None and rx.match(v)]  # type: ignore[attr-defined]
        if not hit:
            return False
        targets.extend(hit)
    if "no_args" in comp:
        vals = f.values(skip) if vals is None else vals
        rx = comp["no_args"]
        if any(v is not None and rx.match(v) for v in vals):  # type: ignore[attr-defined]
            return False
    if "targets" in cond:
        classes = cond["targets"]
        hit_t = [t for t in f.paths(skip) if t.cls in classes]  # type: ignore[operator]
        if not hit_t:
            return False
        targets.extend(f"{t.path or t.text} ({t.cls})" for t in hit_t)
    if "all_targets" in cond:
        ts = f.paths(skip)
        if not ts or any(t.cls not in cond["all_targets"] for t in ts) or any(  # type: ignore[operator]
                w.has_glob for w in f.positionals[skip:]):
            return False  # a glob can name more than the written path
    if "paths" in cond:
        rx = _paths_re(cond["paths"], f.ctx)  # type: ignore[arg-type]
        cands = f.paths(skip) + f.redirect_paths()
        hit_p = [t for t in cands if t.path and rx.match(t.path)]
        if not hit_p:
            return False
        targets.extend(t.path for t in hit_p if t.path)
    if "dest_paths" in cond:
        rx = _paths_re(cond["dest_paths"], f.ctx)  # type: ignore[arg-type]
        ops = f.paths(skip)
        last = ops[-1:] if len(ops) >= 2 else []
        hit_d = [t for t in last if t.path and rx.match(t.path)]
        if not hit_d:
            return False
        targets.extend(t.path for t in hit_d if t.path)
    if "redirect_targets" in cond:
        if not f.inv.redirects:
            return False
        hit_r = [t for t in f.redirect_paths() if t.cls in cond["redirect_targets"]]  # type: ignore[operator]
        if not hit_r:
            return False
        targets.extend(f"{t.path or t.text} ({t.cls})" for t in hit_r)
    if "redirect_paths" in cond:
        if not f.inv.redirects:
            return False
        rx = _paths_re(cond["redirect_paths"], f.ctx)  # type: ignore[arg-type]
        hit_p = [t for t in f.redirect_paths() if t.path and rx.match(t.path)]
        if not hit_p:
            return False
        targets.extend(t.path for t in hit_p if t.path)
    if "recursive" in cond:
        if (f.name is not None and f.inv.context == f"function:{f.name}") != cond["recursive"]:
            return False
        if cond["recursive"]:
            targets.append(f"function {f.name} calls itself")
    if "sql" in cond:
        from .sql import kinds
        want = cond["sql"]
        hit_s = sorted({k for t in _sql_texts(f) for k in kinds(t)} & set(want))  # type: ignore[arg-type]
        if not hit_s:
            return False
        targets.extend(f"SQL {k.replace('_', ' ')}" for k in hit_s)
    if "production" in cond:
        marks = production_markers(f)
        if bool(marks) != cond["production"]:
            return False
        targets.extend(f"production: {m}" for m in marks[:3])
    if "branch" in comp:
        bs = f.branches(skip)
        rx = comp["branch"]
        hit_b = [b for b in bs if rx.match(b)]  # type: ignore[attr-defined]
        if not hit_b:
            return False
        targets.extend(f"branch {b}" for b in hit_b)
    return True


def match_rule(rule: Rule, f: Facts) -> Match | None:
    """The Match of rule on one invocation's facts, or None."""
    if f.help_only:
        return None
    targets: list[str] = []
    if not _check(rule.match, compiled(rule, "match"), f, targets):
        return None
    if rule.unless is not None and _check(rule.unless, compiled(rule, "unless"), f, []):
        return None
    severity = rule.severity
    if rule.raise_if is not None and _check(rule.raise_if, compiled(rule, "raise_if"), f, targets):
        severity = Severity.CRITICAL
    return Match(rule.id, severity, rule.verdict, rule.why, rule.safer,
                 tuple(dict.fromkeys(targets)), _source(f.inv), rule.tamper)


def _source(inv: Invocation) -> str:
    text = " ".join(w.text for w in inv.argv)
    if inv.remote:
        text = f"[on {inv.remote}] {text}"
    return text


def _unknown_command(f: Facts) -> Match | None:
    """A command word the gate cannot know, with destructive-looking arguments."""
    danger = f.flags & _DESTRUCTIVE_FLAGS
    classes = {t.cls for t in f.paths(0)}
    if not danger and not (classes & _DANGER_CLASSES):
        return None
    return Match("gatesh:unknown_command", Severity.HIGH, Verdict.ASK,
                 f"the command name `{f.inv.argv[0].text}` is only known at run time and its "
                 "arguments look destructive", "write the command name literally",
                 (), _source(f.inv))


# Commands whose options can delete or run anything, if input the gate cannot see
# becomes their options (`xargs git` with "reset --hard" on stdin).
_INPUT_OPTIONS = frozenset({"git", "xargs", "parallel", "kubectl", "docker", "rsync", "ssh",
                            "eval"})
_SHELLS = frozenset({"bash", "sh", "zsh", "dash", "ksh", "ash"})


def _find_free_input(inv: Invocation) -> bool:
    """Input that find would read as a start point or an expression (-delete, -exec)."""
    from .wrappers import UNKNOWN_INPUT
    args = inv.argv[1:]
    i = 0
    takes_one = {"-name", "-iname", "-path", "-ipath", "-regex", "-type", "-user", "-group",
                 "-perm", "-size", "-mtime", "-newer", "-fprint", "-fprint0", "-fls",
                 "-printf", "-maxdepth", "-mindepth", "-wholename", "-lname"}
    while i < len(args):
        w = args[i]
        v = w.value
        if w == UNKNOWN_INPUT:
            return True
        if v in ("-exec", "-execdir", "-ok", "-okdir"):
            while i < len(args) and args[i].value not in (";", "+"):
                i += 1
        elif v == "-fprintf":
            i += 2
        elif v in takes_one:
            i += 1
        i += 1
    return False


_GIT_READ = frozenset({"status", "log", "diff", "show", "ls-files", "blame", "grep", "add",
                       "rev-parse", "cat-file", "ls-tree", "check-ignore", "check-attr",
                       "shortlog", "describe", "whatchanged", "annotate"})


def _git_input_safe(inv: Invocation) -> bool:
    """Input only after `--` (pathspecs), or fed to a subcommand that only reads."""
    from .wrappers import UNKNOWN_INPUT
    words = [w.value for w in inv.argv[1:]]
    at = inv.argv[1:].index(UNKNOWN_INPUT)
    if "--" in words[:at]:
        return True
    sub = next((v for v in words[:at] if v is not None and not v.startswith("-")), None)
    return sub in _GIT_READ


def _input_danger(inv: Invocation) -> Match | None:
    """xargs input that becomes the command itself, or the options of a command that can
    delete or run anything with the right ones."""
    from .wrappers import UNKNOWN_INPUT
    if not inv.argv:
        return None
    name = inv.name
    if inv.argv[0] == UNKNOWN_INPUT:
        why = "the command to run comes from the input, which the gate cannot see"
    elif name == "find" and _find_free_input(inv):
        why = "input the gate cannot see becomes find's start points or expressions (-delete, -exec)"
    elif name in _SHELLS and UNKNOWN_INPUT in inv.argv[1:]:
        before = inv.argv[1:inv.argv.index(UNKNOWN_INPUT)]
        if any((w.value or "").startswith("-") and ("c" in (w.value or "") or "n" in (w.value or ""))
               for w in before):
            return None  # after `-c CODE` input only fills $0, $1, ...; -n runs nothing
        why = f"input the gate cannot see becomes the script or options of {name}"
    elif name == "git" and UNKNOWN_INPUT in inv.argv[1:] and _git_input_safe(inv):
        return None
    elif name in _INPUT_OPTIONS and UNKNOWN_INPUT in inv.argv[1:]:
        why = (f"input the gate cannot see becomes arguments of {name}, which can delete or "
               "run anything with the right ones")
    else:
        return None
    return Match("gatesh:opaque_input", Severity.HIGH, Verdict.ASK, why,
                 "run the command on explicit arguments", (), _source(inv))


def classify(invocations: list[Invocation], ruleset: RuleSet, ctx: Context) -> list[Match]:
    """Every match of every rule on every invocation."""
    out: list[Match] = []
    tools = ruleset.tools
    for inv in invocations:
        if "xargs" in inv.via or any(v.startswith("find ") for v in inv.via):
            im = _input_danger(inv)
            if im is not None:
                out.append(im)
        name = inv.name
        if not inv.argv:
            name = ""
        if name is not None:
            own = ruleset.by_command.get(name)
            if inv.redirects:
                wild = ruleset.wildcard
            else:
                wild = ruleset.wildcard_plain
                rx = ruleset.wildcard_args_re
                if rx is not None and not any(w[2] is not None and rx.match(w[2])
                                              for w in inv.argv[1:]):
                    wild = []
            rules = own + wild if own else wild
        else:
            rules = []
        if name is None and inv.argv and any(p.kind is not PartKind.LIT for p in inv.argv[0].parts):
            try:
                um = _unknown_command(Facts(inv, _NO_TOOL, ctx))
            except Exception as e:  # fail closed
                um = Match("gatesh:unknown_command", Severity.HIGH, Verdict.ASK, f"check failed: {e}")
            if um is not None:
                out.append(um)
            rules = ruleset.wildcard
        if not rules:
            continue
        facts = Facts(inv, tools.get(name or "", _NO_TOOL), ctx)
        for rule in rules:
            try:
                m = match_rule(rule, facts)
            except Exception as e:  # a rule that raises must not let the command through
                m = Match(rule.id, Severity.HIGH, Verdict.ASK,
                          f"rule {rule.id} failed while matching ({type(e).__name__}: {e}); "
                          "treated as ask", "", (), _source(inv))
            if m is not None:
                out.append(m)
    return out
