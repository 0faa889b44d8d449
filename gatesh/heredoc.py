"""The heredoc pass (parsing.md C2, C3): bash's lexical structure, read before tree-sitter.

It bounds heredoc bodies by bash's rules and masks, byte for byte, what tree-sitter misreads.
"""

from __future__ import annotations

TYPE_CHECKING = False  # importing typing would cost start-up time on every gatesh -c
if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable

from gatesh.errors import Unparseable
from gatesh.model import Heredoc, Program

# gatesh.lexer is imported only where a scan is needed: most commands need none (start-up time).
__all__ = ["Prepared", "prepare", "find_subs", "unescape_backquoted"]

_BLANKS = bytes(b if b == 10 else 32 for b in range(256))  # translate table: all but \n -> ' '


class Prepared:
    """The masked source for tree-sitter, with what the masks stood for (keys are byte offsets)."""

    __slots__ = ("masked", "heredocs", "keywords", "coprocs", "negations", "rw")

    def __init__(self, masked: bytes, heredocs: dict[int, tuple[int, Heredoc]],
                 keywords: list[int], coprocs: dict[int, str], negations: dict[int, int],
                 rw: frozenset[int] = frozenset()) -> None:
        self.masked = masked
        self.rw = rw                  # offsets of `<>` operators, masked as `>>`
        self.heredocs = heredocs      # operator offset -> (end of the masked operator, heredoc)
        self.keywords = keywords      # offsets where a statement must start after a masked keyword
        self.coprocs = coprocs        # statement offset -> coproc name
        self.negations = negations    # statement offset -> number of masked `!`


def prepare(src: bytes, parse_sub: Callable[[str], Program],
            retry: bool = False) -> Prepared | None:
    """Mask heredocs (operator -> `<___`, body -> blanks) and misread keywords; None: no mask.

    retry, for a second try after tree-sitter failed: also write `;` for each newline that
    ends a command (it reads `a | b | c⏎d || e` as one pipeline) and `_` for the `{` of a
    brace expansion in command position (`{rm,-rf,/}` is an ERROR to it).
    """
    if not retry and b"<<" not in src and b"time" not in src and b"coproc" not in src \
            and b"!" not in src and b"`" not in src and b"<>" not in src:
        return None   # nothing to mask: skip the scan (most commands; speed)
    from gatesh.lexer import Lexer
    text = src.decode("latin-1")   # one char per byte, so offsets are byte offsets
    scan = Lexer(text)
    scan.cmd(0, False)
    if not scan.docs and not scan.masks and not scan.ticks and not scan.rw and \
            not (retry and (scan.ends or scan.braces)):
        return None
    out = bytearray(src)
    for i in scan.rw:
        out[i:i + 2] = b">>"
    for a, b in scan.ticks:
        out[a:b] = b"_" * (b - a)
    for i in scan.ends if retry else ():
        if i and src[i - 1] != 92:
            out[i] = 59  # ";"
    for i in scan.braces if retry else ():
        out[i] = 95  # "_": the word's value still comes from the source
    docs: dict[int, tuple[int, Heredoc]] = {}
    for op, end, delim, quoted, strip, body, term, term_end in scan.docs:
        out[op:end] = b"<" + b"_" * (end - op - 1)
        out[body:term_end] = out[body:term_end].translate(_BLANKS)
        raw = src[body:term].decode("utf-8", "surrogateescape")
        if strip:
            raw = "\n".join(line.lstrip("\t") for line in raw.split("\n"))
        subs = () if quoted else tuple(parse_sub(s) for s in find_subs(raw))
        name = delim.encode("latin-1").decode("utf-8", "surrogateescape")
        docs[op] = (end, Heredoc(name, quoted, strip, raw, subs))
    chain = dict(scan.masks)  # `! time x`: each mask's target may itself be masked

    def resolve(j: int) -> int:
        while j in chain:
            j = chain[j]
        return j

    negations: dict[int, int] = {}
    for j, count in scan.negations.items():
        negations[resolve(j)] = negations.get(resolve(j), 0) + count
    for a, b in scan.masks:
        out[a:b] = b" " * (b - a)
    return Prepared(bytes(out), docs, [resolve(j) for j in scan.keywords],
                    {resolve(j): name for j, name in scan.coprocs.items()}, negations,
                    frozenset(scan.rw))


def find_subs(text: str) -> list[str]:
    """The bodies of $( ) and backquote substitutions in text read as a heredoc body (C2)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
        elif c == "$" and text.startswith("$(", i) and not text.startswith("$((", i):
            from gatesh.lexer import scan_comsub
            end = scan_comsub(text, i + 2)
            out.append(text[i + 2:end - 1])
            i = end
        elif c == "`":
            j = i + 1
            while j < n and text[j] != "`":
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise Unparseable("unterminated backquote substitution")
            out.append(unescape_backquoted(text[i + 1:j]))
            i = j + 1
        else:
            i += 1
    return out


def unescape_backquoted(s: str, dq: bool = False) -> str:
    """Inside backquotes a backslash quotes only $ ` \\ (and \" within double quotes)."""
    if "\\" not in s:
        return s
    keep, out, i = "$`\\\"" if dq else "$`\\", [], 0
    while i < len(s):
        if s[i] == "\\" and s[i + 1:i + 2] in keep and i + 1 < len(s):
            i += 1
        out.append(s[i])
        i += 1
    return "".join(out)
