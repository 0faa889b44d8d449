"""`gatectl doctor`: is this machine set up for gatesh to gate an agent, and if not, what to do.

Each check returns Check results (ok, warn or fail; what was found; the fix as one line).
The checks live in doctorcore (bash, config, mode, rules), doctorstate (approver, audit log)
and doctorwire (shims, PATH, wired agents and their hook timeouts).  Everything shown is
plain text: paths, commands and error messages may hold anything, so they never reach rich
markup.  Exit 0 when nothing failed (warnings allowed), 1 otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass

__all__ = ["FAIL", "OK", "WARN", "Check", "diagnose", "render", "run_doctor"]

OK, WARN, FAIL = "ok", "warn", "fail"
_MARK = {OK: ("✓", "green"), WARN: ("!", "yellow"), FAIL: ("✗", "bold red")}


@dataclass(frozen=True)
class Check:
    """One finding: which check, how it went, what was found, and the one-line fix."""

    name: str
    status: str          # OK | WARN | FAIL
    found: str
    fix: str = ""


def diagnose(env: Mapping[str, str], cwd: str) -> list[Check]:
    """Every check, in the order a user would fix things; never raises for a broken setup."""
    from . import doctorcore, doctorstate, doctorwire
    cfg, cfg_error = doctorcore.load_config(env)
    out: list[Check] = []
    out += doctorcore.check_bash(cfg, cfg_error, env)
    out += doctorwire.check_shims(env)
    out += doctorcore.check_config(cfg, cfg_error, env)
    out += doctorcore.check_mode(cfg, cfg_error, env)
    out += doctorcore.check_rules(cfg, cwd, env)
    out += doctorstate.check_approver(cfg)
    out += doctorstate.check_audit(cfg)
    out += doctorwire.check_agents(env, cfg.approval_timeout, cfg_error is not None)
    return out


def failed(checks: list[Check]) -> bool:
    return any(c.status == FAIL for c in checks)


def render(checks: list[Check]) -> None:
    """The checks as a list with ✓ / ! / ✗, every found and fix text as plain Text."""
    from rich.console import Console
    from rich.text import Text

    from .display import visible
    con = Console(highlight=False, markup=False, emoji=False)
    width = max((len(c.name) for c in checks), default=0)
    for c in checks:
        mark, style = _MARK[c.status]
        line = Text.assemble((mark, style), " ", (c.name.ljust(width), "bold"), "  ",
                             visible(c.found))
        con.print(line, soft_wrap=True)
        if c.fix and c.status != OK:
            con.print(Text.assemble(" " * (width + 4), ("fix: ", style), visible(c.fix)),
                      soft_wrap=True)
    fails = sum(c.status == FAIL for c in checks)
    warns = sum(c.status == WARN for c in checks)
    if fails:
        summary = Text(f"{fails} problem{'s' * (fails != 1)}"
                       + (f", {warns} warning{'s' * (warns != 1)}" if warns else "")
                       + ": gatesh is not ready; apply the fixes above and run gatectl doctor "
                       "again", "bold red")
    elif warns:
        summary = Text(f"ready, with {warns} warning{'s' * (warns != 1)}", "bold yellow")
    else:
        summary = Text("ready: every check passed", "bold green")
    con.print(summary, soft_wrap=True)


def as_json(checks: list[Check]) -> dict[str, object]:
    return {
        "ok": not failed(checks),
        "counts": {s: sum(c.status == s for c in checks) for s in (OK, WARN, FAIL)},
        "checks": [asdict(c) for c in checks],
    }


def run_doctor(as_json_output: bool = False, env: Mapping[str, str] | None = None,
               cwd: str | None = None) -> int:
    """`gatectl doctor [--json]`: print the checks; 0 when nothing failed, 1 otherwise."""
    import json
    import sys
    checks = diagnose(os.environ if env is None else env, cwd or os.getcwd())
    if as_json_output:
        sys.stdout.write(json.dumps(as_json(checks), ensure_ascii=False, indent=1) + "\n")
    else:
        render(checks)
    return 1 if failed(checks) else 0
