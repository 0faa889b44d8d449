"""The IR builder's base: simple commands, their words, assignments and redirects (C1, C4-C6).

Words come from source bytes through gatesh.words; tree-sitter's nodes only say where they are.
"""

from __future__ import annotations

from gatesh import heredoc, treesit, words
from gatesh.errors import Unparseable
from gatesh.model import Assign, Part, PartKind, Program, Redirect, SimpleCommand, Word, lit
from gatesh.treesit import REDIRECTS, WORDISH, check_comment, check_gaps

TYPE_CHECKING = False  # importing typing would cost start-up time on every gatesh -c
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any

    from tree_sitter import Node as TSNode
    Group = list[Any]    # a word being built: [start, end, kind, node or redirect index, count]
    Queued = list[Any]   # a redirect being built: [op, fd, heredoc, start, target]

__all__ = ["SimpleBuilder", "lit", "ARG", "REGEX"]

_RESERVED = frozenset(("!", "{", "}", "[[", "case", "coproc", "do", "done", "elif", "else", "esac",
                       "fi", "for", "function", "if", "select", "then", "until", "while"))
ARG, ASSIGN, DEST, ARRAY, REGEX = range(5)   # kinds of word groups
_NO_PREP = heredoc.Prepared(b"", {}, [], {}, {})
_WORDS: dict[bytes, tuple[Word, ...]] = {}   # argv words by source bytes: most words repeat


