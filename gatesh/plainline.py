"""The commonest command lines, read without tree-sitter: plain words, quotes and pipes.

`git status`, `ls -la src/`, `grep -r 'a b' src | head -5`: a line whose words are built from
characters bash takes literally anywhere (letters, digits, `_ . / : @ % + , = -`) and from
quoted strings with nothing to expand, separated by single spaces and ` | `, is a pipeline
of simple commands whose words are what gatesh.words makes of their text.  There is nothing
for tree-sitter to misread and nothing for gatesh to correct, so building the IR directly
gives the Program the full path builds, about ten times faster (tests/test_plainline.py
checks that the two agree).  Anything else goes the full way, and so do the few shapes on
which tree-sitter-bash errs (so the full path refuses them): a command word with a quote,
`=`, `@`, `%`, `+`, `:` or `,`, or starting with `-`; a word starting with `=`; a reserved
word or declaration builtin anywhere.
"""

from __future__ import annotations

import re

from gatesh.errors import Unparseable
from gatesh.model import Part, PartKind, Pipeline, Program, SimpleCommand, Word
from gatesh.words import words as _words

__all__ = ["plain_program"]

_FIRST = r"[A-Za-z0-9_./][A-Za-z0-9_./-]*"        # a command word
_CHAR = r"[A-Za-z0-9_./:@%+,=-]"                  # literal wherever it stands
_SQ = r"'[ -&(-~]*'"                               # '...': printable ASCII, no '
_DQ = r'"[ #%-\[\]-_a-~]*"'                        # "...": no " $ ` \ ! (nothing expands)
_WORD = rf"(?!=)(?:{_CHAR}|{_SQ}|{_DQ})+"
_SIMPLE = re.compile(rf"{_FIRST}(?: (?!=){_CHAR}+)*").fullmatch   # no quote, no pipe: most
_LINE = re.compile(rf"{_FIRST}(?: {_WORD})*(?: \| {_FIRST}(?: {_WORD})*)*").fullmatch
_TOKENS = re.compile(rf"(?:{_CHAR}|{_SQ}|{_DQ})+|\|").findall
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
    if _LINE(text) is None:
        return None
    tokens = _TOKENS(text)
    if not _SPECIAL_WORDS.isdisjoint(tokens):
        return None
    cmds: list[SimpleCommand] = []
    argv: list[Word] = []
    try:
        for t in tokens:
            if t == "|":
                cmds.append(SimpleCommand(tuple(argv)))
                argv = []
            elif "'" in t or '"' in t:
                argv.extend(_words(t, _no_sub))
            else:
                argv.append(_plain_word(t))
    except Unparseable:
        return None
    cmds.append(SimpleCommand(tuple(argv)))
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
