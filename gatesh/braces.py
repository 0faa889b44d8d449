"""Brace expansion as bash 5.2 does it, over the tokens gatesh.words lexes from a word.

gatesh.words imports it on the first word that may expand: `{` with `,` or `..` (start-up time).
"""

from __future__ import annotations

from gatesh.errors import Unparseable

TYPE_CHECKING = False  # importing typing would cost start-up time on every gatesh -c
if TYPE_CHECKING:  # pragma: no cover
    from gatesh.words import Token

__all__ = ["expand"]

_MAX_WORDS = 4096


def expand(toks: list[Token], count: list[int]) -> list[list[Token]]:
    """Brace expansion over unquoted characters, leftmost first, nested, with sequences.

    As bash 5.2 does, a `}` closes the outer brace only after a comma or a valid sequence
    (`{a},}` gives a}), and `{}` opening a word is never an expansion.
    """
    for i, tk in enumerate(toks):
        if tk != "{" or (i == 0 and toks[1:2] == ["}"]):
            continue
        commas: list[int] = []
        depth, seq, j = 1, None, i + 1
        while j < len(toks):
            x = toks[j]
            if x == "{":
                depth += 1
            elif x == "}" and depth > 1:
                depth -= 1
            elif x == "}" and (commas or (seq := _sequence(toks[i + 1:j])) is not None):
                break
            elif x == "," and depth == 1:
                commas.append(j)
            j += 1
        else:
            continue
        if commas:
            bounds = [i, *commas, j]
            alts = [toks[a + 1:b] for a, b in zip(bounds, bounds[1:])]
        else:
            alts = [list(v) for v in seq or ()]
        head, tail, result = toks[:i], toks[j + 1:], []
        for alt in alts:
            for r in expand(alt + tail, count):
                result.append(head + r)
        count[0] += len(result)
        if count[0] > _MAX_WORDS:
            raise Unparseable("brace expansion makes too many words")
        return result
    return [toks]


def _sequence(toks: list[Token]) -> list[str] | None:
    """{x..y[..step]} over integers or single characters, as bash expands it."""
    chars = [x for x in toks if isinstance(x, str)]
    if len(chars) != len(toks):
        return None
    bits = "".join(chars).split("..")
    if len(bits) not in (2, 3):
        return None
    try:
        step = abs(int(bits[2])) if len(bits) == 3 else 1
    except ValueError:
        return None
    step = step or 1
    a, b = bits[0], bits[1]
    if _is_int(a) and _is_int(b):
        x, y = int(a), int(b)
        if abs(y - x) // step > _MAX_WORDS:
            raise Unparseable("brace expansion makes too many words")
        pad = max(len(a), len(b)) if (a.lstrip("-")[:1] == "0" and len(a.lstrip("-")) > 1) or \
            (b.lstrip("-")[:1] == "0" and len(b.lstrip("-")) > 1) else 0
        rng = range(x, y + 1, step) if x <= y else range(x, y - 1, -step)
        return [f"{v:0{pad}d}" if pad else str(v) for v in rng]
    if len(a) == 1 and len(b) == 1 and a.isascii() and b.isascii() and a.isalpha() and b.isalpha():
        x, y = ord(a), ord(b)
        rng = range(x, y + 1, step) if x <= y else range(x, y - 1, -step)
        return [chr(v) for v in rng]
    return None


def _is_int(s: str) -> bool:
    return s.lstrip("-").isdigit() and s.count("-") <= 1 and s.isascii() and s[:1] != "+"
