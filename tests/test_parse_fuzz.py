"""Fuzzing the parser: whatever the text, parse returns a Program or raises Unparseable."""

from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import shared_dir
from gatesh.errors import Unparseable
from gatesh.model import Program
from gatesh.parse import parse

SHELLY = list("ab rm-f~/$(){}[]'\"`\\|&;<>\n\t*?!#=%.:,@^+0") + [
    "<<", "<<-", "<<<", "EOF", "'EOF'", "$(", "${", "$((", "))", "`", "\\\n", "time ", "coproc ",
    "! ", "case ", " in ", ";;", "esac", "do ", "done", "then ", "fi", "[[ ", " ]]", "{a,b}",
    "for ", "while ", "if ", "function ", "<(", ">(", "&&", "||", "|&", "<>", "2>&1", "x=",
]
FALLBACK = ["rm -rf ~", "cat <<'EOF'\nx\nEOF", "a | b | c && d", "echo `a` `b`", "[[ -f x ]]",
            "for i in {1..3}; do echo $i; done", "x=$(cat <<EOF\n)\nEOF\n)"]


def _corpus() -> list[str]:
    root = shared_dir()
    out: list[str] = []
    for rel in (("agent-style", "commands.jsonl"), ("peers", "dcg.jsonl"),
                ("peers", "cc-safety-net.jsonl"), ("tldr", "commands.jsonl")):
        path = os.path.join(root, "corpora", *rel) if root else ""
        if path and os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                out.extend(json.loads(line)["command"] for line in f if line.strip())
    return out or FALLBACK


CORPUS = _corpus()


def check(text: str) -> None:
    try:
        prog = parse(text)
    except Unparseable as e:
        assert str(e) and "\n" not in str(e)
        assert not str(e).startswith("internal parser error"), str(e)
        return
    assert isinstance(prog, Program)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=80))
def test_random_text(text: str) -> None:
    check(text)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(SHELLY), max_size=30).map("".join))
def test_shell_flavoured_text(text: str) -> None:
    check(text)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(CORPUS))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        op = draw(st.integers(0, 3))
        if op == 0:
            text = text[:i] + draw(st.sampled_from(SHELLY)) + text[i:]
        elif op == 1:
            text = text[:i] + text[i + draw(st.integers(1, 3)):]
        elif op == 2:
            j = draw(st.integers(0, len(text)))
            text = text[:i] + text[min(i, j):max(i, j)] + text[i:]
        else:
            text = text + draw(st.sampled_from(["\n", "; ", " | ", " && "])) + \
                draw(st.sampled_from(CORPUS))
    return text


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_corpus_commands(text: str) -> None:
    check(text)


def test_deep_and_large_inputs_fail_closed_or_parse() -> None:
    for text in ["(" * 3000 + "x" + ")" * 3000, "{ " * 1000 + "x" + "; }" * 1000,
                 "echo " + "\"$(" * 80 + "x" + ")\"" * 80, "$(( " * 300 + "1" + " ))" * 300,
                 "echo " + "a " * 20000, "cat <<EOF\n" + "x\n" * 20000 + "EOF",
                 "echo " + "${" * 500 + "x" + "}" * 500, "`" * 1001]:
        check(text)


# --- random words and command lines, checked against bash itself ----------------------------

WORDISH = list("ab1 \\'\"*?[]{},.-/=:@%^!#;|\n") + ["'a b'", '"a b"', "\\\n", "{a,b}", "{1..3}",
                                                   "~/", "''", '""', "\\'", '\\"', "$'\\t'"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(WORDISH), min_size=1, max_size=12).map("".join))
def test_random_command_lines_match_bash(tmp_path_factory, text: str) -> None:  # type: ignore
    """The external commands bash runs for `probe TEXT` are the IR's, with the same argv."""
    from parsetools import BASH, bash_argvs, bash_builtins, executed
    line = "probe " + text
    try:
        prog = parse(line)
    except Unparseable:
        return
    import subprocess
    if subprocess.run([BASH, "-n", "-c", line], capture_output=True, timeout=20).returncode:
        return  # bash rejects it: nothing runs (gatesh never relies on tree-sitter to reject)
    cwd = str(tmp_path_factory.mktemp("probe"))
    ran = sorted((a for a in bash_argvs("set -f\n" + line, cwd) if not a[0].startswith("%")),
                 key=repr)   # set -f: no pathname expansion (`/*` would list the disk)
    builtins = _BUILTINS or _BUILTINS.update(bash_builtins()) or _BUILTINS
    # a word with a slash is run as a path, and `%1` resumes a job: bash reports neither
    ours = sorted((a for a in executed(prog) if a[0] not in builtins and "/" not in a[0]
                   and not a[0].startswith("%")), key=repr)
    if "||" in line:  # the probe's commands succeed, so bash skips `||` branches the IR lists
        left = list(ours)
        for argv in ran:
            assert argv in left, line
            left.remove(argv)
    else:
        assert ours == ran, line


_BUILTINS: set[str] = set()
