"""Errors that reach the user as one line, and the exit statuses of both programs."""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "ExitStatus", "GateshError", "ConfigError", "RuleFileError", "Unparseable",
    "AuditUnwritable", "UsageError",
]


class ExitStatus(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    BLOCKED = 126          # bash's "found but could not execute"
    INTERRUPTED = 130      # 128 + SIGINT


class GateshError(Exception):
    """Base of every error gatesh reports; str() is one line: what happened, what to do."""

    reason = "error"


class UsageError(GateshError):
    reason = "usage"


class ConfigError(GateshError):
    """A config file that cannot be read or does not validate."""

    reason = "bad_config"

    def __init__(self, path: str, line: int | None, message: str) -> None:
        self.path, self.line, self.message = path, line, message
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {message}; fix the file (gatesh blocks every command until then)")


class RuleFileError(GateshError):
    """A rule file that cannot be read or does not validate."""

    reason = "bad_rules"

    def __init__(self, path: str, line: int | None, message: str, rule_id: str = "") -> None:
        self.path, self.line, self.message, self.rule_id = path, line, message, rule_id
        where = f"{path}:{line}" if line else path
        rid = f" (rule {rule_id})" if rule_id else ""
        super().__init__(f"{where}{rid}: {message}; fix the rule file "
                         "(gatesh blocks every command until then)")


class Unparseable(GateshError):
    """The command cannot be parsed with confidence; it is never allowed."""

    reason = "unparseable"


class UnterminatedHeredoc(Unparseable):
    """A here-document whose delimiter line never comes (bash ends it at the end of the text)."""

    def __init__(self, delim: str) -> None:
        super().__init__(f"here-document without its terminator {delim!r}")
        self.delim = delim


class AuditUnwritable(GateshError):
    reason = "audit_unwritable"
