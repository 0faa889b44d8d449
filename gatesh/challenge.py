"""What a request would destroy, by name, and the token a human types to approve it.

approval.md 7: severity `critical` is approved by typing a token taken from the irreversible
target (the rm target's basename, the force-pushed branch, the device, the database, bucket,
namespace or stack); a random word only when no target can be named.  The names come from
the rules' resolved targets and from the matched invocation, re-derived from the request
text (`sites`), which blast.py shares.  Only the approver imports this module.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
from collections.abc import Mapping

from .model import Decision, Match, Severity
from .record import Record

__all__ = ["Site", "sites", "target_paths", "names", "token_for", "WORDS"]

WORDS = ("amber", "basil", "cedar", "delta", "ember", "fjord", "grove", "harbor", "indigo",
         "juniper", "kestrel", "lantern", "meadow", "nectar", "orchid", "pebble", "quartz",
         "raven", "saffron", "thistle", "umber", "velvet", "willow", "zephyr")
_MAX = 24
_PARSE = threading.Lock()  # the tree-sitter parser is shared; preview, token_for may overlap
_NO = frozenset({"y", "yes", "n", "no", "q"})  # answer keys must never be the token
_NS = ("ns", "namespace", "namespaces", "project", "projects")
_URL = re.compile(r"^(?:s3|gs|az|r2|abfss?|wasbs?)://([^/]+)")
_SQL = re.compile(r"(?is)\b(?:(DROP)\s+(?:DATABASE|SCHEMA|KEYSPACE)|"
                  r"DROP\s+(?:TABLE|VIEW|COLLECTION)|TRUNCATE(?:\s+TABLE)?|DELETE\s+FROM|UPDATE)"
                  r"\s+(?:IF\s+EXISTS\s+)?[`\"\[]?([A-Za-z0-9_.$-]+)")
_KUBE_VALUE = ("-n", "--namespace", "-l", "--selector", "-f", "--filename", "--context", "-o",
               "--output", "--cluster", "--kubeconfig", "--field-selector", "--grace-period",
               "--timeout", "--cascade", "--user", "-k", "--kustomize")
_PG_VALUE = ("-h", "-p", "-U", "--host", "--port", "--username", "--maintenance-db")


class Site(Record):
    """One match and its invocation: argv values (None: known only at run time), the
    directory it runs in (None: unknown), the host when remote, and literal stdin."""

    __slots__ = ()
    _fields = ("match", "argv", "cwd", "remote", "stdin")
    match: Match
    argv: tuple[str | None, ...]
    cwd: str | None
    remote: str | None
    stdin: str | None

    def __new__(cls, match: Match, argv: tuple[str | None, ...], cwd: str | None,
                remote: str | None = None, stdin: str | None = None) -> Site:
        return tuple.__new__(cls, (match, argv, cwd, remote, stdin))

    @property
    def name(self) -> str:
        v = self.argv[0] if self.argv else None
        return (v or "").rsplit("/", 1)[-1].lower()

    def args(self) -> list[str]:
        """The known arguments after the command name."""
        return [a for a in self.argv[1:] if a is not None]

    def positionals(self) -> list[str]:
        return [a for a in self.args() if not a.startswith("-")]


def _invocations(command: str, cwd: str, env: Mapping[str, str]) -> dict[str, object]:
    """The request's invocations keyed by their source text, as the gate built them."""
    try:
        from .checks import source
        from .parse import parse
        from .unwrap import unwrap
        vars = dict(env)
        vars.setdefault("HOME", os.path.expanduser("~"))
        vars["PWD"] = cwd
        out: dict[str, object] = {}
        with _PARSE:
            found = unwrap(parse(command), vars, cwd, source=command)
        for inv in found.invocations:
            out.setdefault(source(inv), inv)
        return out
    except Exception:
        return {}


def sites(decision: Decision, cwd: str, env: Mapping[str, str]) -> tuple[Site, ...]:
    """Every match of the decision with what its invocation says; never raises."""
    invs = _invocations(decision.command, cwd, env)
    out = []
    for m in decision.matches:
        text, remote = m.command, None
        if text.startswith("[on ") and "] " in text:
            remote, text = text[4:text.index("] ")], text[text.index("] ") + 2:]
        inv = invs.get(m.command) or _invocations(text, cwd, env).get(text)
        if inv is None:
            import shlex
            try:
                words: list[str | None] = list(shlex.split(text))
            except ValueError:
                words = list(text.split())
            out.append(Site(m, tuple(words), None if remote else cwd, remote, None))
            continue
        argv = tuple(w.value for w in inv.argv)  # type: ignore[attr-defined]
        remote = remote or inv.remote  # type: ignore[attr-defined]
        run = inv.cwd  # type: ignore[attr-defined]
        where = None if remote or run == "?" else (run or cwd)
        feed = inv.stdin  # type: ignore[attr-defined]
        out.append(Site(m, argv, where, remote, feed.literal if feed is not None else None))
    return tuple(out)


def target_paths(m: Match) -> list[tuple[str, str]]:
    """(absolute path, class) for each path the rule resolved; class "" when not given."""
    out = []
    for t in m.targets:
        t = t.removeprefix("of=")
        if not t.startswith("/"):
            continue
        path, cls = t, ""
        if t.endswith(")") and " (" in t:
            path, _, cls = t[:-1].rpartition(" (")
        out.append((path, cls))
    return out


def _after(args: list[str], *flags: str) -> str | None:
    """The value of the first of flags (`-s X`, `--stack=X`), or None."""
    for i, a in enumerate(args):
        for f in flags:
            if a == f and i + 1 < len(args):
                return args[i + 1]
            if f.startswith("--") and a.startswith(f + "="):
                return a[len(f) + 1:]
    return None


