"""Add and remove gatesh's hook entry in an agent's settings, leaving everything else intact.

Pure functions on parsed JSON (the caller reads, backs up and writes the file) and on
TOML text, edited line by line so that unrelated lines stay byte for byte as they were.
A shape gatesh does not understand raises SettingsError: nothing is written then.
"""

from __future__ import annotations

import copy
import re

from .agents import Agent, is_ours
from .errors import GateshError

__all__ = ["SettingsError", "add_hook", "remove_hook", "set_flag", "unset_flag", "FlagEdit"]


class SettingsError(GateshError):
    """An agent settings file gatesh cannot merge into safely."""

    reason = "bad_settings"


def _event_list(data: dict[str, object], path: str, event: str, create: bool) -> list[object] | None:
    hooks = data.get("hooks")
    if hooks is None:
        if not create:
            return None
        hooks = data["hooks"] = {}
    if not isinstance(hooks, dict):
        raise SettingsError(f'{path}: "hooks" is not a JSON object; fix it or move the file '
                            "aside, then run gatectl install again")
    groups = hooks.get(event)
    if groups is None:
        if not create:
            return None
        groups = hooks[event] = []
    if not isinstance(groups, list):
        raise SettingsError(f'{path}: "hooks.{event}" is not a JSON list; fix it or move the '
                            "file aside, then run gatectl install again")
    return groups


def add_hook(data: object, agent: Agent, path: str, command: str,
             timeout_s: int) -> tuple[dict[str, object], list[str], list[str]]:
    """(new data, events where the entry was added, notes on entries already there)."""
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: the top level is not a JSON object; fix it or move the "
                            "file aside, then run gatectl install again")
    out = copy.deepcopy(data)
    added: list[str] = []
    notes: list[str] = []
    timeout = timeout_s * agent.timeout_scale
    for event in agent.events:
        groups = _event_list(out, path, event, create=True)
        assert groups is not None
        mine = _find(groups, agent)
        if mine is None:
            entry: dict[str, object] = {"type": "command", "command": command}
            if timeout:
                entry["timeout"] = timeout
            if agent.grouped:
                groups.append({"matcher": agent.matcher, "hooks": [entry]})
            else:
                groups.append({"command": command})
            added.append(event)
            continue
        old = mine.get("timeout")
        if timeout and not (isinstance(old, (int, float)) and old >= timeout):
            mine["timeout"] = timeout
            notes.append(f"{event}: hook timeout raised from {old} to {timeout}")
    if not added and not notes:
        return data, [], []   # the caller sees nothing changed
    if agent.version is not None and "version" not in out:
        out = {"version": agent.version, **out}
    return out, added, notes


def _find(groups: list[object], agent: Agent) -> dict[str, object] | None:
    for g in groups:
        if not isinstance(g, dict):
            continue
        if not agent.grouped:
            if is_ours(g.get("command"), agent):
                return g
            continue
        inner = g.get("hooks")
        if isinstance(inner, list):
            for h in inner:
                if isinstance(h, dict) and is_ours(h.get("command"), agent):
                    return h
    return None


def remove_hook(data: object, agent: Agent, path: str,
                events: tuple[str, ...]) -> tuple[object, int]:
    """(new data, entries removed): our entries under events, and containers left empty."""
    if not isinstance(data, dict):
        return data, 0
    out = copy.deepcopy(data)
    removed = 0
    for event in events:
        try:
            groups = _event_list(out, path, event, create=False)
        except SettingsError:
            continue
        if groups is None:
            continue
        kept: list[object] = []
        for g in groups:
            if not isinstance(g, dict):
                kept.append(g)
            elif not agent.grouped:
                if is_ours(g.get("command"), agent):
                    removed += 1
                else:
                    kept.append(g)
            elif isinstance(g.get("hooks"), list):
                inner = [h for h in g["hooks"] if not (isinstance(h, dict)
                                                        and is_ours(h.get("command"), agent))]
                removed += len(g["hooks"]) - len(inner)
                if inner or set(g) - {"matcher", "hooks"}:
                    kept.append({**g, "hooks": inner})
            else:
                kept.append(g)
        hooks = out["hooks"]
        assert isinstance(hooks, dict)
        if kept:
            hooks[event] = kept
        else:
            del hooks[event]
        if not hooks:
            del out["hooks"]
    return out, removed


