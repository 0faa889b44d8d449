"""The heredoc pass (parsing.md C2, C3): bash's lexical structure, read before tree-sitter.

It bounds heredoc bodies by bash's rules and masks, byte for byte, what tree-sitter misreads.
"""

from __future__ import annotations

TYPE_CHECKING = False  # importing typing would cost start-up time on every gatesh -c
if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable

from gatesh.errors import Unparseable
from gatesh.model import Heredoc, Program

__all__ = ["Prepared", "prepare", "scan_comsub", "scan_arith", "scan_brace", "scan_dq",
           "word_end", "find_subs"]

_META = " \t\n;&|()<>"
_OPS = (";;&", ";;", ";&", "&&", "||", "|&", "&>>", "&>", ";", "&", "|")
_REDIRS = (">>", ">&", ">|", "<&", "<>", "<", ">")
_STARTERS = frozenset(("!", "{", "then", "do", "else", "elif", "if", "while", "until"))
_COMPOUND = ("{", "(", "while", "until", "for", "select", "if", "case", "[[")
_BLANKS = bytes(b if b == 10 else 32 for b in range(256))  # translate table: all but \n -> ' '
_MAX_NEST = 100


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


class _Scan:
    """A recursive-descent walk over shell text: quotes, substitutions, heredocs and keywords.

    It records what prepare() masks; words.py uses it to find where a construct ends.
    """

    __slots__ = ("t", "n", "pending", "docs", "masks", "keywords", "coprocs", "negations",
                 "levels", "nest", "ends", "braces", "ticks", "rw")

    def __init__(self, t: str) -> None:
        self.t, self.n = t, len(t)
        self.pending: list[tuple[int, int, str, bool, bool, int]] = []
        self.docs: list[tuple[int, int, str, bool, bool, int, int, int]] = []
        self.masks: list[tuple[int, int]] = []
        self.keywords: list[int] = []
        self.coprocs: dict[int, str] = {}
        self.negations: dict[int, int] = {}
        self.levels = self.nest = 0
        self.ends: list[int] = []
        self.braces: list[int] = []
        self.ticks: list[tuple[int, int]] = []
        self.rw: list[int] = []

    def _deeper(self) -> None:
        self.nest += 1
        if self.nest > _MAX_NEST:
            raise Unparseable("command nests too deeply to check")

    def cmd(self, i: int, closer: bool) -> int:
        """Scan commands from i; with closer, up to and past the `)` that ends this level."""
        t, n = self.t, self.n
        self._deeper()
        self.levels += 1
        lvl, depth, cases, pos, after_for, ended = self.levels, 0, 0, 2, False, False
        while i < n:  # pos: 2 = a pipeline may start (time, !), 1 = command word, 0 = argument
            # ended: a newline here would end a command, as `;` would
            c = t[i]
            if c == " " or c == "\t":
                i += 1
            elif c == "\n":
                if self.pending:
                    i = self._bodies(i, lvl)
                elif ended and lvl == 1 and not depth and not cases:
                    self.ends.append(i)
                i, pos, ended = i + 1, 2, False
            elif c == "#":
                j = t.find("\n", i)
                i, ended = n if j < 0 else j, False
            elif c in ";&|":
                op = next(o for o in _OPS if t.startswith(o, i))
                i, ended = i + len(op), False
                pos = 0 if op[:2] == "&>" else 1 if op[0] == "|" else 2
            elif c == "<" or c == ">":
                if t.startswith("<<<", i):
                    i += 3
                elif t.startswith("<<", i):
                    i = self._operator(i, lvl)
                elif t.startswith("(", i + 1):
                    i = self.cmd(i + 2, True)   # process substitution
                else:
                    op = next(o for o in _REDIRS if t.startswith(o, i))
                    if op == "<>":
                        self.rw.append(i)   # tree-sitter has no `<>`: masked as `>>`
                    i += len(op)
                pos, ended = 0, t[i - 1] == ")"
            elif c == "(":
                if t.startswith("((", i) and (pos or after_for):
                    i, pos, ended = self.arith(i + 2), 0, True
                else:  # a subshell, or an array or extglob group when glued to a word
                    depth, i, ended = depth + 1, i + 1, False
                    pos = 0 if i > 1 and t[i - 2] not in _META else 2
            elif c == ")":
                if depth:
                    depth -= 1
                elif not cases and closer:
                    if any(p[5] == lvl for p in self.pending):
                        raise Unparseable("here-document not terminated inside $( )")
                    self.nest -= 1
                    return i + 1
                i, pos, ended = i + 1, 2, True   # or a case pattern ends here
            else:
                start = i
                i, plain = self._word(i)
                w = t[start:i] if plain else ""
                after_for, ended = w in ("for", "select"), True
                if pos and w == "case":
                    cases, pos = cases + 1, 0
                elif pos and w == "esac" and cases:
                    cases, pos = cases - 1, 0
                elif pos == 2 and w in ("time", "coproc", "!"):
                    i = self._keyword(w, start, i)
                    pos, ended = 1 if w == "coproc" else 2, False
                elif pos and w in _STARTERS:
                    pos, ended = 2, False
                elif pos and _assignment(t[start:i]):
                    pos = 1   # the command word is still to come
                else:
                    if pos and t.startswith("{", start) and i > start + 1:
                        self.braces.append(start)   # `{rm,-rf,/}` as a command word
                    pos = 0
        if closer:
            raise Unparseable("unterminated $( ) or ( ) substitution")
        if self.pending:
            raise Unparseable(f"here-document without its terminator {self.pending[0][2]!r}")
        self.nest -= 1
        return i

    def _word(self, i: int) -> tuple[int, bool]:
        t, n, plain = self.t, self.n, True
        while i < n:
            c = t[i]
            if c in _META:
                break
            if c == "\\":
                i, plain = i + 2, False
            elif c == "'":
                i, plain = self.sq(i + 1), False
            elif c == '"':
                i, plain = self.dq(i + 1), False
            elif c == "$":
                i, plain = self.dollar(i), False
            elif c == "`":
                i, plain = self.backtick(i + 1), False
            else:
                i += 1
        return min(i, n), plain

    def sq(self, i: int) -> int:
        """Skip a single-quoted string from just after its quote."""
        j = self.t.find("'", i)
        if j < 0:
            raise Unparseable("unterminated single quote")
        return j + 1

    def dq(self, i: int) -> int:
        """Skip a double-quoted string from just after its quote."""
        t, n = self.t, self.n
        while i < n:
            c = t[i]
            if c == '"':
                return i + 1
            if c == "\\":
                i += 2
            elif c == "$":
                i = self.dollar(i, True)
            elif c == "`":
                i = self.backtick(i + 1)
            else:
                i += 1
        raise Unparseable("unterminated double quote")

    def dollar(self, i: int, quoted: bool = False) -> int:
        """Skip the expansion starting with the `$` at i (a lone `$` is one character)."""
        t = self.t
        d = t[i + 1:i + 2]
        if d == "(":
            return self.arith(i + 3) if t.startswith("((", i + 1) else self.cmd(i + 2, True)
        if d == "{":
            return self.brace(i + 2)
        if d == "'" and not quoted:
            return self._ansi(i + 2)
        if d == '"' and not quoted:
            return self.dq(i + 2)
        return i + 1

    def _ansi(self, i: int) -> int:
        t, n = self.t, self.n
        while i < n:
            if t[i] == "\\":
                i += 2
            elif t[i] == "'":
                return i + 1
            else:
                i += 1
        raise Unparseable("unterminated $'...' string")

    def brace(self, i: int) -> int:
        """Skip a ${...} expansion from just after `${`."""
        t, n = self.t, self.n
        self._deeper()
        while i < n:
            c = t[i]
            if c == "}":
                self.nest -= 1
                return i + 1
            if c == "\\":
                i += 2
            elif c == "'":
                i = self.sq(i + 1)
            elif c == '"':
                i = self.dq(i + 1)
            elif c == "$":
                i = self.dollar(i)
            elif c == "`":
                i = self.backtick(i + 1)
            else:
                i += 1
        raise Unparseable("unterminated ${...} expansion")

    def arith(self, i: int) -> int:
        """Scan an arithmetic expression from after `((` to past its `))`."""
        t, n, depth = self.t, self.n, 0
        self._deeper()
        while i < n:
            c = t[i]
            if c == "(":
                depth += 1
            elif c == ")":
                if depth:
                    depth -= 1
                elif t.startswith("))", i):
                    self.nest -= 1
                    return i + 2
                else:
                    raise Unparseable("arithmetic expression closed by a single )")
            elif c == "\\":
                i += 1
            elif c == "$":
                i = self.dollar(i)
                continue
            elif c == "`":
                i = self.backtick(i + 1)
                continue
            elif c == '"':
                i = self.dq(i + 1)
                continue
            elif c == "'":
                i = self.sq(i + 1)
                continue
            i += 1
        raise Unparseable("unterminated (( )) arithmetic")

    def backtick(self, i: int) -> int:
        """Skip a backquoted substitution (C7: it ends at the first unescaped backquote).

        tree-sitter misreads these (`a` `b` as one, #278), so each is masked to `___`: it is
        part of one word either way, and gatesh.words reads the word from the source.
        """
        t, n, start = self.t, self.n, i - 1
        while i < n:
            if t[i] == "\\":
                i += 2
            elif t[i] == "`":
                if self.pending and "\n" in t[start:i]:
                    raise Unparseable("a multi-line backquote substitution after a heredoc")
                self.ticks.append((start, i + 1))
                return i + 1
            else:
                i += 1
        raise Unparseable("unterminated backquote substitution")

    def _keyword(self, w: str, start: int, i: int) -> int:
        """Mask `time [-p] [--]`, `coproc [NAME]` and `!`: tree-sitter misreads them before `{`."""
        t, n = self.t, self.n
        j = i
        while j < n and t[j] in " \t":
            j += 1
        if w == "time" and (j >= n or t[j] in "\n#"):
            self.masks.append((start, i))  # a bare `time` times nothing: no command runs
            return i
        if j == i or j >= n or t[j] in "\n;&|)":
            return i
        if w == "!":  # tree-sitter misreads `! {`: negations are kept here instead
            self.negations[j] = self.negations.get(j, 0) + 1
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
            self.coprocs[j] = name
        self.masks.append((start, j))
        self.keywords.append(j)
        return j

    def _operator(self, i: int, lvl: int) -> int:
        """Read `<<[-] WORD` at i, queue the heredoc and return the offset after WORD."""
        t, n = self.t, self.n
        j = i + 2
        strip = t.startswith("-", j)
        j += strip
        while j < n and t[j] in " \t":
            j += 1
        start, out, quoted = j, [], False
        while j < n and t[j] not in _META:
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
                k = self.dq(j + 1)
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
        self.pending.append((i, j, "".join(out), quoted, strip, lvl))
        return j

    def _bodies(self, nl: int, lvl: int) -> int:
        """Read the queued heredoc bodies after the newline at nl; return the last line's end."""
        t, n = self.t, self.n
        if any(p[5] != lvl for p in self.pending):
            raise Unparseable("here-document operator and its body at different nesting levels")
        p = nl + 1
        for op, end, delim, quoted, strip, _ in self.pending:
            body = p
            while True:
                if p >= n:
                    raise Unparseable(f"here-document without its terminator {delim!r}")
                e = t.find("\n", p)
                e = n if e < 0 else e
                line = t[p:e]
                while not quoted and e < n and (len(line) - len(line.rstrip("\\"))) % 2:
                    f = t.find("\n", e + 1)   # bash joins backslash-newline before comparing
                    f = n if f < 0 else f
                    line, e = line[:-1] + t[e + 1:f], f
                if (line.lstrip("\t") if strip else line) == delim:
                    self.docs.append((op, end, delim, quoted, strip, body, p, e))
                    last, p = e, e + 1
                    break
                p = e + 1
        self.pending.clear()
        return last


