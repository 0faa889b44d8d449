"""Masking credentials in command text before it goes into the audit log.

mask() replaces the value of credential-looking assignments, options, URL passwords and HTTP
authorization headers with `***`, keeping the rest of the command readable:

    AWS_SECRET_ACCESS_KEY=abc aws s3 ls     ->  AWS_SECRET_ACCESS_KEY=*** aws s3 ls
    export GITHUB_TOKEN="ghp_x"             ->  export GITHUB_TOKEN=***
    curl -H 'Authorization: Bearer t' URL   ->  curl -H 'Authorization: Bearer ***' URL
    mysql -u root -p'pw' db                 ->  mysql -u root -p*** db
    git clone https://me:pw@host/r          ->  git clone https://me:***@host/r

It is a best effort on text (the log keeps what the agent typed, minus the obvious secrets),
not a guarantee: a secret in a file or a variable's expansion never reaches the log anyway,
because the gate records the command text and never the environment.
"""

from __future__ import annotations

import re

__all__ = ["MASK", "mask"]

MASK = "***"

# a shell word's value: single-quoted, double-quoted (with escapes) or unquoted run; not a
# bare $reference or $(...) (no secret in the text, and the log shows where it came from)
_VALUE = r"""(?!\$[({A-Za-z_])(?:'[^']*'|"(?:[^"\\]|\\.)*"|(?:[^\s;&|()<>'"\\]|\\.)+)+"""
# names whose value is a secret: ...PASSWORD..., ...SECRET..., ..._TOKEN, ..._API_KEY, MYSQL_PWD
_SECRET_NAME = (r"(?:[A-Za-z_][A-Za-z0-9_]*?)?(?:PASSWORD|PASSWD|PASSPHRASE|SECRET|APIKEY)"
                r"[A-Za-z0-9_]*"
                r"|[A-Za-z_][A-Za-z0-9_]*?(?:TOKEN|_PWD|_PASS|_KEY|_AUTH|_CREDENTIALS?)"
                r"|TOKEN|PASS|KEY|AUTH")
_OPTION_NAME = (r"(?!no-)(?:[a-z0-9]+-)*(?:password|passwd|passphrase|pass|secret|token"
                r"|api-?key|access-key|secret-key|private-key|client-secret|credentials?)")
_NO_VALUE = r"(?!-(?:file|path|stdin|env|fd|dir|prompt|command|cmd|helper|type)\b)"
_MYSQL = r"\b(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlshow|mysqlcheck|mariadb(?:-dump)?)\b"
# words that every maskable text contains one of (a cheap test before the regexes)
_HINTS = ("pass", "pwd", "secret", "token", "key", "auth", "cred", "://", "-p", "-u", "cookie")
_rules: list[tuple[re.Pattern[str], str]] = []


def _compile() -> list[tuple[re.Pattern[str], str]]:
    if not _rules:
        i = re.IGNORECASE
        _rules.extend([
            # NAME=value (assignment, export, env, docker -e, --build-arg)
            (re.compile(rf"(?<![A-Za-z0-9_$])((?:{_SECRET_NAME})=){_VALUE}", i), r"\1***"),
            # --password=value, --token value
            (re.compile(rf"(?<![\w-])(--{_OPTION_NAME}{_NO_VALUE})(=|\s+)(?!-){_VALUE}", i),
             r"\1\2***"),
            # scheme://user:password@host
            (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s/:@'\"]*:)[^\s/'\"]+(@)", i), r"\1***\2"),
            # Authorization: Bearer value; X-Api-Key: value; Cookie: ...
            (re.compile(r"(\b(?:proxy-)?authorization\s*:\s*(?:(?:bearer|basic|token|digest"
                        r"|negotiate|apikey)\s+)?)[^\s'\"]+", i), r"\1***"),
            (re.compile(r"(\b(?:x-)?(?:api-?key|auth-token|access-token|private-token"
                        r"|vault-token|cookie)\s*:\s*)[^'\"\n]+", i), r"\1***"),
            # curl -u user:password, sshpass -p password, mysql -pPASSWORD
            (re.compile(r"((?<!\S)(?:-u|--user)[\s=]*['\"]?[^\s:'\"]+:)[^\s'\"]+"), r"\1***"),
            (re.compile(rf"(\bsshpass\s+-p\s*){_VALUE}"), r"\1***"),
            (re.compile(rf"({_MYSQL}[^;&|\n]*?(?<!\S)-p){_VALUE}"), r"\1***"),
        ])
    return _rules


def mask(text: str) -> str:
    """text with credential values replaced by `***` (unchanged when nothing looks secret)."""
    if not text:
        return text
    low = text.lower()
    if not any(h in low for h in _HINTS):
        return text
    for pat, template in _compile():
        text = pat.sub(template, text)
    return text
