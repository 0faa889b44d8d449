"""Where gatesh keeps things, and the config file that says how it behaves.

The file is the source of truth (harnesses clear or rewrite the environment); GATESH_MODE
overrides the mode, GATESH_CONFIG the file's path.  A file that does not validate raises
ConfigError, and the gate blocks.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from .errors import ConfigError
from .record import Record

__all__ = ["MODES", "Config", "load", "find_bash", "default_paths"]

MODES = ("enforce", "dry-run", "no-human")
AUDIT_MAX_BYTES = 10 << 20
_BASH_CANDIDATES = ("/usr/bin/bash", "/bin/bash", "/usr/local/bin/bash", "/opt/homebrew/bin/bash")
_KNOWN = {
    "mode": str, "bash": str, "approval": dict, "audit": dict, "rules": dict,
}
_KNOWN_SECTIONS = {
    "approval": {"timeout": (int, float), "wait_for_approver": (int, float)},
    "audit": {"path": str, "max_bytes": int, "syslog": (bool, str)},
    "rules": {"disable": list},
}


class Config(Record):
    """Everything the gate needs to know about where things are and how to behave."""

    __slots__ = ()
    _fields = ("mode", "bash", "approval_timeout", "wait_for_approver", "path", "home",
               "config_dir", "state_dir", "runtime_dir", "audit_path", "user_rules_dir",
               "disabled_rules", "cache_dir", "audit_max_bytes", "audit_syslog")
    mode: str
    bash: str
    approval_timeout: float
    wait_for_approver: float
    path: str                    # the config file (it may not exist)
    home: str
    config_dir: str              # $XDG_CONFIG_HOME/gatesh
    state_dir: str               # $XDG_STATE_HOME/gatesh
    runtime_dir: str             # $XDG_RUNTIME_DIR/gatesh or /tmp/gatesh-$UID
    audit_path: str
    user_rules_dir: str
    disabled_rules: tuple[str, ...]
    cache_dir: str               # $XDG_CACHE_HOME/gatesh: validated rule packs
    audit_max_bytes: int         # rotate the audit log past this size (0: never)
    audit_syslog: str | bool     # [audit] syslog: also send records there (False: off)

    def __new__(cls, mode: str, bash: str, approval_timeout: float, wait_for_approver: float,
                path: str, home: str, config_dir: str, state_dir: str, runtime_dir: str,
                audit_path: str, user_rules_dir: str,
                disabled_rules: tuple[str, ...] = (), cache_dir: str = "",
                audit_max_bytes: int = AUDIT_MAX_BYTES,
                audit_syslog: str | bool = False) -> Config:
        return tuple.__new__(cls, (mode, bash, approval_timeout, wait_for_approver, path, home,
                                   config_dir, state_dir, runtime_dir, audit_path,
                                   user_rules_dir, disabled_rules, cache_dir,
                                   audit_max_bytes, audit_syslog))


def default_paths(env: Mapping[str, str]) -> dict[str, str]:
    home = env.get("HOME") or os.path.expanduser("~")
    cfg = env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    state = env.get("XDG_STATE_HOME") or os.path.join(home, ".local", "state")
    run = env.get("XDG_RUNTIME_DIR")
    runtime = os.path.join(run, "gatesh") if run else f"/tmp/gatesh-{os.getuid()}"
    cache = env.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")
    return {
        "home": home,
        "cache_dir": os.path.join(cache, "gatesh"),
        "config_dir": os.path.join(cfg, "gatesh"),
        "state_dir": os.path.join(state, "gatesh"),
        "runtime_dir": runtime,
    }


def _is_gatesh(path: str) -> bool:
    """True when path is (a link to) gatesh itself: exec'ing it would loop."""
    try:
        real = os.path.realpath(path)
        with open(real, "rb") as f:
            head = f.read(512)
    except OSError:
        return True
    return head.startswith(b"#!") and b"gatesh" in head


def find_bash(env: Mapping[str, str]) -> str:
    """The real bash: fixed locations first, then PATH, never gatesh or one of its shims."""
    seen: list[str] = list(_BASH_CANDIDATES)
    for d in env.get("PATH", "").split(os.pathsep):
        if d:
            seen.append(os.path.join(d, "bash"))
    for cand in seen:
        if os.path.isfile(cand) and os.access(cand, os.X_OK) and not _is_gatesh(cand):
            return cand
    raise ConfigError("bash", None, "no real bash found in /usr/bin, /bin or PATH; "
                      "set bash = \"/path/to/bash\" in the config")


