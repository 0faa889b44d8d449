"""gatesh's own quote removal and brace expansion: a word's source text to model.Word values.

Expansions are marked, never guessed; substitutions carry their parsed program.
"""

from __future__ import annotations

from gatesh.errors import Unparseable
from gatesh.heredoc import find_subs, unescape_backquoted
from gatesh.model import Part, PartKind, Program, Word

# gatesh.lexer is imported where a word needs a scan ($(, ${, <(...): most need none (start-up).

TYPE_CHECKING = False  # importing typing would cost start-up time on every gatesh -c
if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable
    ParseSub = Callable[[str], Program]
    Token = str | tuple[Part | None, str]

__all__ = ["words", "word", "arith_word", "split", "merge_programs"]


LIT, GLOB, TILDE, VAR = PartKind.LIT, PartKind.GLOB, PartKind.TILDE, PartKind.VAR
CMDSUB, PROCSUB, OTHER = PartKind.CMDSUB, PartKind.PROCSUB, PartKind.OTHER
_SPECIAL = frozenset("\\'\"$`{*?[<>()|;& \t\n")
_NAME = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789")
_cache: dict[tuple[str, int], tuple[Word, ...]] = {}

# _lex makes tokens: a 1-char str is an unquoted literal character (open to brace, glob and
# tilde rules); a (Part | None, source) pair is anything quoted or expanded (None: source only).


def words(text: str, parse_sub: ParseSub, brace: bool = True, glob: bool = True,
          regex: bool = False) -> tuple[Word, ...]:
    """The words bash makes of one source word (several when brace expansion applies)."""
    key = (text, brace | glob << 1 | regex << 2)
    hit = _cache.get(key)
    if hit is not None:
        return hit
    if _SPECIAL.isdisjoint(text) and not text.startswith("~"):
        out: tuple[Word, ...] = (Word(text, (Part(LIT, text),) if text else ()),)
    else:
        toks = _lex(text, parse_sub, regex)
        if brace and "{" in toks and ("," in toks or "." in toks):  # only , and .. expand
            from gatesh.braces import expand  # on first use: few words have one (start-up time)
            lists = expand(toks, [0])
        else:
            lists = [toks]
        # an expansion that leaves nothing (`{,}`) is an empty unquoted word: bash drops it
        out = tuple(_assemble(t, glob) for t in lists if t or len(lists) == 1)
    if len(_cache) > 50000:
        _cache.clear()
    _cache[key] = out
    return out


def word(text: str, parse_sub: ParseSub, glob: bool = True, regex: bool = False) -> Word:
    """One word without brace expansion (assignment values, redirect targets, patterns)."""
    return words(text, parse_sub, False, glob, regex)[0]


def arith_word(text: str, parse_sub: ParseSub) -> Word:
    """An arithmetic expression as one OTHER part carrying its nested substitutions."""
    return Word(text, (Part(OTHER, text, False, _subs_program(text, parse_sub)),))


def split(text: str) -> list[str]:
    """Split source text at unquoted blanks into word sources (for `[ ... ]` operands)."""
    from gatesh.lexer import word_end
    out, i, n = [], 0, len(text)
    while i < n:
        if text[i] in " \t":
            i += 1
        elif text.startswith("\\\n", i):
            i += 2
        else:
            j = word_end(text, i)
            if j == i:
                raise Unparseable(f"unexpected {text[i]!r} among test operands")
            out.append(text[i:j])
            i = j
    return out


def merge_programs(progs: list[Program]) -> Program | None:
    """One program holding the pipelines of several, or None when there are none."""
    return Program(tuple(p for prog in progs for p in prog.pipelines)) if progs else None


def _subs_program(text: str, parse_sub: ParseSub) -> Program | None:
    return merge_programs([parse_sub(s) for s in find_subs(text)]) if "$(" in text or "`" in text \
        else None


