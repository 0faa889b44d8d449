"""gatesh's shell lexer: a recursive-descent walk over quotes, substitutions and commands.

The heredoc pass scans with it before tree-sitter; gatesh.words asks it where constructs end.
"""

from __future__ import annotations

from gatesh.errors import Unparseable, UnterminatedHeredoc

__all__ = ["Lexer", "scan_comsub", "scan_arith", "scan_brace", "scan_dq", "word_end"]

META = " \t\n;&|()<>"
_OPS = (";;&", ";;", ";&", "&&", "||", "|&", "&>>", "&>", ";", "&", "|")
_REDIRS = (">>", ">&", ">|", "<&", "<>", "<", ">")
_STARTERS = frozenset(("!", "{", "then", "do", "else", "elif", "if", "while", "until"))
_MAX_NEST = 100


class Lexer:
    """A recursive-descent walk over shell text: quotes, substitutions, heredocs and keywords.

    It records what heredoc.prepare() masks (gatesh.marks reads heredocs and keywords for it);
    words.py uses it to find where a construct ends.
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
                    from gatesh.marks import bodies  # marks: on first use (start-up time)
                    i = bodies(self, i, lvl)
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
                    from gatesh.marks import operator
                    i = operator(self, i, lvl)
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
                    pos = 0 if i > 1 and t[i - 2] not in META else 2
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
                    from gatesh.marks import keyword
                    i = keyword(self, w, start, i)
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
            raise UnterminatedHeredoc(self.pending[0][2])
        self.nest -= 1
        return i

    def _word(self, i: int) -> tuple[int, bool]:
        t, n, plain = self.t, self.n, True
        while i < n:
            c = t[i]
            if c in META:
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


def _assignment(word: str) -> bool:
    """Whether a word is NAME=..., NAME+=... or NAME[...]=... (a prefix assignment)."""
    k = word.find("=")
    name = word[:k].rstrip("+").split("[", 1)[0] if k > 0 else ""
    return name.isidentifier() and name.isascii()


def scan_comsub(t: str, i: int) -> int:
    """From just after `$(` or `<(`, the offset just after the matching `)`."""
    return Lexer(t).cmd(i, True)


def scan_arith(t: str, i: int) -> int:
    """From just after `$((`, the offset just after the matching `))`."""
    return Lexer(t).arith(i)


def scan_brace(t: str, i: int) -> int:
    """From just after `${`, the offset just after the matching `}`."""
    return Lexer(t).brace(i)


def scan_dq(t: str, i: int) -> int:
    """From just after an opening double quote, the offset just after the closing one."""
    return Lexer(t).dq(i)


def word_end(t: str, i: int) -> int:
    """The end of the shell word starting at i (quotes and substitutions kept whole)."""
    return Lexer(t)._word(i)[0]
