"""gatesh.words: quote removal, expansion parts and brace expansion, checked against bash."""

from __future__ import annotations

import subprocess

import pytest

from gatesh.errors import Unparseable
from gatesh.model import PartKind, Program
from gatesh.words import arith_word, split, word, words
from parsetools import BASH, dump

LIT, GLOB, TILDE, VAR = PartKind.LIT, PartKind.GLOB, PartKind.TILDE, PartKind.VAR
CMDSUB, PROCSUB, OTHER = PartKind.CMDSUB, PartKind.PROCSUB, PartKind.OTHER


def sub(text: str) -> Program:
    from gatesh.parse import parse
    return parse(text)


def kinds(text: str) -> list[tuple[PartKind, str]]:
    (w,) = words(text, sub)
    return [(p.kind, p.text) for p in w.parts]


# Sources whose static value bash prints with `set -f; printf '%s\n' WORD` (no expansion
# beyond brace expansion, so no variable or home directory is involved).
STATIC = [
    "rm", "'r'\\m", "\"r\\m\"", "'a\\b'c", "\"a\\\"b\"", "\"\\$x \\` \\\\ \\q\"", "a\\ b",
    "$'a\\tb\\x41\\101\\u00e9\\cA'", "$'it\\'s'", "$'a\\0b'c", "$\"hi\"", "'r'\\\nm", "a\\\nb",
    "'path\\to\\venv'\\Scripts\\activate.bat", "\"\\btext\\b\"", "partclone.'ext4|btrfs'",
    "''", "\"\"", "a''b", "\\*", "'*'", "*.txt", "[abc]", "x[", "a]b", "$", "a$", "\"$\"",
    "$/x", "$%", "{rm,-rf,/}", "a{1..3}b", "{a,{b,c}}x", "{01..10..3}", "{z..w}", "{-2..2}",
    "{a}", "{}", "x{,y}", "{a,b}{1,2}", "'{a,b}'", "\\{a,b}", "{a..c..2}", "-{a..c}-",
    "{1..3}{x,y}", "\"a\"{b,c}", "é{ß,☃}", "a{},}", "a{}", "a{},b", "a{,}}", "a{b,{},c}",
    "{},{}", "x{}y{a,b}", "a{}b,c}", "a{{},}", "{}a,b}", "a{b{},c}", "a{b,}c}", "{,a}", "''{,}",
    "{a},}", "{a}b,c}", "{a},{b}", "{a}}", "x{a}y,z}", "{a{b},c}", "{a}{b,c}", "{1..2},x}",
    "{a,b}}", "{{a},b}", "{a}x{b,c}d}", "{a}x{b,c}d,e}", "{a}{b},c}",
]


@pytest.mark.parametrize("src", STATIC)
def test_static_value_matches_bash(src: str) -> None:
    script = f"set -f\nprintf '%s\\x1e' {src}\n"
    p = subprocess.run([BASH, "-c", script], capture_output=True, env={"LC_ALL": "C.UTF-8"},
                       timeout=20)
    assert p.returncode == 0, p.stderr
    expected = p.stdout.decode("utf-8", "surrogateescape").split("\x1e")[:-1]
    got = [w.value for w in words(src, sub)]
    assert got == expected


@pytest.mark.parametrize("src, expected", [
    ("abc", [(LIT, "abc")]),
    ("'a b'c\\ d", [(LIT, "a bc d")]),
    ("$HOME/x", [(VAR, "HOME"), (LIT, "/x")]),
    ("${HOME}x", [(VAR, "HOME"), (LIT, "x")]),
    ('"$a-$b"', [(VAR, "a"), (LIT, "-"), (VAR, "b")]),
    ("${x:-y}", [(OTHER, "${x:-y}")]),
    ("$1$@$?$#$$", [(OTHER, "$1"), (OTHER, "$@"), (OTHER, "$?"), (OTHER, "$#"), (OTHER, "$$")]),
    ("$((1+2))", [(OTHER, "$((1+2))")]),
    ("~", [(TILDE, "~")]),
    ("~/x", [(TILDE, "~"), (LIT, "/x")]),
    ("~bob/x", [(TILDE, "~bob"), (LIT, "/x")]),
    ("x~", [(LIT, "x~")]),
    ("'~'/x", [(LIT, "~/x")]),
    ("~'b'/x", [(LIT, "~b/x")]),
    ("*.py", [(GLOB, "*"), (LIT, ".py")]),
    ("a?[bc]d", [(LIT, "a"), (GLOB, "?"), (GLOB, "[bc]"), (LIT, "d")]),
    ("'*'x", [(LIT, "*x")]),
    ("@(a|b)", [(GLOB, "@(a|b)")]),
    ("$(ls)", [(CMDSUB, "$(ls)")]),
    ("`ls`", [(CMDSUB, "`ls`")]),
    ("<(ls)", [(PROCSUB, "<(ls)")]),
    ("a>(ls)", [(LIT, "a"), (PROCSUB, ">(ls)")]),
])
def test_parts(src: str, expected: list) -> None:
    assert kinds(src) == expected


