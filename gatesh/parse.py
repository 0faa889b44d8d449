"""Command text to gatesh's IR: tree-sitter-bash, corrected as parsing.md section 7 says.

Anything tree-sitter flags, or that gatesh cannot vouch for, raises Unparseable.
"""

from __future__ import annotations

from gatesh import heredoc, treesit
from gatesh.errors import Unparseable, UnterminatedHeredoc
from gatesh.model import Compound, Node, Pipeline, Program, Redirect, SimpleCommand
from gatesh.model import lit
from gatesh.plainline import plain_program
from gatesh.simplecmd import SimpleBuilder
from gatesh.treesit import CLAUSES, LISTY, REDIRECTS, Retry, check_comment, check_gaps

TYPE_CHECKING = False  # importing typing would cost start-up time on every gatesh -c
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any

    from tree_sitter import Node as TSNode, Parser

__all__ = ["parse"]

_MAX_DEPTH = 50
_ASCII = bytes(range(128)) + b"x" * 128   # translate table: non-ASCII bytes -> x
_EMPTY = Program(())
_parser: Parser | None = None


def parse(text: str) -> Program:
    """Parse one command line (or script) into a Program; raise Unparseable when unsure."""
    try:
        return _parse(text, 0)
    except Unparseable as e:
        closed = _closed_at_eof(text, e)
        if closed is None:
            raise
        return closed
    except RecursionError:
        raise Unparseable("command nests too deeply to check") from None
    except Exception as e:  # a gate must fail closed, whatever went wrong
        detail = " ".join(str(e).split())[:120]
        raise Unparseable(f"internal parser error ({type(e).__name__}: {detail})") from e


def _closed_at_eof(text: str, err: Unparseable) -> Program | None:
    """bash ends a here-document the text never terminates at the end of the text (with a
    warning) and runs the command: so does the gate, by writing the missing delimiters."""
    for _ in range(8):
        if not isinstance(err, UnterminatedHeredoc):
            return None
        text = text + ("" if text.endswith("\n") else "\n") + err.delim + "\n"
        try:
            return _parse(text, 0)
        except Unparseable as again:
            err = again
        except RecursionError:
            return None
    return None


def _parse(text: str, depth: int) -> Program:
    if depth > _MAX_DEPTH:
        raise Unparseable("substitutions nest too deeply to check")
    plain = plain_program(text)
    if plain is not None:
        return plain
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
    except Retry as first:
        try:
            return _build(src, depth, True)
        except Unparseable:
            raise Unparseable(str(first)) from None  # plain: no retry at an outer level


def _build(src: bytes, depth: int, retry: bool) -> Program:
    b = Builder(src, depth)
    prep = heredoc.prepare(src, b.sub, retry)
    if prep is not None:
        b.prep, b.negs, b.masked = prep, prep.negations, prep.masked
    if not b.masked.isascii():
        # bash reads every non-ASCII byte as a word character; tree-sitter-bash can crash on
        # some (`a{` + U+56E8D segfaults 0.25.1), so it sees `x` for each: same structure
        b.masked = b.masked.translate(_ASCII)
    root = _get_parser().parse(b.masked).root_node
    if root.has_error:
        error = Retry if b"{" in src and not retry else Unparseable
        raise error(treesit.syntax_error(root, src))
    if b"-" in b.masked:
        treesit.check_dashes(root, b.masked)
    out: list[Pipeline] = []
    b.stmts(root.children, out, False)
    if prep is not None:
        for op, (end, _doc) in prep.heredocs.items():
            if op not in b.used and not treesit.is_redirect_at(root, op, end):
                raise Unparseable("a here-document operator is not where tree-sitter sees one")
        for j in prep.keywords:
            if not treesit.statement_at(root, j):
                raise Unparseable("a keyword (time, coproc, !) is not followed by a command")
    if b"`" in src:
        treesit.check_backquotes(root, src)
    return Program(tuple(out)) if out else _EMPTY


