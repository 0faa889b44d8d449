"""`gatectl install`: the shim directory, a default config, agent hooks, and a manifest.

Everything is checked before anything is written: the real bash, the gatesh script, links
that would be overwritten, every settings file an --agent touches.  What was made is listed
in the manifest (manifest.py); running install twice changes nothing and says so, and
`--uninstall` removes exactly what the manifest lists: links that still point at gatesh,
the config if unchanged since written, and gatesh's own hook entries.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TextIO

from .agents import by_name, hook_status
from .config import default_paths, find_bash, load
from .errors import GateshError
from .manifest import (HookRecord, Manifest, manifest_path, points_at, read_manifest,
                       write_atomic, write_manifest)

__all__ = ["Options", "install", "uninstall", "manifest_path", "read_manifest", "config_text",
           "shim_dir"]


@dataclass(frozen=True)
class Options:
    prefix: str | None = None
    sh: bool = False
    zsh: bool = False
    agents: tuple[str, ...] = ()


def shim_dir(env: Mapping[str, str], prefix: str | None) -> str:
    if prefix:
        return os.path.join(os.path.abspath(os.path.expanduser(prefix)), "bin")
    home = env.get("HOME") or os.path.expanduser("~")
    data = env.get("XDG_DATA_HOME") or os.path.join(home, ".local", "share")
    return os.path.join(data, "gatesh", "bin")


def config_text(bash: str) -> str:
    """The default config: the real bash set, every other setting shown commented out."""
    import json
    return f"""\
# gatesh configuration, written by `gatectl install`.  Uncomment a line to change it.

# enforce (ask a human in `gatectl approve`), dry-run (run everything, only log),
# or no-human (block what needs approval).  GATESH_MODE overrides it.
# mode = "enforce"

# The real bash that runs allowed commands (never gatesh itself or a shim).
bash = {json.dumps(bash)}

[approval]
# Seconds to wait for a human's answer; keep it below your agent's own command timeout.
# timeout = 90
# Seconds to wait for `gatectl approve` to start when none is running.
# wait_for_approver = 0

[audit]
# path = "/path/to/audit.jsonl"
# max_bytes = 10485760      # rotate past this size (0: never)
# syslog = false            # true (/dev/log), a socket path, or "udp://host:port"

[rules]
# disable = ["rule:id"]
"""


def _gatectl(gatesh: str) -> str:
    cand = os.path.join(os.path.dirname(gatesh), "gatectl")
    if os.path.isfile(cand) and os.access(cand, os.X_OK):
        return cand
    found = shutil.which("gatectl")
    if found:
        return os.path.abspath(found)
    raise GateshError("gatectl is not installed next to gatesh or on PATH; reinstall gatesh")


def _hook_timeout(env: Mapping[str, str]) -> int:
    """Seconds for the harness's hook timeout: the longest approval wait plus a margin."""
    cfg = load(env)
    return int(math.ceil(max(cfg.approval_timeout, cfg.wait_for_approver))) + 30


def _missing_dirs(path: str) -> list[str]:
    out: list[str] = []
    while not os.path.isdir(path):
        out.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return out[::-1]