def test_adjacent_literals_merge_and_quoting_is_kept() -> None:
    (w,) = words("'r'm\"-\"x", sub)
    assert [(p.kind, p.text, p.quoted) for p in w.parts] == [(LIT, "rm-x", True)]
    (w,) = words("plain", sub)
    assert w.parts[0].quoted is False
    assert words('"$x"', sub)[0].parts[0].quoted is True


@pytest.mark.parametrize("src, inner", [
    ("$(rm -rf /)", "rm -rf /"),
    ('"$(rm -rf /)"', "rm -rf /"),
    ("`rm -rf /`", "rm -rf /"),
    ("`echo \\`rm x\\``", "echo $(rm x)"),
    ("<(rm -rf /)", "rm -rf /"),
    ('"$(cat <<EOF\n)\nEOF\n)"', "cat <<:EOF"),
    ("$(case x in a) rm y;; esac)", "case[x a]{ rm y }"),
])
def test_substitutions_carry_their_program(src: str, inner: str) -> None:
    (w,) = words(src, sub)
    progs = [p.program for p in w.parts if p.program is not None]
    assert len(progs) == 1 and dump(progs[0]) == inner


@pytest.mark.parametrize("src, inner", [
    ("${x:-$(rm -rf /)}", "rm -rf /"),
    ("${x:-`rm -rf /`}", "rm -rf /"),
    ("$((1 + $(rm x)))", "rm x"),
])
def test_other_expansions_carry_nested_substitutions(src: str, inner: str) -> None:
    (w,) = words(src, sub)
    assert w.parts[0].kind is OTHER and dump(w.parts[0].program) == inner


def test_arith_word() -> None:
    w = arith_word("i < $(n) ", sub)
    assert w.parts[0].kind is OTHER and dump(w.parts[0].program) == "n"
    assert arith_word("i++", sub).parts[0].program is None


def test_brace_expansion_makes_words_with_their_own_text() -> None:
    got = words("pre{a,b}$x", sub)
    assert [w.text for w in got] == ["prea$x", "preb$x"]
    assert [p.kind for p in got[0].parts] == [LIT, VAR]


def test_an_expansion_to_nothing_leaves_no_word() -> None:
    assert words("{,}", sub) == ()
    assert [w.value for w in words("x{,}", sub)] == ["x", "x"]


def test_no_brace_expansion_and_no_glob_where_bash_does_neither() -> None:
    w = word("{a,b}*", sub, glob=False)
    assert w.value == "{a,b}*" and not w.has_glob


@pytest.mark.parametrize("src", [
    "a b", "a;b", "a|b", "a&b", "a\nb", "'open", '"open', "`open", "$(open", "${open",
    "trailing\\", "{1..100000}", "{a,b}" * 13,
])
def test_what_is_not_one_word_is_unparseable(src: str) -> None:
    with pytest.raises(Unparseable):
        words(src, sub)


def test_regex_words_may_hold_parens_bars_and_blanks() -> None:
    assert word("^(a|b c)$", sub, regex=True).value == "^(a|b c)$"


@pytest.mark.parametrize("text, expected", [
    ("-f x", ["-f", "x"]),
    (' "a b"  $(c d) ', ['"a b"', "$(c d)"]),
    ("a \\\n b", ["a", "b"]),
])
def test_split(text: str, expected: list[str]) -> None:
    assert split(text) == expected


def test_split_refuses_operators() -> None:
    with pytest.raises(Unparseable):
        split("a ; b")
