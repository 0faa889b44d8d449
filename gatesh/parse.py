"""Command text to gatesh's IR: tree-sitter-bash, corrected as parsing.md section 7 says.

Anything tree-sitter flags, or that gatesh cannot vouch for, raises Unparseable.
"""

from __future__ import annotations

import sys

from gatesh import heredoc, words
from gatesh.errors import Unparseable
from gatesh.model import Assign, Compound, Node, Part, PartKind, Pipeline, Program, Redirect, \
    SimpleCommand, Word

TYPE_CHECKING = False  # importing typing would cost start-up time on every gatesh -c
if TYPE_CHECKING:  # pragma: no cover
    from types import ModuleType
    from typing import Any

    from tree_sitter import Node as TSNode, Parser
    Group = list[Any]    # a word being built: [start, end, kind, node or redirect index, count]
    Queued = list[Any]   # a redirect being built: [op, fd, heredoc, start, target]

__all__ = ["parse"]

_MAX_DEPTH = 50
_WORDISH = frozenset(("word", "string", "raw_string", "ansi_c_string", "translated_string",
                      "concatenation", "simple_expansion", "expansion", "command_substitution",
                      "process_substitution", "arithmetic_expansion", "number", "extglob_pattern",
                      "brace_expression", "regex", "variable_name"))
_REDIRECTS = frozenset(("file_redirect", "herestring_redirect", "heredoc_redirect"))
_CLAUSES = frozenset(("elif_clause", "else_clause", "do_group"))
_EXPRS = frozenset(("unary_expression", "binary_expression", "parenthesized_expression",
                    "ternary_expression", "postfix_expression"))
_STATEMENTS = frozenset(("command", "redirected_statement", "pipeline", "list", "negated_command",
                         "subshell", "compound_statement", "if_statement", "while_statement",
                         "for_statement", "c_style_for_statement", "case_statement",
                         "function_definition", "test_command", "declaration_command",
                         "unset_command", "variable_assignment", "variable_assignments"))
_LISTY = frozenset(("list", "pipeline", "negated_command"))
_RESERVED = frozenset(("!", "{", "}", "[[", "case", "coproc", "do", "done", "elif", "else", "esac",
                       "fi", "for", "function", "if", "select", "then", "until", "while"))
_COMMENT_BEFORE = frozenset(b" \t\n;&|()<>")
_ASCII = bytes(range(128)) + b"x" * 128   # translate table: non-ASCII bytes -> x
_ARG, _ASSIGN, _DEST, _ARRAY, _REGEX = range(5)
_EMPTY = Program(())
_NO_PREP = heredoc.Prepared(b"", {}, [], {}, {})
_WORDS: dict[bytes, tuple[Word, ...]] = {}   # argv words by source bytes: most words repeat
_WORD_IDS: frozenset[int] = frozenset()   # kind ids of _WORDISH and command_name nodes
_parser: Parser | None = None


def parse(text: str) -> Program:
    """Parse one command line (or script) into a Program; raise Unparseable when unsure."""
    try:
        return _parse(text, 0)
    except Unparseable:
        raise
    except RecursionError:
        raise Unparseable("command nests too deeply to check") from None
    except Exception as e:  # a gate must fail closed, whatever went wrong
        detail = " ".join(str(e).split())[:120]
        raise Unparseable(f"internal parser error ({type(e).__name__}: {detail})") from e


def _parse(text: str, depth: int) -> Program:
    if depth > _MAX_DEPTH:
        raise Unparseable("substitutions nest too deeply to check")
    try:
        src = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise Unparseable("command text is not valid UTF-8") from None
    if not src or src.isspace():
        return _EMPTY
    if b"\x00" in src:
        raise Unparseable("command text contains a NUL byte")
    try:
        return _build(src, depth, False)
    except _Retry as first:
        try:
            return _build(src, depth, True)
        except Unparseable:
            raise Unparseable(str(first)) from None  # plain: no retry at an outer level


class _Retry(Unparseable):
    """A mistake tree-sitter may avoid on a second try (heredoc.prepare, retry=True)."""


