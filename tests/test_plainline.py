"""gatesh.plainline: plain lines read without tree-sitter give the IR the full path gives."""

from __future__ import annotations

import itertools
import json
import os
import random

import pytest

import gatesh.parse as gparse
from conftest import shared_dir
from gatesh.errors import Unparseable
from gatesh.model import Program
from gatesh.plainline import plain_program
from parsetools import dump

_PLAIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:@%+,=-"
_QUOTED = [chr(c) for c in range(32, 127)]


def _full(text: str) -> Program | str:
    """What the full path (tree-sitter and gatesh's corrections) makes of text."""
    saved = gparse.plain_program
    gparse.plain_program = lambda _text: None
    try:
        return gparse.parse(text)
    except Unparseable as e:
        return f"unparseable: {e}"
    finally:
        gparse.plain_program = saved


@pytest.mark.parametrize("text, ir", [
    ("git status", "git status"),
    ("ls -la src/ --color=auto", "ls -la src/ --color=auto"),
    ("dd if=/dev/zero of=disk.img bs=1M", "dd if=/dev/zero of=disk.img bs=1M"),
    ("grep -r 'a b' src | head -5", "grep -r 'a b' src | head -5"),
    ('echo "it is" x\'y\'z', "echo 'it is' xyz"),
    ("aws ce get-cost --time-period a/b", "aws ce get-cost --time-period a/b"),
    ("tr < in 'a b' > out 2>&1 | wc -l", "tr 'a b' <in >out 2>&1 | wc -l"),
    ("make 2>/dev/null >> log", "make 2>/dev/null >>log"),
    ("assimp export in.stl out.obj | grep if", "assimp export in.stl out.obj | grep if"),
])
def test_plain_lines(text: str, ir: str) -> None:
    prog = plain_program(text)
    assert prog is not None and dump(prog) == ir
    assert prog == _full(text)


@pytest.mark.parametrize("text", [
    "A=1 cmd", "-x a", "a@b c", "x+: y", "'q' x", "a ==", "a =b", "time ls", "if x",
    "a | then", "export A=1", "a  b", " a", "a ", "a | ", "a |b", "a || b", "a && b", "a; b",
    "echo $HOME", "echo ~", "rm *", "echo \"$x\"", "echo \"a\\b\"", "echo \"!\"", "echo é",
    "a\tb", "a\nb", "echo {a,b}", "echo `x`", "a 0<f", "a - 2>f", "a 2>&f", "a >&-", "a &>f",
    "a <>f", "a <<f", "a >|f", "a 12>f", "a x>f", "a > =f",
])
def test_other_lines_go_the_full_way(text: str) -> None:
    assert plain_program(text) is None


def _lines() -> list[str]:
    """Every short word in every position that matters, then random lines with quotes."""
    out = []
    for n in (1, 2):
        for w in map("".join, itertools.product(_PLAIN, repeat=n)):
            out += [w, f"a {w}", f"{w} {w}", f"-x {w}", f"a | {w} b"]
    for x in map("".join, itertools.product(_QUOTED, repeat=1)):
        out += [f"a '{x}'", f'a "{x}"', f"a x'{x}'=", f'a "{x}"y | b \'{x}\'']
    rnd = random.Random(7)

    def word() -> str:
        pieces = []
        for _ in range(rnd.randint(1, 3)):
            r = rnd.random()
            body = "".join(rnd.choice(_QUOTED) for _ in range(rnd.randint(0, 4)))
            if r < 0.6:
                pieces.append("".join(rnd.choice(_PLAIN) for _ in range(rnd.randint(1, 4))))
            elif r < 0.8:
                pieces.append("'" + body.replace("'", "") + "'")
            else:
                pieces.append('"' + body.replace('"', "") + '"')
        return "".join(pieces)

    def redirect() -> str:
        if rnd.random() < 0.2:
            return rnd.choice(["2>&1", ">&2", "1>&2", ">&-", "2>&x", "2>&12"])
        return rnd.choice([">", ">>", "<", "2>", "0<", "9>>", "&>", "<>", "> ", "2> "]) + word()

    for _ in range(20000):
        cmds = [" ".join(["".join(rnd.choice(_PLAIN) for _ in range(rnd.randint(1, 4)))] +
                         [word() if rnd.random() < 0.8 else redirect()
                          for _ in range(rnd.randint(0, 3))])
                for _ in range(rnd.randint(1, 2))]
        out.append(" | ".join(cmds))
    for prev in ("-", "x-", "--", "'-'", "a"):
        out += [f"a {prev} 2>f", f"a {prev} 1>&2 b", f"a {prev} >f"]
    for kw in ("if", "then", "fi", "do", "done", "time", "coproc", "in", "export", "unset"):
        out += [f"a {kw}", f"a {kw} b | c {kw}", f"{kw} a", f"a | {kw}", f"a '{kw}' > {kw}"]
    return out


def test_same_ir_as_the_full_path() -> None:
    lines = _lines()
    shared = shared_dir()
    corpus = os.path.join(shared, "corpora", "tldr", "commands.jsonl") if shared else ""
    if corpus and os.path.exists(corpus):
        with open(corpus, encoding="utf-8") as f:
            lines += [json.loads(line)["command"] for line in f if line.strip()]
    taken = 0
    for text in lines:
        prog = plain_program(text)
        if prog is not None:
            taken += 1
            assert prog == _full(text), text
    assert taken > len(lines) // 4
