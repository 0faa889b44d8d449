"""Compound commands for the IR builder: subshells, groups, if, loops, case, functions, [[ ]].

gatesh.parse imports it on the first compound it meets: most commands have none (start-up time).
"""

from __future__ import annotations

from gatesh import words
from gatesh.errors import Unparseable
from gatesh.model import Compound, Pipeline, Program, Redirect, Word
from gatesh.simplecmd import ARG, REGEX
from gatesh.treesit import EXPRS, REDIRECTS, WORDISH, check_comment

TYPE_CHECKING = False  # importing typing would cost start-up time on every gatesh -c
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any

    from tree_sitter import Node as TSNode

    from gatesh.parse import Builder

__all__ = ["compound"]


def compound(b: Builder, n: TSNode, t: str, rs: tuple[Redirect, ...]) -> Compound:
    """A compound command, control flow flattened: every branch goes into body."""
    kids = n.children
    out: list[Pipeline] = []
    words_: list[Word] = []
    kind, name = t, ""
    if t == "subshell":
        b.stmts(kids, out, False)
    elif t == "compound_statement" and kids[0].type == "((":
        kind = "arith"
        words_.append(words.arith_word(b.text(kids[0].end_byte, kids[-1].start_byte), b.sub))
    elif t == "compound_statement":
        kind = "group"
        b.stmts(kids, out, False)
    elif t == "if_statement":
        kind = "if"
        b.stmts(kids, out, False)
    elif t == "while_statement":
        kind = kids[0].type
        b.stmts(kids, out, False)
    elif t == "for_statement":
        kind = kids[0].type
        items = [(c.start_byte, c.end_byte, ARG, c) for c in kids[2:] if c.type in WORDISH]
        words_.extend(w for g in b.merge(items) for w in b.words(g[0], g[1]))
        b.stmts([c for c in kids if c.type in ("do_group", "compound_statement")], out,
                False, False)
    elif t == "c_style_for_statement":
        kind = "for"
        a = next(c for c in kids if c.type == "((")
        z = next(c for c in kids if c.type == "))")
        words_.append(words.arith_word(b.text(a.end_byte, z.start_byte), b.sub))
        b.stmts([c for c in kids if c.type in ("do_group", "compound_statement")], out,
                False, False)
    elif t == "case_statement":
        kind = "case"
        subject = [c for c in kids if c.type in WORDISH]
        words_.extend(b.word_of(c.start_byte, c.end_byte) for c in subject[:1])
        for item in kids:
            if item.type == "case_item":
                pats = [(c.start_byte, c.end_byte, ARG, c) for c in item.children
                        if c.type in WORDISH]
                words_.extend(b.word_of(g[0], g[1]) for g in b.merge(pats))
                b.stmts([c for c in item.children if c.type not in WORDISH], out, False,
                        False)
    elif t == "function_definition":
        kind = "function"
        fname, body = n.child_by_field_name("name"), n.child_by_field_name("body")
        if fname is None or body is None:
            raise Unparseable("a function definition without its name or body")
        name = b.text(fname.start_byte, fname.end_byte)
        out.append(Pipeline((b.element(body, None),)))
        rs = rs + b.redirects([c for c in kids if c.type in REDIRECTS])
    elif t == "test_command":
        kind = "test"
        leaves: list[Any] = []
        _leaves(b, n, leaves)
        for s, e, k, _, _ in b.merge(leaves):
            words_.append(words.word(b.text(s, e), b.sub, regex=k == REGEX))
    else:
        raise Unparseable(f"unsupported construct: {t}")
    return Compound(kind, Program(tuple(out)), tuple(words_), rs, name)


def _leaves(b: Builder, n: TSNode, out: list[Any]) -> None:
    """The operand words of a [[ ]] expression, in byte order."""
    for c in n.children:
        t = c.type
        if t in WORDISH:
            out.append((c.start_byte, c.end_byte, REGEX if t == "regex" else ARG, c))
        elif t in EXPRS:
            _leaves(b, c, out)
        elif t == "comment":
            check_comment(b.src, c)
        elif c.is_named and t != "test_operator":
            raise Unparseable(f"unexpected {t} in [[ ]]")
