"""Fuzzing the gate: random text and mutated corpus commands never crash it, and a command
that does not parse is never allowed."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings, strategies as st

from gatesh.config import load
from gatesh.gate import Request, review
from gtutil import shared_path

CFG = load({"HOME": "/nonexistent/home", "XDG_CONFIG_HOME": "/nonexistent/cfg",
            "PATH": "/usr/bin:/bin"})
ENV = {"HOME": "/nonexistent/home"}


def _corpus() -> list[str]:
    out = []
    for rel in (("corpora", "agent-style", "commands.jsonl"), ("corpora", "peers", "dcg.jsonl"),
                ("corpora", "peers", "cc-safety-net.jsonl")):
        p = shared_path(*rel)
        if p:
            with open(p, encoding="utf-8") as f:
                out.extend(json.loads(line)["command"] for line in f if line.strip())
    return out or ["rm -rf ~", "git push --force origin main", "bash -c 'echo hi'",
                   "cat <<'EOF'\nx\nEOF", "find . -name '*.pyc' -exec rm {} +"]


CORPUS = _corpus()
SHELLY = st.text(alphabet=st.sampled_from(list("ab rm-f~/$(){}[]'\"`\\|&;<>\n\t*?!#=%.:,@^+")),
                 max_size=60)


def _check(text: str) -> None:
    d = review(Request(text, "/tmp", "c", ENV), CFG)
    assert d.verdict.value in ("allow", "ask", "deny")
    if not d.parsed:
        assert d.verdict.value != "allow" and d.blocked


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=80))
def test_random_text(text):
    _check(text)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SHELLY)
def test_random_shell_punctuation(text):
    _check(text)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(CORPUS), st.integers(min_value=0, max_value=10_000),
       st.sampled_from(["delete", "insert", "duplicate", "swap"]), SHELLY)
def test_mutated_corpus_commands(command, pos, how, extra):
    i = pos % (len(command) + 1)
    if how == "delete":
        text = command[:i] + command[i + 1:]
    elif how == "insert":
        text = command[:i] + extra + command[i:]
    elif how == "duplicate":
        text = command[:i] + command[i:i + 5] * 2 + command[i + 5:]
    else:
        text = command[i:] + command[:i]
    _check(text)
