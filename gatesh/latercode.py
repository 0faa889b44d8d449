"""Code a command leaves for bash to run later: traps, PROMPT_COMMAND, prompt strings.

`trap 'rm -rf ~' EXIT` runs its string when the shell exits; `PROMPT_COMMAND=...` runs at
every prompt of an interactive shell; `PS1='$(...)'` runs its command substitutions each time
the prompt is shown.  The gate reads such strings as the shell code they are, as it reads
`eval` and `bash -c`, so setting them up is judged by what they will run.
"""

from __future__ import annotations

from collections.abc import Iterable

from .errors import Unparseable
from .model import Assign, Word
from .steps import Step, join_code

__all__ = ["DECLARERS", "assigned_code", "declared_code", "trap_code"]

_PROMPTS = frozenset(("PS0", "PS1", "PS2", "PS3", "PS4"))
DECLARERS = ("export", "declare", "typeset", "local", "readonly")   # declared_code reads


def _prompt_subs(value: str) -> str | None:
    """The command substitutions in a prompt string, as code (the rest is text)."""
    if "$(" not in value and "`" not in value:
        return None
    from .heredoc import find_subs
    try:
        subs = find_subs(value)
    except Unparseable:
        return value   # cannot tell what runs: the whole string is judged as code
    return "\n".join(subs) or None


def _one(name: str, value: Word | None, items: tuple[Word, ...] = ()) -> Step | str | None:
    if name == "PROMPT_COMMAND":
        words = items if value is None else (value,)
        if any(w.value is None for w in words):
            return join_code(words, "PROMPT_COMMAND")   # built at run time: opaque
        return "\n".join(w.value or "" for w in words) or None
    if name in _PROMPTS and value is not None and value.value is not None:
        return _prompt_subs(value.value)
    return None


def _combine(found: Iterable[Step | str | None]) -> Step | None:
    codes: list[str] = []
    for f in found:
        if isinstance(f, Step):
            if f.opaque:
                return f
            if f.code:
                codes.append(f.code)
        elif f:
            codes.append(f)
    return Step("runs later", code="\n".join(codes)) if codes else None


def assigned_code(assigns: tuple[Assign, ...]) -> Step | None:
    """`PROMPT_COMMAND=...` and `PS1=...` written as assignments."""
    return _combine(_one(a.name, a.value, a.items) for a in assigns
                    if a.name == "PROMPT_COMMAND" or a.name in _PROMPTS)


def declared_code(argv: tuple[Word, ...]) -> Step | None:
    """`export PROMPT_COMMAND=...` and the like (export, declare, typeset, local, readonly)."""
    found: list[Step | str | None] = []
    for w in argv[1:]:
        text = w.value if w.value is not None else w.text
        name, eq, rest = text.partition("=")
        if not eq or (name != "PROMPT_COMMAND" and name not in _PROMPTS):
            continue
        if w.value is None:
            if name == "PROMPT_COMMAND":
                return Step(argv[0].text, opaque="PROMPT_COMMAND is set to code built at run "
                            f"time ({w.text})", opaque_rule="opaque_code")
            continue
        found.append(rest if name == "PROMPT_COMMAND" else _prompt_subs(rest))
    return _combine(found)


def trap_code(argv: tuple[Word, ...]) -> Step | None:
    """`trap 'CODE' SIGNAL...`: the code a signal or exit will run."""
    rest = argv[1:]
    if rest and rest[0].value == "--":
        rest = rest[1:]
    if len(rest) < 2 or (rest[0].value or "").startswith("-"):
        return None   # trap -p, trap -l, trap - SIG (reset), trap SIG (reset)
    if rest[0].value == "":
        return None   # trap '' SIG: ignore the signal
    return join_code(rest[:1], "trap")
