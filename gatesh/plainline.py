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
a command word that is a reserved word or declaration builtin, holds a quote, `=`, `@`, `%`,
`+`, `:` or `,`, or starts with `-`; a word starting with `=`; `0<f`; `-` before `2>f`.
"""

from __future__ import annotations

import re

from gatesh.errors import Unparseable
from gatesh.model import Part, PartKind, Pipeline, Program, Redirect, SimpleCommand, Word
from gatesh.words import word as _word, words as _words

__all__ = ["plain_program"]

TYPE_CHECKING = False  # importing typing would cost start-up time on every gatesh -c
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any

_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_FIRST_CHARS = frozenset(_ALNUM + "_./-")                # a command word
_SIMPLE_CHARS = frozenset(_ALNUM + "_./:@%+,=- ")       # literal wherever they stand, and blank
_EXTENDED_MARKS = ("'", '"', "|", "<", ">")   # what the grammar adds to plain words
_FULL_WAY = ("&&", "||", ";", "$", "`")          # lists and expansions, quoted or not
# command words that are keywords or builtins tree-sitter-bash gives their own shape
_SPECIAL_WORDS = frozenset((
    "case", "coproc", "do", "done", "elif", "else", "esac", "fi", "for", "function", "if",
    "in", "select", "then", "time", "until", "while", "declare", "export", "local",
    "readonly", "typeset", "unset"))
_LIT = PartKind.LIT


def plain_program(text: str) -> Program | None:
    """The Program of a plain line (see the module docstring), or None for the full path."""
    if _SIMPLE_CHARS.issuperset(text):  # words only, the usual line: no regex needed
        tokens = text.split(" ")
        first = tokens[0]
        if "" in tokens or first[0] == "-" or not _FIRST_CHARS.issuperset(first) or \
                " =" in text or first in _SPECIAL_WORDS:
            return None  # a blank too many, an odd command word, `=x`, a keyword
        get = _PLAIN_WORDS.get  # inlined _plain_word: a call per word costs more than the lookup
        argv = tuple([get(t) or _plain_word(t) for t in tokens])
        return Program((Pipeline((SimpleCommand(argv),)),))
    if not any(m in text for m in _EXTENDED_MARKS) or any(m in text for m in _FULL_WAY):
        return None  # decided before the grammar is compiled: `gatesh -c 'a && b'` never is
    line, dash_fd, tokens_of = _GRAMMAR or _compile()
    if line(text) is None or " - " in text and dash_fd(text):
        return None
    cmds: list[SimpleCommand] = []
    argv: list[Word] = []
    redirects: list[Redirect] = []
    try:
        for m in tokens_of(text):
            word, target = m.group("word", "to")
            if word is not None:
                if not argv and word in _SPECIAL_WORDS:
                    return None  # a keyword as the command word
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


def _compile() -> list[Any]:
    """The grammar of lines with quotes, pipes and redirects, compiled on first use (about a
    millisecond: `gatesh -c` with a line of plain words never pays it)."""
    first = r"[A-Za-z0-9_./][A-Za-z0-9_./-]*"               # a command word
    char = r"[A-Za-z0-9_./:@%+,=-]"                         # literal wherever it stands
    sq = r"'[ -&(-~]*'"                                     # '...': printable ASCII, no '
    dq = r'"[ #%-\[\]-_a-~]*"'                              # "...": no " $ ` \ ! (nothing expands)
    # a run of plain characters is taken whole (++): a word only ends before a blank, a `|`
    # or the end, so no match splits a run, and not trying to spares a branch per character
    word = rf"(?!=)(?:{char}++|{sq}|{dq})+"
    # > f, >> f, < f, 2>f, 2>&1: an fd of one digit, a file that is a word, an fd to copy
    redirect = rf"(?:[0-9]?>>?|<) ?{word}|[0-9]?>&[0-9](?![^ ])"
    command = rf"{first}(?: (?:{redirect}|{word}))*"
    _GRAMMAR[:] = [re.compile(rf"{command}(?: \| {command})*").fullmatch,
                   re.compile(r" - [0-9]>").search,   # tree-sitter drops the `-` of `cmd - 2>f`
                   re.compile(rf"(?P<fd>[0-9]?)(?P<op>>>|>&|>|<) ?(?P<to>{word})|"
                              rf"(?P<word>{word})|\|").finditer]
    return _GRAMMAR


_GRAMMAR: list[Any] = []   # line fullmatch, `- 2>` search, token finditer


def _no_sub(text: str) -> Program:
    raise Unparseable("no substitution in a plain line")  # never called: nothing expands