def _build(src: bytes, depth: int, retry: bool) -> Program:
    b = _Builder(src, depth)
    prep = heredoc.prepare(src, b.sub, retry)
    if prep is not None:
        b.prep, b.negs, b.masked = prep, prep.negations, prep.masked
    if not b.masked.isascii():
        # bash reads every non-ASCII byte as a word character; tree-sitter-bash can crash on
        # some (`a{` + U+56E8D segfaults 0.25.1), so it sees `x` for each: same structure
        b.masked = b.masked.translate(_ASCII)
    root = _get_parser().parse(b.masked).root_node
    if root.has_error:
        error = _Retry if b"{" in src and not retry else Unparseable
        raise error(_syntax_error(root, src))
    out: list[Pipeline] = []
    b.stmts(root.children, out, False)
    if prep is not None:
        for op, (end, _doc) in prep.heredocs.items():
            if op not in b.used and not _is_redirect_at(root, op, end):
                raise Unparseable("a here-document operator is not where tree-sitter sees one")
        for j in prep.keywords:
            if not _statement_at(root, j):
                raise Unparseable("a keyword (time, coproc, !) is not followed by a command")
    if b"`" in src:
        _check_backquotes(root, src)
    return Program(tuple(out)) if out else _EMPTY


class _Builder:
    """Builds IR nodes from one tree; words come from source bytes through gatesh.words."""

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

    def sub(self, text: str) -> Program:
        """Parse a substitution's body, one level deeper."""
        return _parse(text, self.depth + 1)

    def text(self, s: int, e: int) -> str:
        """Source text of a byte range (C10: offsets are UTF-8 byte offsets)."""
        return self.src[s:e].decode("utf-8", "surrogateescape")

    def stmts(self, kids: list[TSNode], out: list[Pipeline], bg_all: bool,
              whole: bool = True) -> None:
        """Statements among kids (keywords and separators skipped), appended to out.

        whole: kids are all the children of a node, so the text between them is checked.
        """
        if whole and self.audit:
            self.gaps(kids, True)
        for k, c in enumerate(kids):
            if not c.is_named:
                continue
            t = c.type
            if t == "comment":
                self.comment(c)
            elif t in _CLAUSES:
                self.stmts(c.children, out, bg_all)
            else:
                self.stmt(c, out, bg_all or (k + 1 < len(kids) and kids[k + 1].type == "&"), None)

    def stmt(self, c: TSNode, out: list[Pipeline], bg: bool, reds: list[TSNode] | None) -> None:
        """One statement; reds: redirects tree-sitter hung on an enclosing node."""
        t = c.type
        if t == "command" and not self.negs:  # the usual case, kept short
            out.append(Pipeline((self.element(c, reds),), False, bg))
            return
        if t == "redirected_statement":
            body, rs = self.split_redirected(c)
            if body is None or body.type not in _LISTY:
                out.append(Pipeline((self.element(c, reds),), self.negated(c, False), bg))
                return
        elif t not in _LISTY:
            out.append(Pipeline((self.element(c, reds),), self.negated(c, False), bg))
            return
        seq: list[Any] = []
        self.flatten(c, seq, reds)
        self.rebuild(seq, out, bg)

    def negated(self, c: TSNode, neg: bool) -> bool:
        """Apply the `!`s the heredoc pass masked in front of the statement at c."""
        if self.negs and self.negs.get(c.start_byte, 0) % 2:
            return not neg
        return neg

    def flatten(self, n: TSNode, seq: list[Any], reds: list[TSNode] | None) -> None:
        """Elements and operators (| |& && || !) of a list or pipeline, in source order.

        tree-sitter gets their grouping wrong (`a | b | c && d` as a | (b | c && d), `a && b >o`
        with the redirect on the list), so gatesh regroups them by bash's precedence.
        """
        t = n.type
        body, rs = self.split_redirected(n) if t == "redirected_statement" else (None, [])
        if body is not None and body.type in _LISTY:
            n, t = body, body.type
        else:
            rs = []
        if t in ("list", "pipeline"):
            if self.audit:
                self.gaps(n.children, True)
            for ch in n.children:
                if ch.is_named:
                    self.flatten(ch, seq, None) if ch.type != "comment" else self.comment(ch)
                    continue
                if self.multiline and seq and not isinstance(seq[-1], str):
                    gap = self.src[seq[-1][2]:ch.start_byte]
                    if b"\n" in gap and gap.replace(b"\\\n", b"").strip(b" \t"):
                        raise _Retry("tree-sitter joined lines that bash keeps apart")
                seq.append(ch.type)
        elif t == "negated_command":
            bang = n.children[0].end_byte
            if self.src[bang:bang + 1] not in (b" ", b"\t", b"\n"):
                raise Unparseable("`!` glued to a word is part of the word, not a negation")
            seq.append("!")
            for ch in self.named(n):
                self.flatten(ch, seq, None)
        else:
            seq.append([n, None, n.end_byte])
        extra = rs + (reds or [])
        if extra:
            last = next((x for x in reversed(seq) if not isinstance(x, str)), None)
            if last is None:
                raise Unparseable("redirect without a command")
            last[1] = (last[1] or []) + extra

    def rebuild(self, seq: list[Any], out: list[Pipeline], bg: bool) -> None:
        """Pipelines from a flattened sequence: && and || bind looser than | and |&."""
        item: list[Any] = []
        for x in seq + ["&&"]:
            if x not in ("&&", "||"):
                item.append(x)
                continue
            neg = False
            while item and item[0] == "!":
                neg, item = not neg, item[1:]
            if not item or len(item) % 2 == 0 or any(
                    isinstance(y, str) != (k % 2 == 1) or y == "!" for k, y in enumerate(item)):
                raise Unparseable("unexpected shape of a pipeline")
            neg = self.negated(item[0][0], neg)
            els = [self.element(y[0], y[1]) for y in item[::2]]
            for k, op in enumerate(item[1::2]):
                if op == "|&":  # `a |& b` is `a 2>&1 | b`
                    els[k] = _with_redirect(els[k], Redirect(">&", "2", _lit("1")))
            out.append(Pipeline(tuple(els), neg, bg))
            item = []

    def named(self, c: TSNode) -> list[TSNode]:
        """Named children, comments checked and left out."""
        out = []
        for ch in c.children:
            if ch.is_named:
                if ch.type == "comment":
                    self.comment(ch)
                else:
                    out.append(ch)
        return out

    def split_redirected(self, c: TSNode) -> tuple[TSNode | None, list[TSNode]]:
        """The body of a redirected_statement (None for a bare `>file`) and its redirects."""
        body, rs = None, []
        for ch in c.children:
            if ch.type in _REDIRECTS:
                rs.append(ch)
            elif ch.is_named and body is None and ch.type != "comment":
                body = ch
            elif ch.is_named:
                raise Unparseable(f"unexpected {ch.type} in a redirected command")
        return body, rs

    def element(self, n: TSNode, reds: list[TSNode] | None) -> Node:
        """One pipeline element: a simple command or a flattened compound."""
        t = n.type
        coprocs = self.prep.coprocs
        start = n.start_byte if coprocs else -1
        if start in coprocs and start not in self.used:
            self.used.add(start)
            inner = self.element(n, reds)
            return Compound("coproc", Program((Pipeline((inner,)),)), name=coprocs[start])
        if t == "command":
            return self.command(n.children, reds, ())
        if t == "redirected_statement":
            body, rs = self.split_redirected(n)
            rs = rs + (reds or [])
            if body is not None and body.type in _LISTY:
                raise Unparseable(f"unexpected {body.type} with redirects")
            return self.command([], rs, ()) if body is None else self.element(body, rs)
        if t in ("variable_assignment", "variable_assignments"):
            kids = [n] if t == "variable_assignment" else n.children
            return self.command(kids, reds, ())
        if t in ("declaration_command", "unset_command"):
            kids = n.children
            return self.command(kids[1:], reds, (_lit(kids[0].type),))
        if t == "test_command" and n.children[0].type == "[":
            return self.bracket(n, reds)
        self.nest += 1
        if self.nest + self.depth > _MAX_DEPTH * 2:
            raise Unparseable("commands nest too deeply to check")
        node = self.compound(n, t, self.redirects(reds))
        self.nest -= 1
        return node

    def compound(self, n: TSNode, t: str, rs: tuple[Redirect, ...]) -> Compound:
        """A compound command, control flow flattened: every branch goes into body."""
        kids = n.children
        out: list[Pipeline] = []
        words_: list[Word] = []
        kind, name = t, ""
        if t == "subshell":
            self.stmts(kids, out, False)
        elif t == "compound_statement" and kids[0].type == "((":
            kind = "arith"
            words_.append(words.arith_word(self.text(kids[0].end_byte, kids[-1].start_byte),
                                           self.sub))
        elif t == "compound_statement":
            kind = "group"
            self.stmts(kids, out, False)
        elif t == "if_statement":
            kind = "if"
            self.stmts(kids, out, False)
        elif t == "while_statement":
            kind = kids[0].type
            self.stmts(kids, out, False)
        elif t == "for_statement":
            kind = kids[0].type
            items = [(c.start_byte, c.end_byte, _ARG, c) for c in kids[2:] if c.type in _WORDISH]
            words_.extend(w for g in self.merge(items) for w in self.words(g[0], g[1]))
            self.stmts([c for c in kids if c.type in ("do_group", "compound_statement")], out,
                       False, False)
        elif t == "c_style_for_statement":
            kind = "for"
            a = next(c for c in kids if c.type == "((")
            z = next(c for c in kids if c.type == "))")
            words_.append(words.arith_word(self.text(a.end_byte, z.start_byte), self.sub))
            self.stmts([c for c in kids if c.type in ("do_group", "compound_statement")], out,
                       False, False)
        elif t == "case_statement":
            kind = "case"
            subject = [c for c in kids if c.type in _WORDISH]
            words_.extend(self.word_of(c.start_byte, c.end_byte) for c in subject[:1])
            for item in kids:
                if item.type == "case_item":
                    pats = [(c.start_byte, c.end_byte, _ARG, c) for c in item.children
                            if c.type in _WORDISH]
                    words_.extend(self.word_of(g[0], g[1]) for g in self.merge(pats))
                    self.stmts([c for c in item.children if c.type not in _WORDISH], out, False,
                               False)
        elif t == "function_definition":
            kind = "function"
            fname, body = n.child_by_field_name("name"), n.child_by_field_name("body")
            if fname is None or body is None:
                raise Unparseable("a function definition without its name or body")
            name = self.text(fname.start_byte, fname.end_byte)
            out.append(Pipeline((self.element(body, None),)))
            rs = rs + self.redirects([c for c in kids if c.type in _REDIRECTS])
        elif t == "test_command":
            kind = "test"
            leaves: list[Any] = []
            self.leaves(n, leaves)
            for s, e, k, _, _ in self.merge(leaves):
                words_.append(words.word(self.text(s, e), self.sub, regex=k == _REGEX))
        else:
            raise Unparseable(f"unsupported construct: {t}")
        return Compound(kind, Program(tuple(out)), tuple(words_), rs, name)

    def leaves(self, n: TSNode, out: list[Any]) -> None:
        """The operand words of a [[ ]] expression, in byte order."""
        for c in n.children:
            t = c.type
            if t in _WORDISH:
                out.append((c.start_byte, c.end_byte, _REGEX if t == "regex" else _ARG, c))
            elif t in _EXPRS:
                self.leaves(c, out)
            elif t == "comment":
                self.comment(c)
            elif c.is_named and t != "test_operator":
                raise Unparseable(f"unexpected {t} in [[ ]]")

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
            argv = [_lit("["), *argv, _lit("]")]
        return SimpleCommand(tuple(argv), (), self.redirects(reds))

    def command(self, kids: list[TSNode], reds: list[TSNode] | None,
                lead: tuple[Word, ...]) -> SimpleCommand:
        """A simple command from its children and any trailing redirects (C1, C4-C6)."""
        groups: list[Group] = []
        rlist: list[Queued] = []
        end = -1
        for c in kids:
            if c.kind_id in _WORD_IDS:  # ints: cheaper than c.type on this hot path
                s = c.start_byte
                if end < 0 or (s != end and self.src[end] != 92):  # a new word (usual; inlined)
                    end = c.end_byte
                    groups.append([s, end, _ARG, c, 1])
                else:
                    self.add(groups, s, c.end_byte, _ARG, c)
                    end = groups[-1][1]
                continue
            t = c.type
            if t == "variable_assignment":
                value = c.child_by_field_name("value")
                array = value is not None and value.type == "array"
                kind = _ARRAY if lead and array else _ARG if lead else _ASSIGN
                if kind == _ASSIGN and not _valid_name(self.src, c):
                    if array:
                        raise Unparseable("array assignment to an invalid name")
                    kind = _ARG  # `1A=2 cmd`: not an assignment, bash runs `1A=2`
                self.add(groups, c.start_byte, c.end_byte, kind, c)
            elif t in _REDIRECTS:
                self.redirect(c, groups, rlist)
            elif t == "comment":
                self.comment(c)
            elif not c.is_named:  # `probe == x`: tree-sitter makes `==` an anonymous argument
                self.add(groups, c.start_byte, c.end_byte, _ARG, c)
            else:
                raise Unparseable(f"unexpected {t} in a simple command")
            end = groups[-1][1] if groups else -1
        for c in reds or ():
            self.redirect(c, groups, rlist)
        if groups and self.audit:
            self.gaps(list(kids) + (reds or []))
        argv, assigns = list(lead), []
        src, cache = self.src, _WORDS
        for s, e, kind, node, count in groups:
            if kind == _ARG:
                if rlist and self.braces and self.fd_var(s, e, rlist):
                    continue
                hit = cache.get(src[s:e])
                argv.extend(hit if hit is not None else self.words(s, e))
            elif kind == _DEST:
                r = rlist[node]
                if r[4] is None and r[2] is None:
                    r[4] = self.word_of(s, e)
                else:
                    argv.extend(self.words(s, e))
            elif kind == _ASSIGN:
                assigns.append(self.assign(node, e, count))
            else:
                argv.append(self.array_word(node, e, count))
        if argv and not assigns and not lead and argv[0][0] in _RESERVED:
            raise Unparseable(f"reserved word {argv[0].text!r} read as a command name")
        return SimpleCommand(tuple(argv), tuple(assigns),
                             tuple(_redirect(r) for r in rlist) if rlist else ())

    def gaps(self, nodes: list[TSNode], newlines: bool = False) -> None:
        """Between nodes bash sees only blanks and backslash-newlines (and newlines if allowed).

        tree-sitter can read a newline as a blank (`a⏎b` as one command) and can drop an
        escaped blank (`x \\ y` loses the word " "): both are refused, the first retried.
        """
        src, end = self.masked, -1
        for c in nodes:
            s = c.start_byte
            if end >= 0 and s > end:
                rest = src[end:s].replace(b"\\\n", b"").strip(b" \t\n" if newlines else b" \t")
                if b"\n" in rest:
                    raise _Retry("tree-sitter joined lines that bash keeps apart")
                if rest:
                    raise Unparseable(f"tree-sitter skipped {rest[:20]!r} inside a command")
            end = c.end_byte

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
        for ch in c.children:
            t = ch.type
            if t == "file_descriptor":
                fd = self.text(ch.start_byte, ch.end_byte)
                if fd.isdigit() and fd.isascii():
                    r[1] = fd
                else:  # `-2>&1`: tree-sitter takes -2 for an fd; bash, for a word
                    self.add(groups, ch.start_byte, ch.end_byte, _ARG, ch)
            elif not ch.is_named:
                r[0], op_at = t, ch.start_byte
                if t == ">>" and op_at in self.prep.rw:
                    r[0] = "<>"
            elif t == "comment":
                self.comment(ch)
            elif t not in _WORDISH:
                raise Unparseable(f"unexpected {t} in a redirect")
            elif r[0] == "<" and r[2] is None and op_at in self.prep.heredocs:
                end, doc = self.prep.heredocs[op_at]
                if (ch.start_byte, ch.end_byte) != (op_at + 1, end) or op_at in self.used:
                    raise Unparseable("here-document operator misread")
                self.used.add(op_at)
                r[0], r[2] = "<<-" if doc.strip_tabs else "<<", doc
            else:
                self.add(groups, ch.start_byte, ch.end_byte, _DEST, idx)
        if r[0] in ("<&-", ">&-"):
            r[0], r[4] = r[0][:2], _lit("-")
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
                self.comment(c)
            elif c.type in _WORDISH:
                items.append((c.start_byte, c.end_byte, _ARG, c))
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

    def comment(self, c: TSNode) -> None:
        """A `#` counts as a comment only where bash starts one: at the start of a word."""
        s = c.start_byte
        while s >= 2 and self.src[s - 2:s] == b"\\\n":  # `a\⏎#` is the word a#
            s -= 2
        if s and (self.src[s - 1] not in _COMMENT_BEFORE or self.src[s - 1:s + 1] == b"\\\n"):
            raise Unparseable("tree-sitter read a comment in the middle of a word")


