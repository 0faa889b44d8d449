"""Interpreters run with code on their command line: python -c, node -e, perl -e, awk, ...

Imported on first use by gatesh.wrappers: few commands need it (start-up time).
"""

from __future__ import annotations

from .model import Word
from .steps import Step, skip_options

__all__ = ["interpreter", "awk"]


def interpreter(lang: str, flags: tuple[str, ...], argv: tuple[Word, ...]) -> Step | None:
    """python -c CODE, node -e/-p/--eval CODE, perl -e, ruby -e, php -r: also -vc, -c'x'."""
    shorts = "".join(f[1] for f in flags if len(f) == 2)
    longs = tuple(f for f in flags if f.startswith("--"))
    rest = argv[1:]
    label = argv[0].text
    for k, w in enumerate(rest):
        v = w.value
        if v is None:
            return None
        if v.startswith("--"):
            key, eq, val = v.partition("=")
            if key in longs:
                code = val if eq else (rest[k + 1].value if k + 1 < len(rest) else None)
                if code is None:
                    return Step(f"{label} {key}", opaque=f"{label} runs code built at run "
                                "time", opaque_rule="opaque_code")
                return Step(f"{label} {key}", code=code, lang=lang)
            continue
        if v == "-":
            return Step(label, stdin_code=True, lang=lang)
        if not v.startswith("-"):
            return None  # a script file or module: not read here
        for j, ch in enumerate(v[1:], 1):
            if ch in shorts:
                tail = v[j + 1:]
                if tail and all(c.isalpha() for c in tail) and len(tail) <= 3 and (
                        tail[-1] in shorts):
                    continue  # node -pe CODE: flags together, the code is the next word
                code = tail or (rest[k + 1].value if k + 1 < len(rest) else None)
                if code is None:
                    return Step(f"{label} -{ch}", opaque=f"{label} runs code built at "
                                "run time", opaque_rule="opaque_code")
                return Step(f"{label} -{ch}", code=code, lang=lang)
            if lang == "python" and ch in "mWX":
                return None if ch == "m" else None
    return Step(label, stdin_code=True, lang=lang)


def awk(argv: tuple[Word, ...]) -> Step | None:
    """awk PROGRAM: system(), "cmd" | getline and print | "cmd" run shell commands."""
    rest = argv[1:]
    i, seen = skip_options(rest, "fvF", ("--file", "--assign", "--field-separator"))
    if "-f" in seen or "--file" in seen or i >= len(rest):
        return None
    prog = rest[i].value
    if prog is None:
        return Step("awk", opaque="awk runs a program built at run time", opaque_rule="opaque_code")
    return Step("awk", code=prog, lang="awk")
