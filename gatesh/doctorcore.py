"""The checks of `gatectl doctor` about gatesh's own set-up: bash, config, mode, rules.

Each function takes the loaded config (or the defaults, when the config does not load) and
returns Check results; none raises for a broken setup, since reporting it is the point.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from .config import Config, default_paths, find_bash, load
from .doctor import FAIL, OK, WARN, Check
from .errors import ConfigError, GateshError, RuleFileError

__all__ = ["check_bash", "check_config", "check_mode", "check_rules", "load_config"]

_BLOCKS = "gatesh blocks every command until then"


def load_config(env: Mapping[str, str]) -> tuple[Config, ConfigError | None]:
    """The config, or the defaults and the error when the file (or GATESH_MODE) is bad."""
    try:
        return load(env), None
    except ConfigError as e:
        err = e
    paths = default_paths(env)
    try:
        bash = find_bash(env)
    except ConfigError:
        bash = ""
    cfg = Config(mode="enforce", bash=bash, approval_timeout=90.0, wait_for_approver=0.0,
                 path=env.get("GATESH_CONFIG") or os.path.join(paths["config_dir"], "config.toml"),
                 home=paths["home"], config_dir=paths["config_dir"], state_dir=paths["state_dir"],
                 runtime_dir=paths["runtime_dir"],
                 audit_path=os.path.join(paths["state_dir"], "audit.jsonl"),
                 user_rules_dir=os.path.join(paths["config_dir"], "rules"),
                 cache_dir=paths["cache_dir"])
    return cfg, err


def _configured_bash(path: str) -> bool:
    """True when the config file itself names the bash (rather than it being searched for)."""
    import tomllib
    try:
        with open(path, "rb") as f:
            return "bash" in tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError):
        return False


def _bash_version(bash: str) -> str | None:
    """The first line of `bash --version` when it is GNU bash, else None."""
    import subprocess
    try:
        r = subprocess.run([bash, "--version"], stdin=subprocess.DEVNULL, capture_output=True,
                           check=False, timeout=5, env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"})
    except (OSError, subprocess.SubprocessError):
        return None
    first = r.stdout.decode("utf-8", "replace").splitlines()[:1]
    return first[0].strip() if first and first[0].startswith("GNU bash") else None


def check_bash(cfg: Config, cfg_error: ConfigError | None,
               env: Mapping[str, str]) -> list[Check]:
    """The real bash gatesh will exec: it exists, runs, is GNU bash, and is not gatesh."""
    from .config import _is_gatesh
    if cfg_error is not None:
        without = f" (without it: {cfg.bash})" if cfg.bash else ""
        return [Check("bash", WARN, "cannot tell which bash gatesh will exec: the config does "
                      f"not load{without}", "fix the config (see below)")]
    bash = cfg.bash
    named = _configured_bash(cfg.path)
    where = f"set in {cfg.path}" if named else "found in /usr/bin, /bin or PATH"
    fix = (f"set bash = \"/path/to/real/bash\" in {cfg.path} (for example /usr/bin/bash)")
    if not os.path.isfile(bash) or not os.access(bash, os.X_OK):
        return [Check("bash", FAIL, f"{bash} ({where}) is not an executable file", fix)]
    if _is_gatesh(bash):
        return [Check("bash", FAIL, f"{bash} ({where}) is gatesh or one of its shims: exec'ing "
                      "it would loop", fix)]
    version = _bash_version(bash)
    if version is None:
        return [Check("bash", FAIL, f"{bash} ({where}) does not say it is GNU bash when run "
                      "with --version", fix)]
    return [Check("bash", OK, f"{bash} ({where}): {version}")]


def check_config(cfg: Config, cfg_error: ConfigError | None,
                 env: Mapping[str, str]) -> list[Check]:
    """The config file parses and validates; an absent file is fine (defaults) but said."""
    if cfg_error is not None:
        e = cfg_error
        where = f"{e.path}:{e.line}" if e.line else e.path
        if e.path == "GATESH_MODE":
            fix = "unset GATESH_MODE or set it to enforce, dry-run or no-human"
        elif e.line:
            fix = f"fix line {e.line} of {e.path}; {_BLOCKS}"
        else:
            fix = f"fix {e.path}; {_BLOCKS}"
        return [Check("config", FAIL, f"{where}: {e.message}", fix)]
    via = " (from GATESH_CONFIG)" if env.get("GATESH_CONFIG") else ""
    timeout = f"approval timeout {cfg.approval_timeout:g} s"
    if not os.path.exists(cfg.path):
        return [Check("config", OK, f"no config file at {cfg.path}{via}: the defaults apply "
                      f"(mode enforce, {timeout}, bash found at start)")]
    return [Check("config", OK, f"{cfg.path}{via} loads: mode {cfg.mode}, {timeout}")]


def check_mode(cfg: Config, cfg_error: ConfigError | None,
               env: Mapping[str, str]) -> list[Check]:
    """enforce and no-human are fine; dry-run gates nothing, so it is a warning."""
    if cfg_error is not None:
        return []  # the config check already says gatesh blocks everything
    from_env = bool(env.get("GATESH_MODE"))
    via = " (from GATESH_MODE, which overrides the config)" if from_env else ""
    if cfg.mode == "dry-run":
        fix = ("unset GATESH_MODE" if from_env
               else f"set mode = \"enforce\" in {cfg.path} when you are done trying gatesh out")
        return [Check("mode", WARN, f"dry-run{via}: every command runs; what would have been "
                      "asked or denied is only logged", fix)]
    if cfg.mode == "no-human":
        return [Check("mode", OK, f"no-human{via}: every command that would ask is blocked at "
                      "once (for unattended runs)")]
    return [Check("mode", OK, f"enforce{via}: risky commands wait for a human in gatectl "
                  "approve")]


def _rule_files(d: str) -> list[str]:
    try:
        return sorted(os.path.join(d, n) for n in os.listdir(d) if n.endswith(".toml"))
    except OSError:
        return []


def check_rules(cfg: Config, cwd: str, env: Mapping[str, str]) -> list[Check]:
    """Every built-in, user and project rule file loads; the set as a whole loads too."""
    from .context import Context
    from .rules import builtin_dir, load_file, load_ruleset
    root = Context(cwd, cfg.home, dict(env)).project_root
    project_dir = os.path.join(root, ".gatesh", "rules")
    fixes = {"builtin": "reinstall gatesh (pip install --force-reinstall gatesh): a built-in "
                        "rule pack is damaged",
             "user": f"fix or remove the file; {_BLOCKS}",
             "project": f"fix the project's rule file (or ask its owner); {_BLOCKS}"}
    out: list[Check] = []
    count = 0
    for d, origin in ((builtin_dir(), "builtin"), (cfg.user_rules_dir, "user"),
                      (project_dir, "project")):
        for path in _rule_files(d):
            try:
                rules, _tools = load_file(path, origin)
                count += len(rules)
            except RuleFileError as e:
                where = f"{e.path}:{e.line}" if e.line else e.path
                rid = f" (rule {e.rule_id})" if e.rule_id else ""
                out.append(Check("rules", FAIL, f"{where}{rid}: {e.message}", fixes[origin]))
    if out:
        return out
    try:
        rs = load_ruleset(cfg.user_rules_dir, root, cfg.disabled_rules)
    except GateshError as e:
        return [Check("rules", FAIL, f"the rules do not load together: {e}", fixes["user"])]
    known = _all_ids(cfg, root) if cfg.disabled_rules else set()
    for p in rs.problems:
        out.append(Check("rules", WARN, p, "remove the ignored rule from the project's file"))
    for rid in cfg.disabled_rules:
        if rid not in known:
            out.append(Check("rules", WARN, f"rules.disable names {rid}, which no loaded rule "
                             "has", f"correct or remove {rid} in {cfg.path} (gatectl rules "
                             "list shows the ids)"))
    user_n = len(_rule_files(cfg.user_rules_dir))
    proj_n = len(_rule_files(project_dir))
    out.insert(0, Check("rules", OK, f"{len(rs.rules)} rules load ({user_n} user file"
                        f"{'s' * (user_n != 1)}, {proj_n} project file{'s' * (proj_n != 1)}"
                        f"{', ' + str(len(cfg.disabled_rules)) + ' disabled' if cfg.disabled_rules else ''})"))
    return out


def _all_ids(cfg: Config, root: str) -> set[str]:
    """Every rule id, disabled or not: to tell a typo in rules.disable from a disabled rule."""
    from .rules import load_ruleset
    try:
        return {r.id for r in load_ruleset(cfg.user_rules_dir, root, ()).rules}
    except GateshError:
        return set()
