"""The heredoc pass (parsing.md C2, C3): bodies bounded by bash's rules, masks of equal length."""

from __future__ import annotations

import subprocess

import pytest

from gatesh.errors import Unparseable
from gatesh.heredoc import find_subs, prepare
from gatesh.model import Program
from gatesh.parse import parse
from parsetools import BASH, dump


def prep(text: str):  # type: ignore[no-untyped-def]
    return prepare(text.encode(), parse)


def heredocs(text: str) -> list:
    p = prep(text)
    assert p is not None
    return [doc for _, (_, doc) in sorted(p.heredocs.items())]


def test_mask_keeps_every_byte_offset() -> None:
    text = "python3 - <<'PY' 2>&1 | tail -20\nprint('é')\nPY\necho done"
    p = prep(text)
    assert len(p.masked) == len(text.encode())
    assert p.masked.decode() == "python3 - <_____ 2>&1 | tail -20\n" + " " * 11 + "\n  \necho done"
    (op,) = p.heredocs
    assert op == text.index("<<") and p.heredocs[op][0] == text.index(" 2>&1")


def test_no_heredoc_no_mask() -> None:
    assert prep("echo hi | tail") is None
    assert prep("cat <<< 'not a heredoc'") is None
    assert prep("echo $(( 1 << 2 )); (( x <<= 1 ))") is None
    assert prep("echo '<<EOF' \"<<EOF\" # <<EOF") is None


@pytest.mark.parametrize("text, delim, quoted, strip, body", [
    ("cat <<EOF\na $x\nEOF", "EOF", False, False, "a $x\n"),
    ("cat <<'EOF'\na $x\nEOF", "EOF", True, False, "a $x\n"),
    ('cat <<"EOF"\na\nEOF', "EOF", True, False, "a\n"),
    ("cat <<E'O'F\na\nEOF", "EOF", True, False, "a\n"),
    ("cat <<\\EOF\na\nEOF", "EOF", True, False, "a\n"),
    ("cat << \"E O\"\na\nE O", "E O", True, False, "a\n"),
    ("cat <<$'a'\nx\na", "a", True, False, "x\n"),
    ("cat <<-EOF\n\t\tx\n\tEOF", "EOF", False, True, "x\n"),
    ("cat <<''\nx\n\n", "", True, False, "x\n"),
    ("cat <<EOF\nEOF", "EOF", False, False, ""),
    ("cat <<EOF\nEOF \nEOF", "EOF", False, False, "EOF \n"),
    ("cat <<EOF\nx\\\nEOF\nEOF", "EOF", False, False, "x\\\nEOF\n"),   # joined: xEOF
    ("cat <<'EOF'\nx\\\nEOF\nEOF", "EOF", True, False, "x\\\n"),       # quoted: no joining
    ("x=$(cat <<EOF\n)\nEOF\n)", "EOF", False, False, ")\n"),
])
def test_bodies(text: str, delim: str, quoted: bool, strip: bool, body: str) -> None:
    (doc,) = heredocs(text)
    assert (doc.delimiter, doc.quoted, doc.strip_tabs, doc.body) == (delim, quoted, strip, body)


def test_several_heredocs_on_one_line_are_read_in_order() -> None:
    a, b = heredocs("cat <<A - <<-B; echo x\n1\nA\n\t2\n\tB\necho after")
    assert (a.delimiter, a.body, b.delimiter, b.body) == ("A", "1\n", "B", "2\n")
    assert dump(parse("cat <<A <<B\na\nA\nb\nB")) == "cat <<:A <<:B"


@pytest.mark.parametrize("text", [
    "cat <<'EOF'\n$HOME `x` \\$ \\\\\nline2\nEOF",
    "cat <<-EOF\n\tx\n\t\ty\n\tEOF",
    "cat <<A; cat <<'B'\n1 \\t\nA\n2\nB",
    "cat <<'A' <<-B\nfirst\nA\n\tsecond\n\tB\n",
])
def test_bodies_match_what_bash_feeds(text: str) -> None:
    p = subprocess.run([BASH, "-c", text], capture_output=True, timeout=20)
    assert p.returncode == 0 and not p.stderr
    assert p.stdout.decode() == "".join(d.body for d in _fed(text))


