"""What the lexer marks for the heredoc pass: heredoc operators and bodies, misread keywords.

gatesh.lexer imports it on the first `<<`, time, coproc or `!` it meets (start-up time).
"""

from __future__ import annotations

from gatesh.errors import Unparseable, UnterminatedHeredoc
from gatesh.lexer import META

TYPE_CHECKING = False  # importing typing would cost start-up time on every gatesh -c
if TYPE_CHECKING:  # pragma: no cover
    from gatesh.lexer import Lexer

__all__ = ["keyword", "operator", "bodies"]

_COMPOUND = ("{", "(", "while", "until", "for", "select", "if", "case", "[[")


def keyword(lx: Lexer, w: str, start: int, i: int) -> int:
    """Mask `time [-p] [--]`, `coproc [NAME]` and `!`: tree-sitter misreads them before `{`."""
    t, n = lx.t, lx.n
    j = i
    while j < n and t[j] in " \t":
        j += 1
    if w == "time" and (j >= n or t[j] in "\n#"):
        lx.masks.append((start, i))  # a bare `time` times nothing: no command runs
        return i
    if j == i or j >= n or t[j] in "\n;&|)":
        return i
    if w == "!":  # tree-sitter misreads `! {`: negations are kept here instead
        lx.negations[j] = lx.negations.get(j, 0) + 1
    elif w == "time":
        for opt in ("-p", "--"):
            if t.startswith(opt, j) and t[j + 2:j + 3] in (" ", "\t"):
                j += 2
                while j < n and t[j] in " \t":
                    j += 1
    else:
        k, name = j, "COPROC"
        while k < n and (t[k].isalnum() or t[k] == "_") and t[k].isascii():
            k += 1
        m = k
        while m < n and t[m] in " \t":
            m += 1
        if k > j and m > k and not t[j].isdigit() and _compound_at(t, m):
            name, j = t[j:k], m
        lx.coprocs[j] = name
    lx.masks.append((start, j))
    lx.keywords.append(j)
    return j


def operator(lx: Lexer, i: int, lvl: int) -> int:
    """Read `<<[-] WORD` at i, queue the heredoc and return the offset after WORD."""
    t, n = lx.t, lx.n
    j = i + 2
    strip = t.startswith("-", j)
    j += strip
    while j < n and t[j] in " \t":
        j += 1
    start, out, quoted = j, [], False
    while j < n and t[j] not in META:
        c = t[j]
        if c == "'" or (c == "$" and t[j + 1:j + 2] in ("'", '"')):
            j += c == "$"
            q = t[j]
            k = t.find(q, j + 1)
            if k < 0 or "\n" in t[j + 1:k] or (c == "$" and "\\" in t[j + 1:k]):
                raise Unparseable("here-document delimiter with an unusual quote")
            out.append(t[j + 1:k])
            j, quoted = k + 1, True
        elif c == '"':
            k = lx.dq(j + 1)
            if "\n" in t[j:k]:
                raise Unparseable("here-document delimiter spans lines")
            body, m = t[j + 1:k - 1], 0
            while m < len(body):
                if body[m] == "\\" and body[m + 1:m + 2] in ("$", "`", '"', "\\"):
                    m += 1
                out.append(body[m])
                m += 1
            j, quoted = k, True
        elif c == "\\":
            if t[j + 1:j + 2] in ("", "\n"):
                raise Unparseable("here-document delimiter with a line continuation")
            out.append(t[j + 1])
            j, quoted = j + 2, True
        elif c == "`" or (c == "$" and t[j + 1:j + 2] in ("(", "{")):
            raise Unparseable("here-document delimiter with a substitution")
        else:
            out.append(c)
            j += 1
    if j == start:
        raise Unparseable("here-document operator without a delimiter")
    lx.pending.append((i, j, "".join(out), quoted, strip, lvl))
    return j


def bodies(lx: Lexer, nl: int, lvl: int) -> int:
    """Read the queued heredoc bodies after the newline at nl; return the last line's end."""
    t, n = lx.t, lx.n
    if any(p[5] != lvl for p in lx.pending):
        raise Unparseable("here-document operator and its body at different nesting levels")
    p = nl + 1
    for op, end, delim, quoted, strip, _ in lx.pending:
        body = p
        while True:
            if p >= n:
                raise UnterminatedHeredoc(delim)
            e = t.find("\n", p)
            e = n if e < 0 else e
            line = t[p:e]
            while not quoted and e < n and (len(line) - len(line.rstrip("\\"))) % 2:
                f = t.find("\n", e + 1)   # bash joins backslash-newline before comparing
                f = n if f < 0 else f
                line, e = line[:-1] + t[e + 1:f], f
            if (line.lstrip("\t") if strip else line) == delim:
                lx.docs.append((op, end, delim, quoted, strip, body, p, e))
                last, p = e, e + 1
                break
            p = e + 1
    lx.pending.clear()
    return last


def _compound_at(t: str, m: int) -> bool:
    """Whether a compound command starts at m (for `coproc NAME compound`)."""
    for kw in _COMPOUND:
        if t.startswith(kw, m) and (kw in "{(" or t[m + len(kw):m + len(kw) + 1] in ("", *META)):
            return True
    return False
