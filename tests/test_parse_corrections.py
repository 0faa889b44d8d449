"""parsing.md section 7: one case per correction C1-C10 (and the later ones), checked against bash.

bash runs each command with PATH pointing nowhere, so every external command only reports its
argv (parsetools.bash_argvs); the IR must name the same commands with the same arguments.
"""

from __future__ import annotations

import os

import pytest

from gatesh.errors import Unparseable
from gatesh.parse import parse
from parsetools import bash_argvs, bash_builtins, dump, executed

BUILTINS = bash_builtins()


def external(text: str, env: dict[str, str] | None = None) -> list[list[str | None]]:
    """The external commands of the IR, as bash_argvs reports them."""
    return sorted((a for a in executed(parse(text), env) if a[0] not in BUILTINS), key=repr)


def agree(text: str, cwd: str, env: dict[str, str] | None = None) -> list[list[str | None]]:
    """The IR's external commands, once they match what bash ran (None: any value)."""
    got = external(text, env)
    ran = sorted(bash_argvs(text, cwd, env), key=repr)
    assert len(got) == len(ran), (got, ran)
    for g, r in zip(got, ran):
        assert len(g) == len(r) and all(x is None or x == y for x, y in zip(g, r)), (got, ran)
    return got


@pytest.fixture
def cwd(tmp_path: object) -> str:
    return str(tmp_path)


def test_c1_words_after_a_redirect_are_arguments(cwd: str) -> None:
    assert dump(parse("rm >/dev/null -rf /x")) == "rm -rf /x >/dev/null"
    assert agree("rm >/dev/null -rf /x", cwd) == [["rm", "-rf", "/x"]]
    assert agree("grep 2>/dev/null -q pat /etc/shells", cwd) == [["grep", "-q", "pat",
                                                                    "/etc/shells"]]
    assert agree('probe "a" >&2 "b"', cwd) == [["probe", "a", "b"]]
    assert dump(parse("cat <<EOF -n\nx\nEOF")) == "cat -n <<:EOF"


def test_c2_backquotes_in_an_unquoted_heredoc_body_run(cwd: str) -> None:
    text = "cat <<EOF\n`rm -rf ~` ${x:-`shred k`} \\`not\\`\nEOF"
    assert dump(parse(text)) == "cat <<:EOF{rm -rf ~}{shred k}"
    assert agree(text, cwd) == [["cat"], ["rm", "-rf", "~"], ["shred", "k"]]
    assert agree("cat <<'EOF'\n`rm -rf ~`\nEOF", cwd) == [["cat"]]


def test_c3_heredoc_bodies_are_bounded_by_gatesh(cwd: str) -> None:
    text = "bash <<EOF\n\\rm -rf ~\nEOF"
    assert dump(parse(text)) == "bash <<:EOF"
    assert agree(text, cwd) == [["bash"]]   # the body is bash's stdin, not more arguments
    (cmd,) = parse(text).pipelines[0].elements
    assert cmd.redirects[0].heredoc.body == "\\rm -rf ~\n"
    text = "python3 - <<'PY' 2>&1 | tail -20\nimport os\nPY"
    assert dump(parse(text)) == "python3 - <<q:PY 2>&1 | tail -20"
    assert agree(text, cwd) == [["python3", "-"], ["tail", "-20"]]
    text = "git commit -m \"$(cat <<'EOF'\nFix ) things\nEOF\n)\""
    assert agree(text, cwd) == [["cat"], ["git", "commit", "-m", None]]


def test_c4_backslash_newline_inside_a_word_joins_it(cwd: str) -> None:
    assert agree("r\\\nm -rf /x", cwd) == [["rm", "-rf", "/x"]]
    assert agree("rm -r\\\nf /x", cwd) == [["rm", "-rf", "/x"]]
    assert agree("rm \\\n  -rf \\\n /x", cwd) == [["rm", "-rf", "/x"]]