def _line_of(text: str, key: str) -> int | None:
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip().startswith(key):
            return n
    return None


def _toml_error_line(err: Exception) -> int | None:
    msg = str(err)
    i = msg.find("at line ")
    if i < 0:
        return None
    digits = "".join(ch for ch in msg[i + 8:i + 16] if ch.isdigit() or ch == ",").split(",")[0]
    return int(digits) if digits else None


def _read(path: str) -> tuple[dict[str, object], str]:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return {}, ""
    except OSError as e:
        raise ConfigError(path, None, f"cannot read: {e.strerror}") from None
    import tomllib  # only when a file exists: keeps the common start-up lean

    text = raw.decode("utf-8", "replace")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        first = str(e).split(" (at line")[0]
        raise ConfigError(path, _toml_error_line(e), f"not valid TOML: {first}") from None
    return data, text


def _validate(path: str, data: dict[str, object], text: str) -> None:
    for key, value in data.items():
        want = _KNOWN.get(key)
        if want is None:
            raise ConfigError(path, _line_of(text, key), f"unknown setting {key!r}")
        if not isinstance(value, want):
            raise ConfigError(path, _line_of(text, key), f"{key} must be a {want.__name__}")
        if isinstance(value, dict):
            allowed = _KNOWN_SECTIONS[key]
            for sub, subval in value.items():
                kind = allowed.get(sub)
                if kind is None:
                    raise ConfigError(path, _line_of(text, sub), f"unknown setting {key}.{sub}")
                bool_ok = isinstance(kind, tuple) and bool in kind
                if not isinstance(subval, kind) or (isinstance(subval, bool) and not bool_ok):
                    raise ConfigError(path, _line_of(text, sub), f"{key}.{sub} has the wrong type")


def load(env: Mapping[str, str] | None = None) -> Config:
    """Read the config file and the environment; raise ConfigError when either is bad."""
    env = os.environ if env is None else env
    paths = default_paths(env)
    path = env.get("GATESH_CONFIG") or os.path.join(paths["config_dir"], "config.toml")
    data, text = _read(path)
    _validate(path, data, text)
    mode = str(data.get("mode", "enforce"))
    if mode not in MODES:
        raise ConfigError(path, _line_of(text, "mode"),
                          f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    env_mode = env.get("GATESH_MODE")
    if env_mode:
        if env_mode not in MODES:
            raise ConfigError("GATESH_MODE", None,
                              f"must be one of {', '.join(MODES)}, not {env_mode!r}")
        mode = env_mode
    bash = data.get("bash")
    if isinstance(bash, str):
        if not os.path.isabs(bash) or not os.access(bash, os.X_OK) or _is_gatesh(bash):
            raise ConfigError(path, _line_of(text, "bash"),
                              f"bash = {bash!r} is not an executable real bash")
    else:
        bash = find_bash(env)
    approval = data.get("approval") or {}
    audit = data.get("audit") or {}
    rules = data.get("rules") or {}
    assert isinstance(approval, dict) and isinstance(audit, dict) and isinstance(rules, dict)
    timeout = float(approval.get("timeout", 90))
    if not 1 <= timeout <= 3600:
        raise ConfigError(path, _line_of(text, "timeout"), "approval.timeout must be 1..3600 s")
    audit_path = str(audit.get("path") or os.path.join(paths["state_dir"], "audit.jsonl"))
    max_bytes = int(audit.get("max_bytes", AUDIT_MAX_BYTES))
    if max_bytes != 0 and max_bytes < 1024:
        raise ConfigError(path, _line_of(text, "max_bytes"),
                          "audit.max_bytes must be 0 (never rotate) or at least 1024")
    syslog = audit.get("syslog", False)
    if syslog is not False:
        from .auditexport import target_of
        try:
            target_of(syslog)  # type: ignore[arg-type]
        except ValueError as e:
            raise ConfigError(path, _line_of(text, "syslog"), f"audit.{e}") from None
    return Config(
        mode=mode,
        bash=bash,
        approval_timeout=timeout,
        wait_for_approver=float(approval.get("wait_for_approver", 0)),
        path=path,
        home=paths["home"],
        config_dir=paths["config_dir"],
        state_dir=paths["state_dir"],
        runtime_dir=paths["runtime_dir"],
        audit_path=audit_path,
        user_rules_dir=os.path.join(paths["config_dir"], "rules"),
        disabled_rules=tuple(str(r) for r in rules.get("disable", [])),
        cache_dir=paths["cache_dir"],
        audit_max_bytes=max_bytes,
        audit_syslog=syslog,  # type: ignore[arg-type]
    )