def _fed(text: str) -> list:
    """The heredocs cat prints: with two on one command only the last is its stdin."""
    docs = heredocs(text)
    return docs[-1:] if text.startswith("cat <<'A' <<-B") else docs


def test_body_inside_a_substitution_matches_bash() -> None:
    text = "echo \"$(cat <<'EOF'\nin a substitution )\nEOF\n)\""
    p = subprocess.run([BASH, "-c", text], capture_output=True, timeout=20)
    assert p.stdout.decode() == "in a substitution )\n"
    assert dump(parse(text)) == "echo $(cat <<q:EOF)"


@pytest.mark.parametrize("text", [
    "cat <<",
    "echo $(cat <<EOF)\nx\nEOF",
    "x=$(cat <<EOF\nhi\nEOF)",
    "cat <<$(x)\n$(x)",
    "cat <<EOF; echo \"$(a\n)\"\nEOF",
])
def test_unterminated_or_unusual_heredocs_are_unparseable(text: str) -> None:
    with pytest.raises(Unparseable):
        parse(text)


@pytest.mark.parametrize("text, body", [
    ("cat <<EOF\nno terminator", "no terminator\n"),
    ("cat <<EOF\nEOFX\n", "EOFX\n"),
    ("cat <<EOF", ""),
    ("cat <<EOF\nhi\nEOF)\nrm -rf ~", "hi\nEOF)\nrm -rf ~\n"),
])
def test_a_top_level_heredoc_runs_to_the_end_of_the_text(text: str, body: str) -> None:
    # as bash: "here-document delimited by end-of-file", and the command runs
    doc = parse(text).pipelines[0].elements[0].redirects[0].heredoc
    assert doc is not None and doc.body == body


@pytest.mark.parametrize("body, subs", [
    ("$(rm -rf /)", ["rm -rf /"]),
    ("`rm -rf ~`", ["rm -rf ~"]),
    ("a `echo \\`x\\`` b", ["echo `x`"]),
    ("\\`not\\` \\$(not)", []),
    ("$((1+2)) $(( $(inner) ))", ["inner"]),
    ("${x:-`y`} \"$(z)\" '$(w)'", ["y", "z", "w"]),
    ("$(cat <<X\n)\nX\n)", ["cat <<X\n)\nX\n"]),
])
def test_find_subs_uses_heredoc_escapes(body: str, subs: list[str]) -> None:
    assert find_subs(body) == subs


def test_unquoted_body_substitutions_are_parsed_quoted_ones_are_not() -> None:
    (doc,) = heredocs("bash <<EOF\n`rm -rf ~` $(git push -f)\nEOF")
    assert [dump(p) for p in doc.substitutions] == ["rm -rf ~", "git push -f"]
    (doc,) = heredocs("bash <<'EOF'\n`rm -rf ~`\nEOF")
    assert doc.substitutions == ()
    assert all(isinstance(p, Program) for p in doc.substitutions)


def test_body_line_starting_with_backslash_stays_in_the_body() -> None:
    # C3: tree-sitter files `\rm -rf ~` as words of the operator line; the pass keeps it body
    assert dump(parse("bash <<EOF\n\\rm -rf ~\nEOF")) == "bash <<:EOF"
    (doc,) = heredocs("bash <<EOF\n\\rm -rf ~\nEOF")
    assert doc.body == "\\rm -rf ~\n"


@pytest.mark.parametrize("text, masked", [
    ("time { rm x; }", "     { rm x; }"),
    ("time -p ls", "        ls"),
    ("coproc foo { cat; }", "           { cat; }"),
    ("coproc cat f", "       cat f"),
    ("! { a; }", "  { a; }"),
    ("echo time; x=1 time ls", None),
    ("echo ! x; a | time b", None),
])
def test_keywords_tree_sitter_misreads_are_masked(text: str, masked: str | None) -> None:
    p = prep(text)
    assert (p.masked.decode() if p is not None else None) == masked


def test_negations_and_coprocs_are_keyed_by_the_statement_they_apply_to() -> None:
    p = prep("! ! time { a; }")
    assert p.negations == {9: 2}
    assert prep("coproc w { cat; }").coprocs == {9: "w"}