# --- the Codex feature flag in config.toml ------------------------------------------------

_TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\s*(#.*)?$")


class FlagEdit:
    """What set_flag did, so unset_flag can undo exactly that."""

    __slots__ = ("action", "line", "old")

    def __init__(self, action: str, line: str, old: str = "") -> None:
        self.action, self.line, self.old = action, line, old  # appended_table|added_key|replaced


def _table_span(lines: list[str], table: str) -> tuple[int, int] | None:
    """[start, end) of the lines inside [table] (header excluded), or None."""
    start = None
    for i, ln in enumerate(lines):
        m = _TABLE.match(ln)
        if m is None or ln.lstrip().startswith("[["):
            if ln.lstrip().startswith("[[") and start is not None:
                return start, i
            continue
        if start is not None:
            return start, i
        if m.group(1).strip() == table:
            start = i + 1
    return (start, len(lines)) if start is not None else None


def _key_line(lines: list[str], span: tuple[int, int], key: str) -> int | None:
    pat = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for i in range(*span):
        if pat.match(lines[i]):
            return i
    return None


def set_flag(text: str, path: str, table: str, key: str) -> tuple[str, FlagEdit | None]:
    """text with `key = true` in [table]; (text unchanged, None) when it is already so."""
    import tomllib
    try:
        before = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SettingsError(f"{path}: not valid TOML ({e}); fix it, then run gatectl install "
                            "again") from None
    section = before.get(table)
    if isinstance(section, dict) and section.get(key) is True:
        return text, None
    line = f"{key} = true"
    lines = text.splitlines(keepends=True)
    span = _table_span(lines, table)
    if span is None:
        sep = "" if not text or text.endswith("\n") else "\n"
        blank = "\n" if text.strip() else ""
        new, edit = text + sep + blank + f"[{table}]\n{line}\n", FlagEdit("appended_table", line)
    else:
        at = _key_line(lines, span, key)
        if at is not None:
            old = lines[at]
            lines[at] = line + "\n"
            edit = FlagEdit("replaced", line, old)
        else:
            end = span[1]
            while end > span[0] and not lines[end - 1].strip():
                end -= 1
            if end > 0 and not lines[end - 1].endswith("\n"):
                lines[end - 1] += "\n"
            lines.insert(end, line + "\n")
            edit = FlagEdit("added_key", line)
        new = "".join(lines)
    try:
        after = tomllib.loads(new)
    except tomllib.TOMLDecodeError:
        after = {}
    sec = after.get(table)
    if not (isinstance(sec, dict) and sec.get(key) is True):
        raise SettingsError(f"{path}: cannot add {key} = true to [{table}] safely; add it "
                            "yourself, then run gatectl install again")
    return new, edit


def unset_flag(text: str, table: str, edit: FlagEdit) -> tuple[str, bool]:
    """text with set_flag's edit undone; (text, False) when the line is no longer ours."""
    lines = text.splitlines(keepends=True)
    span = _table_span(lines, table)
    if span is None:
        return text, False
    at = _key_line(lines, span, edit.line.split("=")[0].strip())
    if at is None or lines[at].strip() != edit.line:
        return text, False
    if edit.action == "replaced":
        lines[at] = edit.old
    else:
        del lines[at]
        span = (span[0], span[1] - 1)
        body = [ln for ln in lines[span[0]:span[1]] if ln.strip()]
        if edit.action == "appended_table" and not body:
            start = span[0] - 1   # the header line
            end = span[1]
            while start > 0 and not lines[start - 1].strip():
                start -= 1
            del lines[start:end]
    return "".join(lines), True