def _lex(t: str, parse_sub: ParseSub, regex: bool) -> list[Token]:
    out: list[Token] = []
    i, n = 0, len(t)
    while i < n:
        c = t[i]
        if c == "\\":
            if i + 1 >= n:
                raise Unparseable("a word ends with a lone backslash")
            if t[i + 1] != "\n":
                out.append((Part(LIT, t[i + 1], True), t[i:i + 2]))
            i += 2
        elif c == "'":
            j = t.find("'", i + 1)
            if j < 0:
                raise Unparseable("unterminated single quote")
            out.append((Part(LIT, t[i + 1:j], True), t[i:j + 1]))
            i = j + 1
        elif c == '"':
            i = _dq(t, i + 1, out, parse_sub)
        elif c == "$":
            i = _dollar(t, i, out, parse_sub, False)
        elif c == "`":
            i = _backtick(t, i, out, parse_sub, False)
        elif c in "<>" and t.startswith("(", i + 1):
            from gatesh.lexer import scan_comsub
            end = scan_comsub(t, i + 2)
            out.append((Part(PROCSUB, t[i:end], False, parse_sub(t[i + 2:end - 1])), t[i:end]))
            i = end
        elif c in "@*+?!" and t.startswith("(", i + 1) and not regex:
            end = _extglob_end(t, i + 2)
            out.append((Part(GLOB, t[i:end]), t[i:end]))
            i = end
        elif c in " \t\n;&|()<>" and not (regex and c in " \t()|<>"):
            raise Unparseable(f"unquoted {c!r} inside a word")
        else:
            out.append(c)
            i += 1
    return out


def _extglob_end(t: str, i: int) -> int:
    depth = 1
    while i < len(t):
        c = t[i]
        if c == "\\":
            i += 1
        elif c == "'":
            i = t.find("'", i + 1)
            if i < 0:
                raise Unparseable("unterminated single quote")
        elif c == '"':
            from gatesh.lexer import scan_dq
            i = scan_dq(t, i + 1) - 1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if not depth:
                return i + 1
        i += 1
    raise Unparseable("unterminated extended glob")


def _dq(t: str, i: int, out: list[Token], parse_sub: ParseSub, start: int = -1) -> int:
    """Tokens of a double-quoted string from just after its quote; returns the end."""
    seg = i - 1 if start < 0 else start
    first, n = seg, len(t)
    buf: list[str] = []
    while i < n:
        c = t[i]
        if c == '"':
            part = Part(LIT, "".join(buf), True) if buf or seg == first else None
            out.append((part, t[seg:i + 1]))
            return i + 1
        if c == "\\":
            d = t[i + 1:i + 2]
            if d in ("$", "`", '"', "\\"):
                buf.append(d)
            elif d != "\n":
                buf.append("\\")
                i -= 1
            i += 2
        elif c == "$" or c == "`":
            if buf or seg < i:
                out.append((Part(LIT, "".join(buf), True) if buf else None, t[seg:i]))
                buf = []
            i = seg = (_dollar if c == "$" else _backtick)(t, i, out, parse_sub, True)
        else:
            buf.append(c)
            i += 1
    raise Unparseable("unterminated double quote")