def _valid_name(src: bytes, c: TSNode) -> bool:
    """Whether an assignment's name is NAME or NAME[...], so bash assigns rather than runs it."""
    node = c.child_by_field_name("name")
    base = src[c.start_byte:node.end_byte if node else c.start_byte].split(b"[", 1)[0]
    return bool(base) and not base[:1].isdigit() and base.replace(b"_", b"a").isalnum() and \
        base.isascii()


def _with_redirect(el: Node, r: Redirect) -> Node:
    if isinstance(el, SimpleCommand):
        return SimpleCommand(el.argv, el.assigns, el.redirects + (r,))
    return Compound(el.kind, el.body, el.words, el.redirects + (r,), el.name)


def _lit(text: str) -> Word:
    return Word(text, (Part(PartKind.LIT, text),))


def _redirect(r: Queued) -> Redirect:
    op, fd, doc, _, target = r
    if doc is None and target is None:
        raise Unparseable("a redirect without its target")
    if op == ">&" and fd is None and target.literal and not target.literal.isdigit() \
            and target.literal != "-":
        op = "&>"  # `>&file` sends stdout and stderr to file, as `&>file` does
    return Redirect(op, fd, target, doc)


def _is_redirect_at(root: TSNode, op: int, end: int) -> bool:
    """Whether tree-sitter sees a `<` redirect with the masked heredoc word at op."""
    node = root.descendant_for_byte_range(op, op + 1)
    parent = node.parent if node is not None else None
    if node is None or node.type != "<" or parent is None or parent.type != "file_redirect":
        return False
    return any((c.start_byte, c.end_byte) == (op + 1, end) for c in parent.children)


