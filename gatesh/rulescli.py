"""`gatectl rules list` and `gatectl rules test`: what is loaded, and whether examples hold."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from .record import replace

from .config import Config
from .rules import Rule, Tool, extended, load_file, load_ruleset

__all__ = ["list_rules", "test_rules", "example_config", "run_examples"]


@contextmanager
def example_config(cfg: Config) -> Iterator[tuple[Config, str, dict[str, str]]]:
    """A throwaway home with a git project on branch main, for running rule examples."""
    root = tempfile.mkdtemp(prefix="gatesh-examples-")
    home = os.path.join(root, "home")
    project = os.path.join(home, "project")
    for d in ("src", "dist", "build", "node_modules/x", ".git/refs/heads", ".pytest_cache"):
        os.makedirs(os.path.join(project, d), exist_ok=True)
    with open(os.path.join(project, ".git", "HEAD"), "w") as f:
        f.write("ref: refs/heads/main\n")
    with open(os.path.join(project, ".gitignore"), "w") as f:
        f.write("node_modules/\ndist/\nbuild/\n*.log\n")
    env = {"HOME": home, "USER": "user", "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "XDG_CONFIG_HOME": os.path.join(home, ".config"),
           "XDG_STATE_HOME": os.path.join(home, ".local", "state"),
           "XDG_RUNTIME_DIR": os.path.join(root, "run")}
    ecfg = replace(cfg, mode="enforce", home=home,
                   config_dir=os.path.join(home, ".config", "gatesh"),
                   state_dir=os.path.join(home, ".local", "state", "gatesh"),
                   runtime_dir=os.path.join(root, "run", "gatesh"),
                   user_rules_dir=os.path.join(home, ".config", "gatesh", "rules"),
                   audit_path=os.path.join(root, "audit.jsonl"))
    try:
        yield ecfg, project, env
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run_examples(rules: list[Rule], cfg: Config, tools: dict[str, Tool] | None = None) -> list[str]:
    """One line per failing example; empty when every example holds."""
    from .gate import Request, review
    failures = []
    with example_config(cfg) as (ecfg, project, env):
        rs = extended(load_ruleset(None, None), rules, tools or {})
        for rule in rules:
            for cmd, want in [(c, True) for c in rule.examples_match] + \
                             [(c, False) for c in rule.examples_ignore]:
                d = review(Request(cmd, project, "check", env), ecfg, rs)
                got = rule.id in {m.rule_id for m in d.matches}
                if got != want:
                    kind = "should match" if want else "should not match"
                    failures.append(f"{rule.source}: {rule.id} {kind}: {cmd}"
                                    f"  (got {[m.rule_id for m in d.matches]})")
    return failures


def list_rules(cfg: Config, as_json: bool) -> int:
    import json
    import sys
    rs = load_ruleset(cfg.user_rules_dir, os.getcwd(), cfg.disabled_rules)
    if as_json:
        for r in rs.rules:
            sys.stdout.write(json.dumps({"id": r.id, "severity": r.severity.value,
                                         "verdict": r.verdict.value, "why": r.why,
                                         "safer": r.safer, "origin": r.origin,
                                         "source": r.source}) + "\n")
        return 0
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table
    t = Table(title=f"{len(rs.rules)} rules", box=None, header_style="bold")
    for col in ("id", "severity", "verdict", "origin", "why"):
        t.add_column(col)
    for r in rs.rules:
        t.add_row(escape(r.id), r.severity.value, r.verdict.value, r.origin, escape(r.why))
    con = Console(highlight=False)
    con.print(t)
    for p in rs.problems:
        con.print(f"[yellow]ignored:[/] {escape(p)}")
    return 0


def test_rules(cfg: Config, files: list[str]) -> int:
    import sys
    tools: dict[str, Tool] = {}
    if files:
        rules: list[Rule] = []
        for f in files:
            file_rules, file_tools = load_file(f, "user")
            rules.extend(file_rules)
            tools.update(file_tools)
    else:
        rs = load_ruleset(cfg.user_rules_dir, os.getcwd(), cfg.disabled_rules)
        rules, tools = rs.rules, rs.tools
    failures = run_examples(rules, cfg, tools)
    total = sum(len(r.examples_match) + len(r.examples_ignore) for r in rules)
    for line in failures:
        sys.stdout.write(f"FAIL {line}\n")
    sys.stdout.write(f"{total - len(failures)} passed, {len(failures)} failed\n")
    return 1 if failures else 0