def install(opts: Options, env: Mapping[str, str], out: TextIO) -> int:
    from .installhooks import apply_flag, apply_hook, plan_codex_flag, plan_hook
    from .launcher import gatesh_path
    from .wiring import wiring

    bash = find_bash(env)
    gatesh = gatesh_path()
    gatectl = _gatectl(gatesh)
    shims = shim_dir(env, opts.prefix)
    names = ["bash"] + (["sh"] if opts.sh else []) + (["zsh"] if opts.zsh else [])
    links = [os.path.join(shims, n) for n in names]
    for link in links:
        if os.path.lexists(link) and not points_at(link, gatesh):
            raise GateshError(f"{link} exists and is not a link to gatesh; move it aside or "
                              "choose another directory with --prefix (nothing was changed)")
    old = read_manifest(env)
    cfg_path = env.get("GATESH_CONFIG") or os.path.join(default_paths(env)["config_dir"],
                                                        "config.toml")
    write_config = not os.path.exists(cfg_path)
    if write_config:
        body = config_text(bash).encode("utf-8")
    else:
        load(env)  # a broken config would block every command: say so now
    agents = list(dict.fromkeys(opts.agents))
    hook_s = _hook_timeout(env) if agents else 0
    plans = [plan_hook(by_name(a), env, gatectl, hook_s) for a in agents]
    flag = plan_codex_flag(env) if "codex" in agents else None

    changed = False
    m = old or Manifest(shim_dir=shims, gatesh=gatesh)
    m = replace(m, shim_dir=shims, gatesh=gatesh)
    say = out.write
    say(f"real bash: {bash}\n")
    if write_config:
        dirs = _missing_dirs(os.path.dirname(cfg_path))
        write_atomic(cfg_path, body, 0o600)
        m = replace(m, config_path=cfg_path, config_sha256=hashlib.sha256(body).hexdigest(),
                    dirs=m.dirs + tuple(d for d in dirs if d not in m.dirs))
        say(f"config: wrote {cfg_path}\n")
        changed = True
    else:
        say(f"config: kept {cfg_path}\n")
    new_dirs = _missing_dirs(shims)
    os.makedirs(shims, mode=0o755, exist_ok=True)
    m = replace(m, dirs=m.dirs + tuple(d for d in new_dirs if d not in m.dirs))
    for link in links:
        if os.path.lexists(link):
            say(f"shim: {link} -> {gatesh} (already there)\n")
        else:
            os.symlink(gatesh, link)
            changed = True
            say(f"shim: {link} -> {gatesh} (created)\n")
        if link not in m.links:
            m = replace(m, links=m.links + (link,))
    for plan in plans:
        rec, saved = apply_hook(plan)
        name = plan.agent.name
        if saved:
            m = replace(m, backups=m.backups + (saved,))
        if rec is not None:
            m = replace(m, hooks=_merge_hook(m.hooks, rec))
        if plan.new is None:
            say(f"hook {name}: already in {plan.path}\n")
            continue
        changed = True
        what = (f"added to {plan.path}" if plan.added else f"updated in {plan.path}")
        for note in plan.notes:
            say(f"hook {name}: {note}\n")
        say(f"hook {name}: {what}" + (f" (backup: {saved})" if saved else "") + "\n")
    if flag is not None:
        frec, saved = apply_flag(flag)
        if frec is None:
            say(f"codex: [features] codex_hooks = true already set in {flag.path}\n")
        else:
            changed = True
            m = replace(m, flags=m.flags + (frec,),
                        backups=m.backups + ((saved,) if saved else ()))
            say(f"codex: set [features] codex_hooks = true in {flag.path}"
                + (f" (backup: {saved})" if saved else "") + "\n")
    if changed or old is None or m != old:
        write_manifest(env, m)
    say(f"manifest: {manifest_path(env)}\n")
    if not changed:
        say("nothing changed: gatesh was already installed like this\n")
    say(f"\nRoute your agent through gatesh (shims in {shims}):\n")
    say("\n".join(wiring(shims, hook_status(env))) + "\n")
    say("\nThen run `gatectl approve` in a separate terminal to answer gatesh's questions.\n")
    return 0


def _merge_hook(hooks: tuple[HookRecord, ...], rec: HookRecord) -> tuple[HookRecord, ...]:
    for i, h in enumerate(hooks):
        if (h.agent, h.path) == (rec.agent, rec.path):
            events = h.events + tuple(e for e in rec.events if e not in h.events)
            keys = h.added_keys + tuple(k for k in rec.added_keys if k not in h.added_keys)
            merged = replace(h, events=events, added_keys=keys, command=rec.command)
            return hooks[:i] + (merged,) + hooks[i + 1:]
    return hooks + (rec,)


def uninstall(env: Mapping[str, str], out: TextIO) -> int:
    from .installhooks import undo_flag, undo_hook
    say = out.write
    m = read_manifest(env)
    path = manifest_path(env)
    if m is None:
        say(f"nothing to uninstall: no manifest at {path}\n")
        return 0
    for link in m.links:
        if not os.path.lexists(link):
            say(f"shim: {link} already gone\n")
        elif os.path.islink(link) and points_at(link, m.gatesh):
            os.unlink(link)
            say(f"shim: removed {link}\n")
        else:
            say(f"shim: kept {link}: it no longer points at gatesh\n")
    if m.config_path:
        say(_undo_config(m.config_path, m.config_sha256 or ""))
    failed: list[HookRecord] = []
    backups: list[str] = []
    for rec in m.hooks:
        msg, bad, saved = undo_hook(rec)
        say(f"hook {rec.agent}: {msg}\n")
        if bad:
            failed.append(rec)
        if saved:
            backups.append(saved)
    for flag in m.flags:
        msg, _, saved = undo_flag(flag)
        say(f"codex: {msg}\n")
        if saved:
            backups.append(saved)
    kept = m.backups + tuple(backups)
    if kept:
        say("backups kept (delete them when you no longer need them):\n")
        say("".join(f"  {b}\n" for b in kept))
    if failed:
        write_manifest(env, Manifest(shim_dir=m.shim_dir, gatesh=m.gatesh, hooks=tuple(failed)))
        say("some entries could not be removed; fix the files above and run "
            "gatectl install --uninstall again\n")
        return 1
    os.unlink(path)
    say(f"removed {path}\n")
    for d in reversed(m.dirs):
        try:
            os.rmdir(d)
        except OSError:
            pass   # not empty, or already gone: not ours to force
    return 0


def _undo_config(path: str, sha: str) -> str:
    try:
        with open(path, "rb") as f:
            now = hashlib.sha256(f.read()).hexdigest()
    except FileNotFoundError:
        return f"config: {path} already gone\n"
    except OSError as e:
        return f"config: kept {path}: cannot read it ({e.strerror})\n"
    if now != sha:
        return f"config: kept {path}: you changed it since install\n"
    os.unlink(path)
    return f"config: removed {path}\n"

