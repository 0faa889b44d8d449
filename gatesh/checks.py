"""Checks built into the gate, beside the rule packs: production markers, SQL text,
command names only known at run time, and input that becomes commands or options."""

from __future__ import annotations

import re

from .facts import Facts
from .model import Invocation, Match, Severity, Verdict

__all__ = ["production_markers", "sql_texts", "unknown_command", "input_danger", "source", "PROD"]

_DESTRUCTIVE_FLAGS = frozenset({"-r", "-R", "-f", "--force", "--recursive", "--delete",
                                "--hard", "--no-preserve-root", "-D"})
_DANGER_CLASSES = frozenset({"root", "system", "home", "home_config", "device"})


PROD = re.compile(r"(?i)(?:^|[^a-z0-9])(?:prod|production|prd|live)(?:[^a-z0-9]|$)")
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
        if v is not None and PROD.search(v):
            found.append(v)
    for a in f.inv.assigns:
        v = a.value.value if a.value is not None else None
        if v is not None and PROD.search(v):
            found.append(f"{a.name}={v}")
    env = f.ctx.env
    for name in _PROD_ENV:
        v = env.get(name)
        if v and PROD.search(v):
            found.append(f"{name}={v}")
    if f.name in ("terraform", "tofu", "terragrunt"):
        ws = _read_marker(os.path.join(f.ctx.cwd, ".terraform", "environment"))
        if ws and PROD.search(ws):
            found.append(f"workspace {ws}")
    if f.name in ("kubectl", "helm", "k9s", "kubectx", "oc"):
        cfg = (env.get("KUBECONFIG") or os.path.join(f.ctx.home, ".kube", "config")).split(":")[0]
        kctx = _read_marker(cfg, "current-context:")
        if kctx and PROD.search(kctx) and not any(x in f.flags for x in ("--context", "--kube-context")):
            found.append(f"context {kctx}")
    return found


def sql_texts(f: Facts) -> list[str]:
    texts = [w.value for w in f.inv.argv[1:] if w.value is not None]
    texts += [t.split("=", 1)[1] for t in texts if t.startswith("--") and "=" in t]  # --sql=...
    if f.inv.stdin is not None and f.inv.stdin.literal is not None:
        texts.append(f.inv.stdin.literal)
    return texts


def source(inv: Invocation) -> str:
    text = " ".join(w.text for w in inv.argv)
    if inv.remote:
        text = f"[on {inv.remote}] {text}"
    return text


def unknown_command(f: Facts) -> Match | None:
    """A command word the gate cannot know, with destructive-looking arguments."""
    danger = f.flags & _DESTRUCTIVE_FLAGS
    classes = {t.cls for t in f.paths(0)}
    if not danger and not (classes & _DANGER_CLASSES):
        return None
    return Match("gatesh:unknown_command", Severity.HIGH, Verdict.ASK,
                 f"the command name `{f.inv.argv[0].text}` is only known at run time and its "
                 "arguments look destructive", "write the command name literally",
                 (), source(f.inv))


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


def input_danger(inv: Invocation) -> Match | None:
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
                 "run the command on explicit arguments", (), source(inv))