def _assignment(word: str) -> bool:
    """Whether a word is NAME=..., NAME+=... or NAME[...]=... (a prefix assignment)."""
    k = word.find("=")
    name = word[:k].rstrip("+").split("[", 1)[0] if k > 0 else ""
    return name.isidentifier() and name.isascii()


def _compound_at(t: str, m: int) -> bool:
    """Whether a compound command starts at m (for `coproc NAME compound`)."""
    for kw in _COMPOUND:
        if t.startswith(kw, m) and (kw in "{(" or t[m + len(kw):m + len(kw) + 1] in ("", *_META)):
            return True
    return False


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
    text = src.decode("latin-1")   # one char per byte, so offsets are byte offsets
    scan = _Scan(text)
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


def scan_comsub(t: str, i: int) -> int:
    """From just after `$(` or `<(`, the offset just after the matching `)`."""
    return _Scan(t).cmd(i, True)


def scan_arith(t: str, i: int) -> int:
    """From just after `$((`, the offset just after the matching `))`."""
    return _Scan(t).arith(i)


def scan_brace(t: str, i: int) -> int:
    """From just after `${`, the offset just after the matching `}`."""
    return _Scan(t).brace(i)


def scan_dq(t: str, i: int) -> int:
    """From just after an opening double quote, the offset just after the closing one."""
    return _Scan(t).dq(i)


def word_end(t: str, i: int) -> int:
    """The end of the shell word starting at i (quotes and substitutions kept whole)."""
    return _Scan(t)._word(i)[0]
