"""What `gatectl install` made, kept in `$XDG_CONFIG_HOME/gatesh/install.json`.

`--uninstall` removes exactly what this file lists and nothing else; `gatectl doctor` reads
it to find the shim directory.  The records are frozen dataclasses; the file is JSON.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

from .config import default_paths
from .errors import GateshError

__all__ = ["FlagRecord", "HookRecord", "Manifest", "manifest_path", "points_at",
           "read_manifest", "write_manifest", "write_atomic"]

VERSION = 1


@dataclass(frozen=True)
class HookRecord:
    """A hook entry gatesh added to an agent's settings file."""

    agent: str
    path: str
    command: str
    events: tuple[str, ...]          # the events where the entry was added (not found there)
    created_file: bool = False       # the file did not exist before
    added_keys: tuple[str, ...] = ()  # top-level keys gatesh added besides "hooks" (Cursor's version)


@dataclass(frozen=True)
class FlagRecord:
    """A `key = true` line gatesh put in a TOML file (Codex's feature flag)."""

    path: str
    table: str
    key: str
    action: str                      # appended_table | added_key | replaced
    line: str
    old: str = ""                    # the line it replaced
    created_file: bool = False


@dataclass(frozen=True)
class Manifest:
    shim_dir: str
    gatesh: str                      # what the links point at
    links: tuple[str, ...] = ()
    dirs: tuple[str, ...] = ()       # directories gatesh created, parents first
    config_path: str | None = None   # the config file, when gatesh wrote it
    config_sha256: str | None = None
    hooks: tuple[HookRecord, ...] = ()
    flags: tuple[FlagRecord, ...] = ()
    backups: tuple[str, ...] = ()    # copies of files as they were before gatesh changed them
    version: int = field(default=VERSION)


def manifest_path(env: Mapping[str, str]) -> str:
    return os.path.join(default_paths(env)["config_dir"], "install.json")


def _bad(path: str, what: str) -> GateshError:
    return GateshError(f"{path}: {what}; move it aside and run gatectl install again "
                       "(uninstall then cannot know what the earlier install made)")


def read_manifest(env: Mapping[str, str]) -> Manifest | None:
    """The manifest, or None when gatesh was never installed here; GateshError when damaged."""
    path = manifest_path(env)
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise GateshError(f"cannot read {path}: {e.strerror}; check its permissions") from None
    except ValueError:
        raise _bad(path, "not valid JSON") from None
    try:
        if not isinstance(raw, dict) or raw.get("version") != VERSION:
            raise TypeError("unknown version")
        hooks = tuple(HookRecord(**{**h, "events": tuple(h["events"]),
                                    "added_keys": tuple(h.get("added_keys", ()))})
                      for h in raw.get("hooks", ()))
        flags = tuple(FlagRecord(**f) for f in raw.get("flags", ()))
        return Manifest(shim_dir=str(raw["shim_dir"]), gatesh=str(raw["gatesh"]),
                        links=tuple(raw.get("links", ())), dirs=tuple(raw.get("dirs", ())),
                        config_path=raw.get("config_path"),
                        config_sha256=raw.get("config_sha256"), hooks=hooks, flags=flags,
                        backups=tuple(raw.get("backups", ())))
    except (TypeError, KeyError, ValueError) as e:
        raise _bad(path, f"not a gatesh install manifest ({e})") from None


def points_at(link: str, target: str) -> bool:
    """link leads to target: its text names it, or both resolve to the same file (link may
    also be a plain path)."""
    try:
        if os.readlink(link) == target:
            return True
    except OSError:
        pass
    return os.path.realpath(link) == os.path.realpath(target)


def write_atomic(path: str, data: bytes, mode: int = 0o644) -> None:
    """Replace the file path points at (a link's target, not the link) in one rename."""
    real = os.path.realpath(path)
    d = os.path.dirname(real)
    os.makedirs(d, exist_ok=True)
    try:
        mode = os.stat(real).st_mode & 0o7777
    except FileNotFoundError:
        pass
    tmp = os.path.join(d, f".{os.path.basename(real)}.gatesh-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, real)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_manifest(env: Mapping[str, str], m: Manifest) -> str:
    path = manifest_path(env)
    body = json.dumps(asdict(m), indent=2, ensure_ascii=False) + "\n"
    write_atomic(path, body.encode("utf-8"), 0o600)
    return path
