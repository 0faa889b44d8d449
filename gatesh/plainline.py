"""The commonest command lines, read without tree-sitter: plain words, quotes, pipes, files.

`git status`, `grep -r 'a b' src | head -5`, `pnmflip -r90 in.pnm > out.pnm`: a line whose
words are built from characters bash takes literally anywhere (letters, digits and
`_ . / : @ % + , = -`) and from quoted strings with nothing to expand, separated by single
spaces and ` | `, with redirects to such words (`> f`, `>> f`, `< f`, `2>f`, `2>&1`), is a
pipeline of simple commands whose words are what gatesh.words makes of their text.  There
is nothing for tree-sitter to misread and nothing for gatesh to correct, so building the IR
directly gives the Program the full path builds, several times faster (tests/test_plainline.py
checks that the two agree).  Anything else goes the full way, and so do the shapes on which
tree-sitter-bash errs (the full path then refuses or misreads them the same way each time):
a command word with a quote, `=`, `@`, `%`, `+`, `:` or `,`, or starting with `-`; a word
starting with `=`; `0<f`; `-` before an fd redirect; a reserved word or declaration builtin.
"""

from __future__ import annotations

import re

from gatesh.errors import Unparseable
from gatesh.model import Part, PartKind, Pipeline, Program, Redirect, SimpleCommand, Word
from gatesh.words import word as _word, words as _words

__all__ = ["plain_program"]

_FIRST = r"[A-Za-z0-9_./][A-Za-z0-9_./-]*"        # a command word
_CHAR = r"[A-Za-z0-9_./:@%+,=-]"                  # literal wherever it stands
_SQ = r"'[ -&(-~]*'"                               # '...': printable ASCII, no '
_DQ = r'"[ #%-\[\]-_a-~]*"'                        # "...": no " $ ` \ ! (nothing expands)
_WORD = rf"(?!=)(?:{_CHAR}|{_SQ}|{_DQ})+"
# > f, >> f, < f, 2>f, 2>&1: an fd of one digit, a file that is a word, an fd to copy
_REDIRECT = rf"(?:[0-9]?>>?|<) ?{_WORD}|[0-9]?>&[0-9](?![^ ])"
_COMMAND = rf"{_FIRST}(?: (?:{_REDIRECT}|{_WORD}))*"
_SIMPLE = re.compile(rf"{_FIRST}(?: (?!=){_CHAR}+)*").fullmatch   # no quote, no pipe: most
_LINE = re.compile(rf"{_COMMAND}(?: \| {_COMMAND})*").fullmatch
_DASH_FD = re.compile(r" - [0-9]>").search   # tree-sitter drops the `-` of `cmd - 2>f`
_TOKENS = re.compile(rf"(?P<fd>[0-9]?)(?P<op>>>|>&|>|<) ?(?P<to>{_WORD})|"
                     rf"(?P<word>{_WORD})|\|").finditer
# words that are keywords or builtins tree-sitter-bash gives their own shape, anywhere
_SPECIAL_WORDS = frozenset((
    "case", "coproc", "do", "done", "elif", "else", "esac", "fi", "for", "function", "if",
    "in", "select", "then", "time", "until", "while", "declare", "export", "local",
    "readonly", "typeset", "unset"))
_LIT = PartKind.LIT


def plain_program(text: str) -> Program | None:
    """The Program of a plain line (see the module docstring), or None for the full path."""
    if _SIMPLE(text) is not None:
        tokens = text.split(" ")
        if not _SPECIAL_WORDS.isdisjoint(tokens):
            return None
        return Program((Pipeline((SimpleCommand(tuple(map(_plain_word, tokens))),)),))
    if _LINE(text) is None or " - " in text and _DASH_FD(text):
        return None
    cmds: list[SimpleCommand] = []
    argv: list[Word] = []
    redirects: list[Redirect] = []
    try:
        for m in _TOKENS(text):
            word, target = m.group("word", "to")
            if word is not None:
                if word in _SPECIAL_WORDS:
                    return None
                argv.extend(_words(word, _no_sub) if "'" in word or '"' in word
                            else (_plain_word(word),))
            elif target is not None:
                fd, op = m.group("fd", "op")
                redirects.append(Redirect(op, fd or None, _word(target, _no_sub)))
            else:  # |
                cmds.append(SimpleCommand(tuple(argv), (), tuple(redirects)))
                argv, redirects = [], []
    except Unparseable:
        return None
    cmds.append(SimpleCommand(tuple(argv), (), tuple(redirects)))
    return Program((Pipeline(tuple(cmds)),))


def _plain_word(text: str) -> Word:
    """The Word of unquoted literal text, kept by text: most words repeat (`-r`, `install`)."""
    word = _PLAIN_WORDS.get(text)
    if word is None:
        if len(_PLAIN_WORDS) > 50000:
            _PLAIN_WORDS.clear()
        word = _PLAIN_WORDS[text] = Word(text, (Part(_LIT, text),))
    return word


_PLAIN_WORDS: dict[str, Word] = {}


def _no_sub(text: str) -> Program:
    raise Unparseable("no substitution in a plain line")  # never called: nothing expands