def test_c5_a_quoted_part_then_an_escape_is_one_word(cwd: str) -> None:
    assert agree("'r'\\m -rf x", cwd) == [["rm", "-rf", "x"]]
    assert agree("'path\\to\\venv'\\Scripts\\activate.bat", cwd) == [
        ["path\\to\\venvScriptsactivate.bat"]]
    assert agree("\"r\"'m' -\\r\\f x", cwd) == [["rm", "-rf", "x"]]


def test_c6_dollar_slash_dollar_is_one_word(cwd: str) -> None:
    os.makedirs(os.path.join(cwd, "a", "b"))
    probe = os.path.join(cwd, "a", "b", "bin")
    with open(probe, "w") as f:  # a path is run directly: this one reports its argv too
        f.write("#!/bin/sh\nIFS=$(printf '\\037'); printf '%s\\037\\036' \"$0$IFS$*\" >&9\n")
    os.chmod(probe, 0o755)
    assert dump(parse("$X/$Y/bin -rf /x")) == "${X}/${Y}/bin -rf /x"
    assert agree("$X/$Y/bin -rf /x", cwd, {"X": "a", "Y": "b"}) == [["a/b/bin", "-rf", "/x"]]


def test_c7_a_backquote_substitution_ends_at_the_first_backquote(cwd: str) -> None:
    # tree-sitter runs `echo a` on to the next line (#278) and reads `a` `b` as one
    # substitution: the heredoc pass masks each backquoted substitution to `___` (it is part
    # of one word either way) and gatesh.words ends it at the first unescaped backquote
    text = "echo `echo a`\necho ` rm x`"
    assert dump(parse(text)) == "echo $(echo a) ; echo $(rm x)"
    assert agree(text, cwd) == [["rm", "x"]]
    assert agree("echo ` rm x` `shred y`", cwd) == [["rm", "x"], ["shred", "y"]]
    assert agree("echo `echo \\`rm x\\``", cwd) == [["rm", "x"]]
    assert agree("probe \"`date -u` and `id -u`\" \"`mktemp`\"", cwd) == [
        ["date", "-u"], ["id", "-u"], ["mktemp"], ["probe", None, None]]


def test_c8_arithmetic_in_a_heredoc_is_not_a_command(cwd: str) -> None:
    text = "cat <<EOF\n$((1+2)) $(( $(rm x) + 1 ))\nEOF"
    assert dump(parse(text)) == "cat <<:EOF{rm x}"
    assert agree(text, cwd) == [["cat"], ["rm", "x"]]


def test_c9_a_bracket_glob_command_word_is_not_a_test(cwd: str) -> None:
    assert dump(parse("[abc]")) == "[abc]"
    assert agree("[abc]", cwd) == [["[abc]"]]
    assert agree("[!a]", cwd) == [["[!a]"]]
    assert dump(parse("[ -f x ]")) == "'[' -f x ']'"
    with pytest.raises(Unparseable):  # tree-sitter: an ERROR, fails closed
        parse("[abc] x")


def test_c10_offsets_are_bytes(cwd: str) -> None:
    text = "probe héllo ☃ 🦀 && rm 'é' x"
    assert agree(text, cwd) == [["probe", "héllo", "☃", "🦀"], ["rm", "é", "x"]]
    assert dump(parse("x=é$(rm 'ß') ☃")) == "x='é'$(rm 'ß') '☃'"


# --- beyond parsing.md: more silent tree-sitter mistakes, found while building the IR ------


def test_pipelines_bind_tighter_than_and_or() -> None:
    # tree-sitter reads `a | b | c && d` as a | (b | c && d)
    assert dump(parse("a | b | c && d")) == "a | b | c ; d"
    assert dump(parse("x | y 2>&1 | z || w >o")) == "x | y 2>&1 | z ; w >o"
    assert dump(parse("a && b >o")) == "a ; b >o"   # the redirect belongs to b


def test_newlines_tree_sitter_reads_as_blanks(cwd: str) -> None:
    text = "b | c | d\ne && f"
    assert dump(parse(text)) == "b | c | d ; e ; f"
    assert agree(text, cwd) == [["b"], ["c"], ["d"], ["e"], ["f"]]
    assert dump(parse("{\n  s=0 a=()\n  while read l; do :; done\n}")) == \
        "group{ s=0 a=() ; while{ read l ; : } }"