class SimpleBuilder:
    """Builds simple commands from one tree; gatesh.parse.Builder adds statements on top."""

    __slots__ = ("src", "masked", "depth", "prep", "negs", "used", "nest", "braces",
                 "multiline", "audit")

    def __init__(self, src: bytes, depth: int) -> None:
        self.src, self.depth, self.nest = src, depth, 0
        self.used: set[int] = set()   # heredoc operators and coproc starts already consumed
        self.masked = src   # what tree-sitter read (heredoc bodies blanked, ...)
        self.prep, self.negs = _NO_PREP, _NO_PREP.negations
        self.braces = b"}" in src
        self.multiline = b"\n" in src
        self.audit = self.multiline or b"\\" in src

    if TYPE_CHECKING:  # pragma: no cover
        def sub(self, text: str) -> Program:
            """Parse a substitution's body, one level deeper (gatesh.parse.Builder)."""

    def text(self, s: int, e: int) -> str:
        """Source text of a byte range (C10: offsets are UTF-8 byte offsets)."""
        return self.src[s:e].decode("utf-8", "surrogateescape")

    def bracket(self, n: TSNode, reds: list[TSNode] | None) -> SimpleCommand:
        """`[ ... ]` is the ordinary command `[`; `[abc]` is a glob word (C9)."""
        kids = n.children
        if kids[-1].type != "]":
            raise Unparseable("unexpected shape of a [ ] test")
        s, e = kids[0].end_byte, kids[-1].start_byte
        glob = self.src[s:s + 1] not in (b" ", b"\t")
        if glob:
            s, e = n.start_byte, n.end_byte
        argv = [w for p in words.split(self.text(s, e)) for w in words.words(p, self.sub)]
        if not glob:
            argv = [lit("["), *argv, lit("]")]
        return SimpleCommand(tuple(argv), (), self.redirects(reds))

    def command(self, kids: list[TSNode], reds: list[TSNode] | None,
                lead: tuple[Word, ...]) -> SimpleCommand:
        """A simple command from its children and any trailing redirects (C1, C4-C6)."""
        groups: list[Group] = []
        rlist: list[Queued] = []
        end = -1
        word_ids = treesit.word_ids
        for c in kids:
            if c.kind_id in word_ids:  # ints: cheaper than c.type on this hot path
                s = c.start_byte
                if end < 0 or (s != end and self.src[end] != 92):  # a new word (usual; inlined)
                    end = c.end_byte
                    groups.append([s, end, ARG, c, 1])
                else:
                    self.add(groups, s, c.end_byte, ARG, c)
                    end = groups[-1][1]
                continue
            t = c.type
            if t == "variable_assignment":
                value = c.child_by_field_name("value")
                array = value is not None and value.type == "array"
                kind = ARRAY if lead and array else ARG if lead else ASSIGN
                if kind == ASSIGN and not _valid_name(self.src, c):
                    if array:
                        raise Unparseable("array assignment to an invalid name")
                    kind = ARG  # `1A=2 cmd`: not an assignment, bash runs `1A=2`
                self.add(groups, c.start_byte, c.end_byte, kind, c)
            elif t in REDIRECTS:
                self.redirect(c, groups, rlist)
            elif t == "comment":
                check_comment(self.src, c)
            elif not c.is_named:  # `probe == x`: tree-sitter makes `==` an anonymous argument
                self.add(groups, c.start_byte, c.end_byte, ARG, c)
            else:
                raise Unparseable(f"unexpected {t} in a simple command")
            end = groups[-1][1] if groups else -1
        for c in reds or ():
            self.redirect(c, groups, rlist)
        if groups and self.audit:
            check_gaps(self.masked, list(kids) + (reds or []))
        argv, assigns = list(lead), []
        src, cache = self.src, _WORDS
        for s, e, kind, node, count in groups:
            if kind == ARG:
                if rlist and self.braces and self.fd_var(s, e, rlist):
                    continue
                hit = cache.get(src[s:e])
                argv.extend(hit if hit is not None else self.words(s, e))
            elif kind == DEST:
                r = rlist[node]
                if r[4] is None and r[2] is None:
                    r[4] = self.word_of(s, e)
                else:
                    argv.extend(self.words(s, e))
            elif kind == ASSIGN:
                assigns.append(self.assign(node, e, count))
            else:
                argv.append(self.array_word(node, e, count))
        if argv and not assigns and not lead and argv[0][0] in _RESERVED:
            raise Unparseable(f"reserved word {argv[0].text!r} read as a command name")
        return SimpleCommand(tuple(argv), tuple(assigns),
                             tuple(_redirect(r) for r in rlist) if rlist else ())

    def add(self, groups: list[Group], s: int, e: int, kind: int, node: object) -> None:
        """Adjacency rule (C4-C6): nodes touching, or joined by backslash-newline, are one word."""
        if groups:
            g = groups[-1]
            end = g[1]
            if s == end or (s > end and self.src[end] == 92
                            and self.src[end:s] == b"\\\n" * ((s - end) // 2)):
                g[1], g[4] = e, g[4] + 1
                return
        groups.append([s, e, kind, node, 1])

    def merge(self, items: list[Any]) -> list[Group]:
        """Items (start, end, kind, node) grouped into words by the adjacency rule."""
        groups: list[Group] = []
        for s, e, kind, node in items:
            self.add(groups, s, e, kind, node)
        return groups

    def words(self, s: int, e: int) -> tuple[Word, ...]:
        """The argv words of one source word (brace expansion applies), cached by source."""
        key = self.src[s:e]
        hit = _WORDS.get(key)
        if hit is None:
            text = key.decode("utf-8", "surrogateescape")
            try:
                hit = words.words(text, self.sub)
            except Unparseable:
                if " " not in text and "\t" not in text:
                    raise
                # tree-sitter sometimes glues words (`] [`): split them as bash does
                hit = tuple(w for piece in words.split(text) for w in words.words(piece, self.sub))
            if len(_WORDS) > 50000:
                _WORDS.clear()
            _WORDS[key] = hit
        return hit

    def word_of(self, s: int, e: int) -> Word:
        """One word, no brace expansion (redirect targets, case words)."""
        return words.word(self.text(s, e), self.sub)

    def fd_var(self, s: int, e: int, rlist: list[Queued]) -> bool:
        """`{name}>file` puts the fd in a variable; tree-sitter reads `{name}` as an argument."""
        for r in rlist:
            if r[3] == e and r[1] is None:
                t = self.text(s, e)
                if t[:1] == "{" and t[-1:] == "}" and t[1:-1].isidentifier() and t.isascii():
                    r[1] = t
                    return True
        return False

    def redirect(self, c: TSNode, groups: list[Group], rlist: list[Queued]) -> None:
        """Queue one redirect [op, fd, heredoc, start, target]; its words go to groups."""
        if c.type == "heredoc_redirect":
            raise Unparseable("here-document the heredoc pass did not see")
        r: Queued = [None, None, None, c.start_byte, None]
        idx, op_at = len(rlist), -1
        start, src = c.start_byte, self.src
        if groups and groups[-1][1] == start and groups[-1][2] == ARG and \
                src[groups[-1][0]:start].isdigit() and src[start:start + 1] in b"<>":
            r[1] = self.text(groups.pop()[0], start)   # `cat 0<f`: tree-sitter made 0 a word
        for ch in c.children:
            t = ch.type
            if t == "file_descriptor":
                i = ch.start_byte   # `cat - 2>f`: tree-sitter drops the `-` before the fd
                while i and src[i - 1] in b" \t":
                    i -= 1
                if i >= 2 and src[i - 1] == 45 and src[i - 2] in b" \t" and \
                        i - 1 >= (groups[-1][1] if groups else 0):
                    self.add(groups, i - 1, i, ARG, ch)
                fd = self.text(ch.start_byte, ch.end_byte)
                if fd.isdigit() and fd.isascii():
                    r[1] = fd
                else:  # `-2>&1`: tree-sitter takes -2 for an fd; bash, for a word
                    self.add(groups, ch.start_byte, ch.end_byte, ARG, ch)
            elif not ch.is_named:
                r[0], op_at = t, ch.start_byte
                if t == ">>" and op_at in self.prep.rw:
                    r[0] = "<>"
            elif t == "comment":
                check_comment(self.src, ch)
            elif t not in WORDISH:
                raise Unparseable(f"unexpected {t} in a redirect")
            elif r[0] == "<" and r[2] is None and op_at in self.prep.heredocs:
                end, doc = self.prep.heredocs[op_at]
                if (ch.start_byte, ch.end_byte) != (op_at + 1, end) or op_at in self.used:
                    raise Unparseable("here-document operator misread")
                self.used.add(op_at)
                r[0], r[2] = "<<-" if doc.strip_tabs else "<<", doc
            else:
                self.add(groups, ch.start_byte, ch.end_byte, DEST, idx)
        if r[0] in ("<&-", ">&-"):
            r[0], r[4] = r[0][:2], lit("-")
        rlist.append(r)

    def redirects(self, reds: list[TSNode] | None) -> tuple[Redirect, ...]:
        """Redirects of a compound command: exactly one word each."""
        if not reds:
            return ()
        cmd = self.command([], reds, ())
        if cmd.argv or cmd.assigns:
            raise Unparseable("words after a redirect of a compound command")
        return cmd.redirects

    def assign(self, c: TSNode, end: int, count: int) -> Assign:
        """NAME=value from the source up to end (the value may be glued to more nodes)."""
        kids = c.children
        op = next(k for k in kids if k.type in ("=", "+="))
        name = self.text(c.start_byte, op.start_byte)
        if "[" in name and any(x in name for x in ("$(", "`", "<(", ">(")):
            raise Unparseable("command substitution in an array subscript")
        value = c.child_by_field_name("value")
        if value is not None and value.type == "array":
            if count > 1:
                raise Unparseable("array assignment glued to another word")
            return Assign(name, None, self.array_items(value))
        word = words.word(self.text(op.end_byte, end), self.sub, glob=False)
        if op.type == "+=":  # NAME+=v appends: its value is ${NAME}v
            base = name.split("[", 1)[0]
            word = Word(word.text, (Part(PartKind.VAR, base),) + word.parts)
        return Assign(name, word)

    def array_items(self, arr: TSNode) -> tuple[Word, ...]:
        """The words of an array assignment `(a b $(c))`, brace-expanded."""
        items: list[Any] = []
        for c in arr.children:
            if c.type == "comment":
                check_comment(self.src, c)
            elif c.type in WORDISH:
                items.append((c.start_byte, c.end_byte, ARG, c))
            elif c.is_named:
                raise Unparseable(f"unexpected {c.type} in an array")
        return tuple(w for g in self.merge(items) for w in self.words(g[0], g[1]))

    def array_word(self, c: TSNode, end: int, count: int) -> Word:
        """`declare a=(x y)` as one argv word whose parts expose each item's expansions."""
        a = self.assign(c, end, count)
        parts: list[Part] = [Part(PartKind.LIT, a.name + "=(")]
        for k, w in enumerate(a.items):
            parts.extend(((Part(PartKind.LIT, " "),) if k else ()) + w.parts)
        parts.append(Part(PartKind.LIT, ")"))
        merged: list[Part] = []
        for p in parts:
            if merged and p.kind is PartKind.LIT and merged[-1].kind is PartKind.LIT:
                p = Part(PartKind.LIT, merged.pop().text + p.text, p.quoted)
            merged.append(p)
        return Word(self.text(c.start_byte, end), tuple(merged))


def _valid_name(src: bytes, c: TSNode) -> bool:
    """Whether an assignment's name is NAME or NAME[...], so bash assigns rather than runs it."""
    node = c.child_by_field_name("name")
    base = src[c.start_byte:node.end_byte if node else c.start_byte].split(b"[", 1)[0]
    return bool(base) and not base[:1].isdigit() and base.replace(b"_", b"a").isalnum() and \
        base.isascii()


def _redirect(r: Queued) -> Redirect:
    op, fd, doc, _, target = r
    if doc is None and target is None:
        raise Unparseable("a redirect without its target")
    if op == ">&" and fd is None and target.literal and not target.literal.isdigit() \
            and target.literal != "-":
        op = "&>"  # `>&file` sends stdout and stderr to file, as `&>file` does
    return Redirect(op, fd, target, doc)