def _get_parser() -> Parser:
    """The tree-sitter parser, built once per process (kept here: tests spy on _parser)."""
    global _parser
    if _parser is None:
        _parser = treesit.new_parser()
    return _parser


class Builder(SimpleBuilder):
    """Builds IR nodes from one tree: statements, lists and pipelines on simple commands."""

    __slots__ = ()

    def sub(self, text: str) -> Program:
        """Parse a substitution's body, one level deeper."""
        return _parse(text, self.depth + 1)

    def stmts(self, kids: list[TSNode], out: list[Pipeline], bg_all: bool,
              whole: bool = True) -> None:
        """Statements among kids (keywords and separators skipped), appended to out.

        whole: kids are all the children of a node, so the text between them is checked.
        """
        if whole and self.audit:
            check_gaps(self.masked, kids, True)
        for k, c in enumerate(kids):
            if not c.is_named:
                continue
            t = c.type
            if t == "comment":
                check_comment(self.src, c)
            elif t in CLAUSES:
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
            if body is None or body.type not in LISTY:
                out.append(Pipeline((self.element(c, reds),), self.negated(c, False), bg))
                return
        elif t not in LISTY:
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
        if body is not None and body.type in LISTY:
            n, t = body, body.type
        else:
            rs = []
        if t in ("list", "pipeline"):
            if self.audit:
                check_gaps(self.masked, n.children, True)
            for ch in n.children:
                if ch.is_named:
                    if ch.type == "comment":
                        check_comment(self.src, ch)
                    else:
                        self.flatten(ch, seq, None)
                    continue
                if self.multiline and seq and not isinstance(seq[-1], str):
                    gap = self.src[seq[-1][2]:ch.start_byte]
                    if b"\n" in gap and gap.replace(b"\\\n", b"").strip(b" \t"):
                        raise Retry("tree-sitter joined lines that bash keeps apart")
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
                    els[k] = _with_redirect(els[k], Redirect(">&", "2", lit("1")))
            out.append(Pipeline(tuple(els), neg, bg))
            item = []

    def named(self, c: TSNode) -> list[TSNode]:
        """Named children, comments checked and left out."""
        out = []
        for ch in c.children:
            if ch.is_named:
                if ch.type == "comment":
                    check_comment(self.src, ch)
                else:
                    out.append(ch)
        return out

    def split_redirected(self, c: TSNode) -> tuple[TSNode | None, list[TSNode]]:
        """The body of a redirected_statement (None for a bare `>file`) and its redirects."""
        body, rs = None, []
        for ch in c.children:
            if ch.type in REDIRECTS:
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
            if body is not None and body.type in LISTY:
                raise Unparseable(f"unexpected {body.type} with redirects")
            return self.command([], rs, ()) if body is None else self.element(body, rs)
        if t in ("variable_assignment", "variable_assignments"):
            kids = [n] if t == "variable_assignment" else n.children
            return self.command(kids, reds, ())
        if t in ("declaration_command", "unset_command"):
            kids = n.children
            return self.command(kids[1:], reds, (lit(kids[0].type),))
        if t == "test_command" and n.children[0].type == "[":
            return self.bracket(n, reds)
        if t == "compound_statement" and n.end_byte - n.start_byte == 2 and \
                self.text(n.start_byte, n.end_byte) == "{}":
            return self.command([], reds, (lit("{}"),))  # a command named `{}`, as bash reads it
        self.nest += 1
        if self.nest + self.depth > _MAX_DEPTH * 2:
            raise Unparseable("commands nest too deeply to check")
        from gatesh.compound import compound  # on first use: most commands have none
        node = compound(self, n, t, self.redirects(reds))
        self.nest -= 1
        return node


def _with_redirect(el: Node, r: Redirect) -> Node:
    if isinstance(el, SimpleCommand):
        return SimpleCommand(el.argv, el.assigns, el.redirects + (r,))
    return Compound(el.kind, el.body, el.words, el.redirects + (r,), el.name)