def _statement_at(root: TSNode, j: int) -> bool:
    """Whether a command or compound starts at byte j."""
    node = root.descendant_for_byte_range(j, j + 1)
    while node is not None and node.start_byte == j:
        if node.type in _STATEMENTS:
            return True
        node = node.parent
    return False


def _check_backquotes(root: TSNode, src: bytes) -> None:
    """C7: a backquoted substitution must end at the first unescaped backquote after it opens."""
    stack = [root]
    while stack:
        n = stack.pop()
        if n.type == "command_substitution" and n.children and n.children[0].type == "`":
            i = n.start_byte + 1
            while i < len(src) and src[i] != 96:
                i += 2 if src[i] == 92 else 1
            if i + 1 != n.end_byte:
                raise Unparseable("a backquoted substitution ends at the wrong backquote")
            continue  # its body is parsed again from its unescaped text, and checked there
        stack.extend(n.children)


def _syntax_error(root: TSNode, src: bytes) -> str:
    stack = [root]
    while stack:
        n = stack.pop()
        if n.is_error or n.is_missing:
            line = src[:n.start_byte].count(b"\n") + 1
            near = src[n.start_byte:n.start_byte + 30].decode("utf-8", "replace").split("\n")[0]
            what = f"missing {n.type!r}" if n.is_missing else f"near {near!r}"
            return f"syntax error (tree-sitter-bash) on line {line}, {what}"
        stack.extend(reversed([c for c in n.children if c.has_error or c.is_missing]))
    return "syntax error (tree-sitter-bash)"


