"""The checks of `gatectl doctor` about how agents reach gatesh: shims, PATH, agent hooks.

The shim directory and the hooks `gatectl install` made are read from its manifest; the
hooks actually present from the agents' own settings files (agents.hook_status).  A hook
whose own timeout is not above the approval timeout fails: Claude Code lets the command run
when a hook times out (harnesses.md, requirements 19 and 25).  Codex is steered to its hooks
(requirement 26): under its sandbox the shell route blocks every ask.
"""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Mapping

from .doctor import FAIL, OK, WARN, Check
from .errors import GateshError

__all__ = ["check_agents", "check_shims", "hook_timeouts"]

# what each harness waits for a hook that sets no timeout, in seconds; the lowest value any
# release used, since a hook that times out lets the command run in Claude Code
_DEFAULT_HOOK_S = {"claude": 60.0, "codex": 600.0, "gemini": 60.0}


def _current_gatesh() -> str | None:
    from .launcher import gatesh_path
    try:
        return gatesh_path()
    except GateshError:
        return None


def check_shims(env: Mapping[str, str]) -> list[Check]:
    """The install manifest, each link it made (present, pointing at gatesh), and PATH."""
    from .config import _is_gatesh
    from .install import manifest_path, read_manifest
    from .manifest import points_at
    mpath = manifest_path(env)
    try:
        m = read_manifest(env)
    except GateshError as e:
        return [Check("shims", FAIL, str(e).split(";")[0],
                      f"move {mpath} aside and run gatectl install again")]
    if m is None:
        return [Check("shims", FAIL, f"not installed: no install manifest at {mpath}",
                      "run gatectl install")]
    again = "run gatectl install again (it recreates missing links)"
    out: list[Check] = []
    if not os.path.isfile(m.gatesh):
        out.append(Check("shims", FAIL, f"the gatesh script the shims link to, {m.gatesh}, is "
                         "gone", "reinstall gatesh (pip install gatesh), then run gatectl "
                         "install again"))
    if not any(os.path.basename(link) == "bash" for link in m.links):
        out.append(Check("shims", FAIL, f"the manifest lists no bash link in {m.shim_dir}",
                         again))
    for link in m.links:
        if not os.path.lexists(link):
            out.append(Check("shims", FAIL, f"{link} is missing", again))
        elif not os.path.exists(link):
            out.append(Check("shims", FAIL, f"{link} is a dangling link (to "
                             f"{os.readlink(link)})", f"rm {shlex.quote(link)}, then {again}"))
        elif not points_at(link, m.gatesh) and not _is_gatesh(link):
            out.append(Check("shims", FAIL, f"{link} no longer leads to gatesh (it is "
                             f"{os.path.realpath(link)})",
                             f"move {shlex.quote(link)} aside, then {again}"))
        elif not points_at(link, m.gatesh):
            out.append(Check("shims", WARN, f"{link} leads to another gatesh, "
                             f"{os.path.realpath(link)}, not to {m.gatesh}",
                             f"rm {shlex.quote(link)}, then {again}"))
    if any(c.status == FAIL for c in out):
        return out
    names = ", ".join(os.path.basename(link) for link in m.links)
    out.insert(0, Check("shims", OK, f"{m.shim_dir}: {names} -> {m.gatesh}"))
    current = _current_gatesh()
    if current and not points_at(m.gatesh, current):
        out.append(Check("shims", WARN, f"the shims lead to {m.gatesh}, not to {current}, the "
                         "gatesh beside this gatectl", "run gatectl install again"))
    first = shutil.which("bash", path=env.get("PATH", ""))
    shim_bash = os.path.join(m.shim_dir, "bash")
    if first and os.path.dirname(os.path.abspath(first)) == os.path.abspath(m.shim_dir):
        out.append(Check("PATH", OK, f"{m.shim_dir} is first on PATH for bash"))
    else:
        out.append(Check("PATH", WARN, f"bash on PATH is {first or 'nothing'}, not the shim: "
                         "agents that look bash up on PATH (Gemini CLI, SWE-agent, Goose, "
                         f"Codex) bypass gatesh unless told to use {shim_bash}",
                         f"add export PATH={shlex.quote(m.shim_dir)}:\"$PATH\" to your shell "
                         "profile, or point the agent at the shim (gatectl install lists how)"))
    return out


