"""bashlex as a differential oracle (parsing.md section 9), test-only.

Wherever bashlex parses a corpus command, the pipelines gatesh's IR says will run (each as
the argv of its elements, after gatesh's own quote removal applied to bashlex's word source
slices) must equal the ones bashlex's tree implies, substitutions and bodies included.
Known disagreements are triaged in parse_oracle_triage.toml; a new one fails.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections import Counter

import pytest

from conftest import shared_dir
from gatesh import words
from gatesh.errors import Unparseable
from gatesh.model import Program, SimpleCommand, Word
from gatesh.parse import parse

bashlex = pytest.importorskip("bashlex")

HERE = os.path.dirname(os.path.abspath(__file__))
EMPTY = Program(())
KINDS = {"subshell": "group", "group": "group"}  # bashlex: both are `compound`
Key = tuple


def norm(w: Word) -> Key:
    return tuple((p.kind.value, p.text) for p in w.parts)


def source_words(text: str) -> tuple[Word, ...]:
    return words.words(text, lambda s: EMPTY)


# --- bashlex's side ---------------------------------------------------------------------


def bl_argv(text: str, node: object) -> Key:
    out: list[Key] = []
    started = False
    for p in node.parts:  # type: ignore[attr-defined]
        if p.kind == "word" or (p.kind == "assignment" and started):
            started = True
            out.extend(norm(w) for w in source_words(text[p.pos[0]:p.pos[1]]))
    return tuple(out)


def bl_kind(node: object) -> str:
    if node.kind == "compound":  # type: ignore[attr-defined]
        first = node.list[0]  # type: ignore[attr-defined]
        if first.kind == "reservedword" and first.word in ("{", "("):
            return "group"
        return bl_kind(first)
    return node.kind  # type: ignore[attr-defined]


def bl_element(text: str, node: object) -> object:
    return bl_argv(text, node) if node.kind == "command" else bl_kind(node)  # type: ignore


def bl_walk(text: str, node: object, out: Counter, in_pipe: bool = False) -> None:
    kind = node.kind  # type: ignore[attr-defined]
    if kind == "pipeline":
        out[tuple(bl_element(text, p) for p in node.parts  # type: ignore[attr-defined]
                  if p.kind not in ("pipe", "reservedword"))] += 1
    elif not in_pipe and (kind == "command" or kind in ("if", "for", "while", "until", "function")
                          or (kind == "compound" and bl_kind(node) == "group")):
        out[(bl_element(text, node),)] += 1
    nested = kind == "pipeline" or (kind == "compound" and in_pipe)
    for attr in ("parts", "list"):
        for child in getattr(node, attr, None) or ():
            bl_walk(text, child, out, nested)
    for attr in ("command", "output"):
        child = getattr(node, attr, None)
        if child is not None and hasattr(child, "kind"):
            bl_walk(text, child, out, False)


# --- gatesh's side ----------------------------------------------------------------------


def gs_walk(prog: Program, out: Counter) -> None:
    for pl in prog.pipelines:
        out[tuple(tuple(norm(w) for w in el.argv) if isinstance(el, SimpleCommand)
                  else KINDS.get(el.kind, el.kind) for el in pl.elements)] += 1
        for el in pl.elements:
            if isinstance(el, SimpleCommand):
                ws = list(el.argv) + [a.value for a in el.assigns if a.value is not None]
                ws += [w for a in el.assigns for w in a.items]
            else:
                ws = list(el.words)
                gs_walk(el.body, out)
            ws += [r.target for r in el.redirects if r.target is not None]
            for w in ws:
                for p in w.parts:
                    if p.program is not None:
                        gs_walk(p.program, out)
            for r in el.redirects:
                for sub in r.heredoc.substitutions if r.heredoc is not None else ():
                    gs_walk(sub, out)


def compare(text: str) -> str | None:
    """None where bashlex cannot parse; else "ok", "differ" or "unparseable"."""
    try:
        nodes = bashlex.parse(text)
    except Exception:  # bashlex raises four unrelated types (parsing.md section 3)
        return None
    try:
        prog = parse(text)
    except Unparseable:
        return "unparseable"
    theirs: Counter = Counter()
    ours: Counter = Counter()
    for n in nodes:
        bl_walk(text, n, theirs)
    gs_walk(prog, ours)
    theirs.pop((), None)
    ours.pop((), None)
    return "ok" if theirs == ours else "differ"


def corpus() -> list[str]:
    root = shared_dir()
    if root is None:
        pytest.skip("shared corpora not present")
    files = [os.path.join(root, "corpora", "tldr", "commands.jsonl"),
             os.path.join(root, "corpora", "agent-style", "commands.jsonl")]
    peers = os.path.join(root, "corpora", "peers")
    files += sorted(os.path.join(peers, f) for f in os.listdir(peers) if f.endswith(".jsonl"))
    out: dict[str, None] = {}
    for path in files:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    out[json.loads(line)["command"]] = None
    return list(out)


def triage() -> dict[str, dict[str, str]]:
    with open(os.path.join(HERE, "parse_oracle_triage.toml"), "rb") as f:
        entries = tomllib.load(f)["entry"]
    assert all(e["kind"] in ("differ", "unparseable") and e["reason"] for e in entries)
    return {e["command"]: e for e in entries}


@pytest.mark.parametrize("text, agrees", [
    ("a | b && c", True),
    ("echo $(rm -rf /) > `x`", True),
    ("for i in a; do rm $i; done | tail", True),
    ("x=1 cmd 2>/dev/null -q", True),
])
def test_oracle_itself(text: str, agrees: bool) -> None:
    assert (compare(text) == "ok") is agrees


def test_oracle_notices_a_wrong_ir(monkeypatch: pytest.MonkeyPatch) -> None:
    import gatesh.parse as gp
    real = gp.parse
    monkeypatch.setattr(gp, "parse", lambda t: real(t.replace("rm", "ls")))
    monkeypatch.setitem(globals(), "parse", gp.parse)
    assert compare("echo hi | rm x") == "differ"


@pytest.mark.slow
def test_bashlex_differential() -> None:
    known = triage()
    new, stale = [], []
    for text in corpus():
        verdict = compare(text)
        entry = known.get(text)
        if verdict in ("differ", "unparseable") and (entry is None or entry["kind"] != verdict):
            new.append((verdict, text))
        elif entry is not None and verdict == "ok":
            stale.append(text)
    assert new == [], "untriaged disagreements with bashlex (add to parse_oracle_triage.toml)"
    assert stale == [], "triaged disagreements that now agree: remove them from the triage file"
