"""The lines `gatectl install` prints: how to route each agent through the shim directory.

Plain text, one agent per line, ready to copy (harnesses.md sections 1 and 2).
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Mapping

__all__ = ["wiring"]


def wiring(shim_dir: str, hooks: Mapping[str, str | None]) -> list[str]:
    """One line per agent; hooks maps agent name -> settings file holding our hook, or None."""
    bash = f"{shim_dir}/bash"
    q, qdir = shlex.quote(bash), shlex.quote(shim_dir)
    path_first = f'export PATH={qdir}:"$PATH"'
    osname = "osx" if sys.platform == "darwin" else "linux"
    vscode = json.dumps({f"terminal.integrated.profiles.{osname}": {"gatesh": {"path": bash}},
                         f"terminal.integrated.defaultProfile.{osname}": "gatesh"})

    def hook(name: str, alt: str) -> str:
        where = hooks.get(name)
        if where:
            return f"hook installed in {where}"
        return f"gatectl install --agent {name}   ({alt})"

    rows = [
        ("Claude Code", f"export CLAUDE_CODE_SHELL={q}   or the hook: "
                        + hook("claude", "PreToolUse hook")),
        ("Codex CLI", hook("codex", "hooks; the shell route is weak under Codex's sandbox")),
        ("Gemini CLI", hook("gemini", f"or put the shims first: {path_first}")),
        ("Cursor", hook("cursor", "beforeShellExecution hook")),
        ("aider", f"export SHELL={q}"),
        ("Open Interpreter", f"export SHELL={q}"),
        ("OpenHands", f"{path_first}   (in the runtime; or shell_path={bash!r} in the SDK)"),
        ("SWE-agent", f"{path_first}   (inside the container)"),
        ("Goose", f"export GOOSE_SHELL={q}"),
        ("opencode", f'"shell": {json.dumps(bash)}   (in opencode.json)'),
        ("Cline, Roo Code", f"VS Code settings.json: {vscode}"),
        ("Python", f"subprocess.run(cmd, shell=True, executable={bash!r})"),
    ]
    width = max(len(name) for name, _ in rows)
    return [f"  {name.ljust(width)}  {how}" for name, how in rows]
