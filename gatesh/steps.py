"""What peeling a wrapper command yields (Step), and the helpers every peeler shares.

gatesh.wrappers re-exports Step, skip_options and UNKNOWN_INPUT: other modules import them there.
"""

from __future__ import annotations

from .model import Assign, Part, PartKind, Word

__all__ = ["Step", "UNKNOWN_INPUT", "skip_options", "join_code", "code_kw"]

# Stands for words the gate cannot see (xargs input, find's {}): rules treat it as unknown.
UNKNOWN_INPUT = Word("{input}", (Part(PartKind.OTHER, "{input}"),))


class Step:
    __slots__ = ("label", "note", "argv", "assigns", "code", "lang", "stdin_code", "opaque",
                 "opaque_rule", "remote", "keep_redirects", "keep_stdin", "extra", "script",
                 "params")

    def __init__(self, label: str, *, note: str = "", argv: tuple[Word, ...] = (),
                 assigns: tuple[Assign, ...] = (), code: str | None = None, lang: str = "sh",
                 stdin_code: bool = False, opaque: str = "", opaque_rule: str = "opaque_payload",
                 remote: str | None = None, keep_redirects: bool = True, keep_stdin: bool = True,
                 extra: tuple[Word, ...] | None = None, script: str | None = None,
                 params: tuple[Word, ...] | None = None) -> None:
        self.label, self.note, self.argv, self.assigns = label, note, argv, assigns
        self.code, self.lang, self.stdin_code = code, lang, stdin_code
        self.opaque, self.opaque_rule, self.remote = opaque, opaque_rule, remote
        self.keep_redirects, self.keep_stdin, self.extra = keep_redirects, keep_stdin, extra
        self.script = script
        self.params = params   # `sh -c CODE NAME ARGS`: $0 $1 ... of the code


def skip_options(args: tuple[Word, ...], short_val: str = "", long_val: tuple[str, ...] = (),
                 stop_at_operand: bool = True) -> tuple[int, dict[str, str | None]]:
    """Index of the first operand after options, and the options seen (value or None).

    short_val: short options that take a value; long_val: long options that take one.
    An option word whose text is unknown ends the options (it may be anything).
    """
    seen: dict[str, str | None] = {}
    i = 0
    while i < len(args):
        v = args[i].value
        if v is None:
            return i, seen
        if v == "--":
            return i + 1, seen
        if v.startswith("--") and len(v) > 2:
            key, eq, val = v.partition("=")
            if eq:
                seen[key] = val
            elif key in long_val and i + 1 < len(args):
                seen[key] = args[i + 1].value
                i += 1
            else:
                seen[key] = None
            i += 1
            continue
        if v.startswith("-") and len(v) > 1:
            j = 1
            while j < len(v):
                ch = v[j]
                if ch in short_val:
                    rest = v[j + 1:]
                    if rest:
                        seen["-" + ch] = rest
                    elif i + 1 < len(args):
                        seen["-" + ch] = args[i + 1].value
                        i += 1
                    else:
                        seen["-" + ch] = None
                    break
                seen["-" + ch] = None
                j += 1
            i += 1
            continue
        if stop_at_operand:
            return i, seen
        i += 1
    return i, seen


def _text(argv: tuple[Word, ...]) -> str:
    return " ".join(w.text for w in argv)


def join_code(words: tuple[Word, ...], label: str) -> Step:
    """A Step running the words joined as shell code, or opaque when some are unknown."""
    vals = [w.value for w in words]
    if any(v is None for v in vals):
        return Step(label, opaque=f"{label} runs code built at run time ({_text(words)})",
                    opaque_rule="opaque_code")
    return Step(label, code=" ".join(v for v in vals if v is not None))


def code_kw(words: tuple[Word, ...], label: str) -> dict[str, object]:
    """join_code's result as Step keyword arguments: code, or opaque and its rule."""
    step = join_code(words, label)
    if step.opaque:
        return {"opaque": step.opaque, "opaque_rule": step.opaque_rule}
    return {"code": step.code}
