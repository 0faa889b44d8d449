"""The file side of `gatectl install --agent`: plan, back up, write and undo hook entries.

Every settings file is read and merged before anything is written (plan_*), so a file that
is not valid JSON stops the install with nothing changed.  A file gatesh changes is first
copied next to itself (`<file>.gatesh-backup-<time>`); undo_* removes only gatesh's entry.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass

from .agents import Agent, agent_dir, hook_command, settings_path
from .hookconf import FlagEdit, SettingsError, add_hook, remove_hook, set_flag, unset_flag
from .manifest import FlagRecord, HookRecord, write_atomic

__all__ = ["FlagPlan", "HookPlan", "apply_flag", "apply_hook", "plan_codex_flag", "plan_hook",
           "undo_flag", "undo_hook"]

CODEX_TABLE, CODEX_FLAG = "features", "codex_hooks"


@dataclass(frozen=True)
class HookPlan:
    agent: Agent
    path: str
    command: str
    existed: bool
    new: bytes | None                 # None: nothing to write
    added: tuple[str, ...]
    notes: tuple[str, ...]
    added_keys: tuple[str, ...]


@dataclass(frozen=True)
class FlagPlan:
    path: str
    existed: bool
    new: str | None
    edit: FlagEdit | None


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise SettingsError(f"cannot read {path}: {e.strerror}; check its permissions") from None


def _load_json(path: str, raw: bytes) -> object:
    if not raw.strip():
        return {}
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise SettingsError(f"{path} is not valid JSON ({e}); fix it or move it aside, then "
                            "run gatectl install again (nothing was changed)") from None


def _dump(data: object) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def plan_hook(agent: Agent, env: Mapping[str, str], gatectl: str, timeout_s: int) -> HookPlan:
    path = settings_path(agent, env)
    raw = _read(path)
    data = {} if raw is None else _load_json(path, raw)
    command = hook_command(agent, gatectl)
    new, added, notes = add_hook(data, agent, path, command, timeout_s)
    keys = tuple(k for k in new if k not in ("hooks",) and not
                 (isinstance(data, dict) and k in data))
    changed = bool(added or notes)
    return HookPlan(agent, path, command, raw is not None, _dump(new) if changed else None,
                    tuple(added), tuple(notes), keys)


def plan_codex_flag(env: Mapping[str, str]) -> FlagPlan:
    from .agents import by_name
    path = os.path.join(agent_dir(by_name("codex"), env), "config.toml")
    raw = _read(path)
    try:
        text = "" if raw is None else raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SettingsError(f"{path} is not UTF-8 text; fix it, then run gatectl install "
                            "again") from None
    new, edit = set_flag(text, path, CODEX_TABLE, CODEX_FLAG)
    return FlagPlan(path, raw is not None, new if edit is not None else None, edit)


def backup(path: str) -> str:
    """A copy of path next to it, named after the time; never overwrites an earlier copy."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    dest = f"{path}.gatesh-backup-{stamp}"
    n = 1
    while os.path.lexists(dest):
        n += 1
        dest = f"{path}.gatesh-backup-{stamp}-{n}"
    shutil.copy2(path, dest)
    return dest


def apply_hook(plan: HookPlan) -> tuple[HookRecord | None, str | None]:
    """Write the plan; (record for the manifest, backup path)."""
    if plan.new is None:
        return None, None
    saved = backup(plan.path) if plan.existed else None
    write_atomic(plan.path, plan.new)
    if not plan.added:
        return None, saved
    return HookRecord(plan.agent.name, plan.path, plan.command, plan.added,
                      created_file=not plan.existed, added_keys=plan.added_keys), saved


def apply_flag(plan: FlagPlan) -> tuple[FlagRecord | None, str | None]:
    if plan.new is None or plan.edit is None:
        return None, None
    saved = backup(plan.path) if plan.existed else None
    write_atomic(plan.path, plan.new.encode("utf-8"))
    e = plan.edit
    return FlagRecord(plan.path, CODEX_TABLE, CODEX_FLAG, e.action, e.line, e.old,
                      created_file=not plan.existed), saved


def undo_hook(rec: HookRecord) -> tuple[str, bool, str | None]:
    """(what happened, True when it failed and the user must act, backup path)."""
    from .agents import by_name
    raw = _read(rec.path)
    if raw is None:
        return f"{rec.path}: already gone", False, None
    try:
        data = _load_json(rec.path, raw)
    except SettingsError:
        return (f"{rec.path} is not valid JSON now; remove the `gatectl hook {rec.agent}` "
                "entry by hand"), True, None
    new, removed = remove_hook(data, by_name(rec.agent), rec.path, rec.events)
    if removed == 0:
        return f"{rec.path}: the {rec.agent} hook entry is already gone", False, None
    if isinstance(new, dict) and "hooks" not in new:
        for key in rec.added_keys:
            new.pop(key, None)
    if rec.created_file and new == {}:
        os.unlink(rec.path)
        return f"removed {rec.path} (gatesh had created it)", False, None
    saved = backup(rec.path)
    write_atomic(rec.path, _dump(new))
    return f"removed the {rec.agent} hook entry from {rec.path}", False, saved


def undo_flag(rec: FlagRecord) -> tuple[str, bool, str | None]:
    raw = _read(rec.path)
    if raw is None:
        return f"{rec.path}: already gone", False, None
    text = raw.decode("utf-8", "replace")
    new, done = unset_flag(text, rec.table, FlagEdit(rec.action, rec.line, rec.old))
    if not done:
        return f"{rec.path}: kept [{rec.table}] {rec.key}: changed since install", False, None
    if rec.created_file and not new.strip():
        os.unlink(rec.path)
        return f"removed {rec.path} (gatesh had created it)", False, None
    saved = backup(rec.path)
    write_atomic(rec.path, new.encode("utf-8"))
    return f"removed {rec.key} from [{rec.table}] in {rec.path}", False, saved