def _workspace(site: Site, env: Mapping[str, str]) -> str | None:
    ws = env.get("TF_WORKSPACE")
    if ws or site.cwd is None:
        return ws or None
    d = os.path.join(site.cwd, _after(site.args(), "-chdir") or "")
    try:
        with open(os.path.join(d, ".terraform", "environment"), encoding="utf-8") as f:
            ws = f.read(256).strip()
    except (OSError, UnicodeDecodeError):
        return None
    return ws if ws and ws != "default" else None


def _kube(site: Site) -> list[tuple[str, str]]:
    args, out = site.args(), list[tuple[str, str]]()
    pos = [a for i, a in enumerate(args) if not a.startswith("-")
           and not (i and args[i - 1] in _KUBE_VALUE)]
    if "delete" in pos:
        rest = pos[pos.index("delete") + 1:]
        if rest:
            kind, _, name = rest[0].partition("/")
            kind = "namespace" if kind in _NS else kind.split(",")[0]
            out.extend((kind, n) for n in ([name] if name else rest[1:]) if n)
    ns = _after(args, "-n", "--namespace")
    if ns:
        out.append(("namespace", ns))
    return out


def names(site: Site, env: Mapping[str, str]) -> list[tuple[str, str]]:
    """(kind, name) of what the matched command acts on, most specific first.

    Kinds: path, device, branch, database, table, bucket, namespace (and other Kubernetes
    kinds), release, workspace, stack, production.
    """
    m, name, args = site.match, site.name, site.args()
    out: list[tuple[str, str]] = []
    if name == "git":
        pos = site.positionals()
        got = [t[7:] for t in m.targets if t.startswith("branch ")]
        if not got and "push" in pos[:3]:
            refs = pos[pos.index("push") + 2:]
            got = [r.lstrip("+").rpartition(":")[2] for r in refs] or ["*current branch*"]
        if "branch" in pos[:3]:
            got += pos[pos.index("branch") + 1:]
        out += [("branch", b.removeprefix("refs/heads/")) for b in got if b]
    out += [("bucket", u.group(1)) for u in map(_URL.match, args) if u]
    bucket = _after(args, "--bucket")
    if bucket:
        out.append(("bucket", bucket))
    sql = m.rule_id.startswith("databases:") or any(t.startswith("SQL ") for t in m.targets)
    for text in (args + ([site.stdin] if site.stdin else [])) if sql else []:
        for hit in _SQL.finditer(text):
            out.append(("database" if hit.group(1) else "table", hit.group(2).strip("`\"[]")))
    out.sort(key=lambda kn: kn[0] != "database")
    if name in ("dropdb", "dropuser", "mysqladmin"):
        vals = [a for i, a in enumerate(args) if not a.startswith("-")
                and not (i and args[i - 1] in _PG_VALUE)]
        if name == "mysqladmin":
            vals = vals[vals.index("drop") + 1:] if "drop" in vals else []
        out += [("database" if name != "dropuser" else "user", v) for v in vals[-1:]]
    if name in ("kubectl", "oc"):
        out += _kube(site)
    if name == "helm" and site.positionals()[:1] in (["uninstall"], ["delete"], ["del"]):
        out += [("release", r) for r in site.positionals()[1:2]]
    if name in ("terraform", "tofu", "terragrunt"):
        ws = _workspace(site, env)
        out += [("workspace", ws)] if ws else []
    if name == "pulumi":
        st = _after(args, "-s", "--stack") or env.get("PULUMI_STACK")
        out += [("stack", st.rsplit("/", 1)[-1])] if st else []
    paths = target_paths(m)
    out += [("device" if p.startswith("/dev/") else "path", p) for p, _ in paths]
    if not paths:
        devs = [a.removeprefix("of=") for a in args]
        out += [("device", d) for d in devs if d.startswith("/dev/") and d != "/dev/null"]
    for t in m.targets:
        if t.startswith("production: "):
            v = t[12:].split(" ", 1)[-1]
            if "=" not in v and not v.startswith("-"):
                out.append(("production", v))
    return list(dict.fromkeys(out))


def _token(kind: str, name: str, site: Site, env: Mapping[str, str]) -> str | None:
    if kind == "branch" and (name.startswith("*") or name == "HEAD"):
        if name not in ("*current branch*", "HEAD") or site.cwd is None:
            return None
        from .targets import Context, current_branch
        home = env.get("HOME") or os.path.expanduser("~")
        name = current_branch(Context(site.cwd, home, dict(env))) or ""
    elif kind in ("path", "device"):
        parts = [p for p in name.split("/") if p and p != "?"]
        k = len(parts)
        while k and any(c in parts[k - 1] for c in "*?["):
            k -= 1  # `/srv/*`: the last component that is not a pattern
        if not all(" " <= c <= "~" for c in "".join(parts[k - 1:])):
            return None
        name = parts[k - 1] if k else ""
    elif kind == "production":
        got = _URL.match(name)
        name = got.group(1) if got else name
    name = name.strip()
    if not name or not all(" " <= c <= "~" for c in name):
        return None
    name = name[:_MAX].strip()
    return name if len(name) >= 2 and name.lower() not in _NO else None


def token_for(decision: Decision, cwd: str, env: Mapping[str, str]) -> str:
    """The token that approves a critical request: from its target, else a random word."""
    try:
        ranked = sorted(sites(decision, cwd, env),
                        key=lambda s: s.match.severity is not Severity.CRITICAL)
        for site in ranked:
            for kind, name in names(site, env):
                tok = _token(kind, name, site, env)
                if tok is not None:
                    return tok
    except Exception:
        pass
    return secrets.choice(WORDS)