def test_keywords_before_a_brace_group(cwd: str) -> None:
    assert dump(parse("! { a; } | b")) == "! group{ a } | b"
    assert dump(parse("time { rm x; }")) == "group{ rm x }"
    assert agree("time { rm x; }", cwd) == [["rm", "x"]]
    assert dump(parse("coproc w { cat; }")) == "coproc:w{ group{ cat } }"


def test_brace_expansion_in_command_position(cwd: str) -> None:
    assert agree("{rm,-rf,/x}", cwd) == [["rm", "-rf", "/x"]]


def test_invalid_assignment_names_are_commands(cwd: str) -> None:
    assert agree("1A=2 git reset --hard", cwd) == [["1A=2", "git", "reset", "--hard"]]


def test_words_tree_sitter_glues_together(cwd: str) -> None:
    text = "pageres [ a ] [ b ] x"
    assert agree(text, cwd) == [["pageres", "[", "a", "]", "[", "b", "]", "x"]]


@pytest.mark.parametrize("text, argv", [
    ("probe == x", ["probe", "==", "x"]),          # `==` as an anonymous argument node
    ("probe -2>&1", ["probe", "-2"]),               # -2 taken for a file descriptor
    ("probe ;!x", ["!x"]),                          # `!` glued to a word is not a negation
    ("probe - 2>/dev/null \"$(:)\"", ["probe", "-", None]),   # `-` before an fd redirect was dropped
    ("probe x - 1>&2 \"$(:)\"", ["probe", "x", "-", None]),
    ("probe 0</dev/null x \"$(:)\"", ["probe", "x", None]),   # the 0 of `0<` was read as an argument
])
def test_tokens_tree_sitter_misfiles(cwd: str, text: str, argv: list[str]) -> None:
    assert argv in agree(text, cwd)


@pytest.mark.parametrize("text", [
    "probe \\ a",         # tree-sitter drops the escaped blank: bash passes " a"
    "probe x \\  y",      # ... and the word " " here
    "probe \\ && a",
    "probe a\\\n#",       # `a\⏎#` is the word a#, not a word and a comment
    "- a=b $(:)",         # tree-sitter drops the `-` command word: bash runs `-`, not a=b
    "probe; - a=b",
])
def test_text_tree_sitter_skips_is_refused(text: str) -> None:
    with pytest.raises(Unparseable):
        parse(text)


def test_non_ascii_text_cannot_crash_tree_sitter() -> None:
    """tree-sitter-bash 0.25.1 reads out of bounds on `a{` + U+56E8D and may segfault.

    gatesh shows it `x` for every non-ASCII byte (bash treats them all as word characters).
    A child process runs it many times: a crash there fails this test instead of pytest.
    """
    import subprocess
    import sys
    code = ("from gatesh.parse import parse\nfrom gatesh.errors import Unparseable\n"
            "for _ in range(3000):\n"
            "    for t in ('a{\\U00056e8d', 'a{\\U00080000', 'echo a{\\U0010ffff,b} x'):\n"
            "        try: parse(t)\n"
            "        except Unparseable: pass\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert p.returncode == 0, p.stderr[-500:]
    assert dump(parse("é=1 cmd \U00056e8d")) == "'é=1' cmd '\\U00056e8d'"  # é=1: no assignment


def test_tree_sitter_only_ever_sees_ascii(monkeypatch: pytest.MonkeyPatch) -> None:
    import gatesh.parse as gp
    seen: list[bytes] = []
    real = gp._get_parser()

    class Spy:
        def parse(self, src: bytes) -> object:
            seen.append(src)
            return real.parse(src)

    monkeypatch.setattr(gp, "_parser", Spy())
    for text in ["echo héllo ☃", "a{\U00056e8d", "cat <<É\nbody ü\nÉ", "x=$(echo ß) \udcff"]:
        try:
            parse(text)
        except Unparseable:
            pass
    assert len(seen) >= 4 and all(src.isascii() for src in seen)