def _dollar(t: str, i: int, out: list[Token], parse_sub: ParseSub, quoted: bool) -> int:
    d = t[i + 1:i + 2]
    if d == "(":
        from gatesh.lexer import scan_arith, scan_comsub
        if t.startswith("((", i + 1):
            end = scan_arith(t, i + 3)
            part = Part(OTHER, t[i:end], quoted, _subs_program(t[i + 3:end - 2], parse_sub))
        else:
            end = scan_comsub(t, i + 2)
            part = Part(CMDSUB, t[i:end], quoted, parse_sub(t[i + 2:end - 1]))
    elif d == "{":
        from gatesh.lexer import scan_brace
        end = scan_brace(t, i + 2)
        inner = t[i + 2:end - 1]
        if inner and _NAME.issuperset(inner) and not inner[0].isdigit():
            part = Part(VAR, inner, quoted)
        else:
            part = Part(OTHER, t[i:end], quoted, _subs_program(inner, parse_sub))
    elif d == "'" and not quoted:
        end = i + 2
        while end < len(t) and t[end] != "'":
            end += 2 if t[end] == "\\" else 1
        if end >= len(t):
            raise Unparseable("unterminated $'...' string")
        end += 1
        from gatesh.ansic import decode  # on first use, as braces are (start-up time)
        part = Part(LIT, decode(t[i + 2:end - 1]), True)
    elif d == '"' and not quoted:
        return _dq(t, i + 2, out, parse_sub, i)
    elif d and (d.isalpha() or d == "_") and d.isascii():
        end = i + 2
        while end < len(t) and t[end] in _NAME:
            end += 1
        part = Part(VAR, t[i + 1:end], quoted)
    elif d and d in "@*#?-$!0123456789":
        end = i + 2
        part = Part(OTHER, t[i:end], quoted)
    else:
        out.append((Part(LIT, "$", quoted), "$") if quoted else "$")
        return i + 1
    out.append((part, t[i:end]))
    return end


def _backtick(t: str, i: int, out: list[Token], parse_sub: ParseSub, quoted: bool) -> int:
    j = i + 1
    while j < len(t) and t[j] != "`":
        j += 2 if t[j] == "\\" else 1
    if j >= len(t):
        raise Unparseable("unterminated backquote substitution")
    body = unescape_backquoted(t[i + 1:j], quoted)
    out.append((Part(CMDSUB, t[i:j + 1], quoted, parse_sub(body)), t[i:j + 1]))
    return j + 1


def _assemble(toks: list[Token], glob: bool) -> Word:
    """Tokens to one Word: unquoted runs split into LIT, GLOB and TILDE; LIT parts merged."""
    parts: list[Part] = []
    src: list[str] = []
    run: list[str] = []
    for k, tk in enumerate(toks):
        if isinstance(tk, str):
            run.append(tk)
            src.append(tk)
            continue
        if run:
            _flush(run, parts, glob, tilde=len(src) == len(run), whole=False)
            run = []
        part, text = tk
        src.append(text)
        if part is None:
            continue
        if part.kind is LIT and parts and parts[-1].kind is LIT:
            prev = parts.pop()
            part = Part(LIT, prev.text + part.text, prev.quoted or part.quoted)
        elif part.kind is GLOB and not glob:
            part = Part(LIT, part.text)
        parts.append(part)
    if run:
        _flush(run, parts, glob, tilde=len(src) == len(run), whole=True)
    return Word("".join(src), tuple(parts))


def _flush(run: list[str], parts: list[Part], glob: bool, tilde: bool, whole: bool) -> None:
    s = "".join(run)
    pieces: list[Part] = []
    i = 0
    if tilde and s[0] == "~":
        j = s.find("/")
        prefix = s[1:] if j < 0 else s[1:j]
        if j >= 0 or whole:
            pieces.append(Part(TILDE, s[:len(prefix) + 1]))
            i = len(prefix) + 1
    lit = i
    while glob and i < len(s):
        c = s[i]
        end = i + 1 if c in "*?" else _bracket_end(s, i) if c == "[" else 0
        if end:
            if lit < i:
                pieces.append(Part(LIT, s[lit:i]))
            pieces.append(Part(GLOB, s[i:end]))
            lit = i = end
        else:
            i += 1
    if lit < len(s):
        pieces.append(Part(LIT, s[lit:]))
    for p in pieces:
        if p.kind is LIT and parts and parts[-1].kind is LIT:
            prev = parts.pop()
            p = Part(LIT, prev.text + p.text, prev.quoted or p.quoted)
        parts.append(p)


def _bracket_end(s: str, i: int) -> int:
    """The end of a [...] bracket expression starting at i, or 0 when it is a plain `[`."""
    j = i + 1
    if s[j:j + 1] in ("!", "^"):
        j += 1
    if s[j:j + 1] == "]":
        j += 1
    k = s.find("]", j)
    return k + 1 if k >= 0 else 0
