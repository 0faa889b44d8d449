"""The agents whose hooks `gatectl install --agent` writes, and how to find gatesh's entry.

One row per agent: its user settings file, the hook events and matcher, the unit of the hook's
own timeout (harnesses.md section 3), and whether entries are Claude-style groups
(`{"matcher": ..., "hooks": [{"type": "command", ...}]}`) or Cursor's flat list.  Our entry is
any command hook whose words are `<...>/gatectl hook <agent>`.  `gatectl doctor` reads
hook_status().
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["AGENTS", "Agent", "by_name", "hook_command", "hook_status", "is_ours",
           "our_events", "settings_path"]


@dataclass(frozen=True)
class Agent:
    """One harness with a pre-tool hook, and where its user settings live."""

    name: str                   # the word after `gatectl hook`
    title: str                  # what people call it
    home_var: str | None        # an environment variable that moves the agent's directory
    home_dir: str               # the agent's directory under HOME
    file: str                   # the settings file holding the hooks
    events: tuple[str, ...]     # hook events gatesh answers
    matcher: str | None         # the tool matcher (None: Cursor's flat entries)
    timeout_scale: int          # hook timeout unit: 1 = seconds, 1000 = ms, 0 = none written
    version: int | None = None  # a top-level "version" the file needs (Cursor)

    @property
    def grouped(self) -> bool:
        return self.matcher is not None


AGENTS: tuple[Agent, ...] = (
    Agent("claude", "Claude Code", "CLAUDE_CONFIG_DIR", ".claude", "settings.json",
          ("PreToolUse",), "Bash", 1),
    Agent("codex", "Codex CLI", "CODEX_HOME", ".codex", "hooks.json",
          ("PreToolUse", "PermissionRequest"), "Bash", 1),
    Agent("gemini", "Gemini CLI", None, ".gemini", "settings.json",
          ("BeforeTool",), "run_shell_command", 1000),
    Agent("cursor", "Cursor", None, ".cursor", "hooks.json",
          ("beforeShellExecution",), None, 0, version=1),
)


def by_name(name: str) -> Agent:
    for a in AGENTS:
        if a.name == name:
            return a
    raise KeyError(name)


def agent_dir(agent: Agent, env: Mapping[str, str]) -> str:
    moved = env.get(agent.home_var) if agent.home_var else None
    if moved:
        return moved
    home = env.get("HOME") or os.path.expanduser("~")
    return os.path.join(home, agent.home_dir)


def settings_path(agent: Agent, env: Mapping[str, str]) -> str:
    return os.path.join(agent_dir(agent, env), agent.file)


def hook_command(agent: Agent, gatectl: str) -> str:
    """The command line the harness runs: gatectl by absolute path (its PATH may differ)."""
    return f"{shlex.quote(gatectl)} hook {agent.name}"


def is_ours(command: object, agent: Agent) -> bool:
    """True for `gatectl hook <agent>`, whatever directory gatectl is in."""
    if not isinstance(command, str):
        return False
    try:
        words = shlex.split(command)
    except ValueError:
        return False
    return (len(words) == 3 and os.path.basename(words[0]) == "gatectl"
            and words[1:] == ["hook", agent.name])


def _entries(data: object, agent: Agent, event: str) -> list[dict[str, object]]:
    """The command-hook dicts listed under event (empty when the shape is unexpected)."""
    if not isinstance(data, dict):
        return []
    hooks = data.get("hooks")
    groups = hooks.get(event) if isinstance(hooks, dict) else None
    if not isinstance(groups, list):
        return []
    if not agent.grouped:
        return [g for g in groups if isinstance(g, dict)]
    out: list[dict[str, object]] = []
    for g in groups:
        inner = g.get("hooks") if isinstance(g, dict) else None
        if isinstance(inner, list):
            out.extend(h for h in inner if isinstance(h, dict))
    return out


def our_events(data: object, agent: Agent) -> list[str]:
    """The events of agent under which data holds our hook."""
    return [ev for ev in agent.events
            if any(is_ours(h.get("command"), agent) for h in _entries(data, agent, ev))]


def hook_status(env: Mapping[str, str]) -> dict[str, str | None]:
    """agent name -> the settings file holding a `gatectl hook <agent>` entry, or None."""
    out: dict[str, str | None] = {}
    for agent in AGENTS:
        path = settings_path(agent, env)
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError):
            data = None
        out[agent.name] = path if our_events(data, agent) else None
    return out