def hook_timeouts(agent_name: str, settings: str) -> tuple[list[float | None], str]:
    """The timeouts (seconds; None = not set) of our hook entries in settings, or an error."""
    import json

    from .agents import by_name, is_ours
    agent = by_name(agent_name)
    try:
        with open(settings, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        return [], f"cannot read {settings}: {e}"
    found: list[float | None] = []
    hooks = data.get("hooks") if isinstance(data, dict) else None
    for event in agent.events:
        groups = hooks.get(event) if isinstance(hooks, dict) else None
        for g in groups if isinstance(groups, list) else []:
            inner = g.get("hooks") if agent.grouped and isinstance(g, dict) else [g]
            for h in inner if isinstance(inner, list) else []:
                if isinstance(h, dict) and is_ours(h.get("command"), agent):
                    t = h.get("timeout")
                    ok = isinstance(t, (int, float)) and not isinstance(t, bool)
                    found.append(float(t) / (agent.timeout_scale or 1) if ok else None)  # type: ignore[arg-type]
    return found, ""


def _codex_flag_problem(env: Mapping[str, str]) -> str | None:
    """Why Codex would not run its hooks, or None when [features] enables them."""
    import tomllib

    from .agents import agent_dir, by_name
    path = os.path.join(agent_dir(by_name("codex"), env), "config.toml")
    try:
        with open(path, "rb") as f:
            features = tomllib.load(f).get("features")
    except FileNotFoundError:
        return f"{path} does not exist"
    except (OSError, tomllib.TOMLDecodeError) as e:
        return f"{path} cannot be read ({e})"
    if isinstance(features, dict) and (features.get("codex_hooks") is True
                                       or features.get("hooks") is True):
        return None
    return f"{path} does not set [features] codex_hooks = true"


def _codex_present(env: Mapping[str, str]) -> bool:
    from .agents import agent_dir, by_name
    return os.path.isdir(agent_dir(by_name("codex"), env)) or \
        shutil.which("codex", path=env.get("PATH", "")) is not None


def _check_wired(name: str, settings: str, approval_s: float,
                 config_broken: bool) -> list[Check]:
    from .agents import by_name
    agent = by_name(name)
    label = f"agent {name}"
    timeouts, err = hook_timeouts(name, settings)
    if err:
        return [Check(label, FAIL, err, f"fix {settings}, then run gatectl install --agent "
                      f"{name} again")]
    if not agent.timeout_scale:
        return [Check(label, OK, f"{agent.title}: hook in {settings}")]
    default = _DEFAULT_HOOK_S.get(name, 60.0)
    worst = min((default if t is None else t) for t in timeouts) if timeouts else default
    unset = any(t is None for t in timeouts)
    what = (f"no hook timeout set ({agent.title} then waits {default:g} s)" if unset
            else f"hook timeout {worst:g} s")
    basis = " (the default: the config does not load)" if config_broken else ""
    if worst <= approval_s:
        return [Check(label, FAIL, f"{agent.title}: {what} in {settings}, not above the "
                      f"approval timeout {approval_s:g} s{basis}: a hook that times out may "
                      "let the command run",
                      f"run gatectl install --agent {name} again (it writes a timeout above "
                      "the approval timeout), or lower [approval] timeout in the config")]
    return [Check(label, OK, f"{agent.title}: hook in {settings}, {what} > approval timeout "
                  f"{approval_s:g} s")]


def check_agents(env: Mapping[str, str], approval_s: float,
                 config_broken: bool = False) -> list[Check]:
    """Which agents are wired through their hooks, and whether each hook can wait long enough."""
    from .agents import hook_status
    from .install import read_manifest
    status = hook_status(env)
    out: list[Check] = []
    for name, settings in status.items():
        if settings:
            out += _check_wired(name, settings, approval_s, config_broken)
    try:
        m = read_manifest(env)
    except GateshError:
        m = None  # the shims check reports a damaged manifest
    gone = {rec.agent for rec in (m.hooks if m else ()) if status.get(rec.agent) is None}
    for rec in m.hooks if m else ():
        if rec.agent in gone:
            out.append(Check(f"agent {rec.agent}", FAIL, f"the hook gatectl install added to "
                             f"{rec.path} is gone (or the file no longer parses)",
                             f"run gatectl install --agent {rec.agent} again"))
    if status.get("codex"):
        problem = _codex_flag_problem(env)
        if problem:
            out.append(Check("agent codex", FAIL, f"Codex runs no hooks: {problem}",
                             "run gatectl install --agent codex again (it sets the flag)"))
    elif "codex" not in gone and _codex_present(env):
        out.append(Check("agent codex", WARN, "Codex is here but not wired through its hooks; "
                         "on the shell route its sandbox keeps gatesh from the approver (every "
                         "command that needs approval is blocked) and it kills a command after "
                         "10 s by default",
                         "run gatectl install --agent codex"))
    if not any(status.values()) and not gone:
        out.append(Check("agents", OK, "no agent hooks installed (the shim is the only route; "
                         "gatectl install --agent NAME adds one for "
                         f"{', '.join(status)})"))
    return out