def _get_parser() -> Parser:
    """The tree-sitter parser, built once per process."""
    global _parser
    if _parser is None:
        try:
            ts, tsb = _load_binding("tree_sitter"), _load_binding("tree_sitter_bash")
        except (ImportError, OSError):
            import tree_sitter as ts
            import tree_sitter_bash as tsb
        lang = ts.Language(tsb.language())
        global _WORD_IDS
        _WORD_IDS = frozenset(i for i in range(lang.node_kind_count) if lang.node_kind_is_named(i)
                              and lang.node_kind_for_id(i) in _WORDISH | {"command_name"})
        _parser = ts.Parser(lang)
    return _parser


def _load_binding(package: str) -> ModuleType:
    """Load package's compiled `_binding` directly, skipping the package's heavy __init__.

    `import tree_sitter` pulls in typing, and tree_sitter_bash importlib.resources: start-up time.
    """
    import os
    from importlib.machinery import EXTENSION_SUFFIXES, ExtensionFileLoader, ModuleSpec
    name = package + "._binding"
    if name in sys.modules:
        return sys.modules[name]
    for folder in sys.path:
        if not os.path.isabs(folder):  # never load code from the (agent-writable) cwd
            continue
        for suffix in EXTENSION_SUFFIXES:
            path = os.path.join(folder, package, "_binding" + suffix)
            if os.path.isfile(path):
                loader = ExtensionFileLoader(name, path)
                module = loader.create_module(ModuleSpec(name, loader, origin=path))
                loader.exec_module(module)
                sys.modules[name] = module
                return module
    raise ImportError(f"no compiled binding for {package}")
