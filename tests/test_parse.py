"""gatesh.parse: command text to IR (see tests/parsetools.py for the dump notation)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig

import pytest

from conftest import shared_dir
from gatesh.errors import Unparseable
from gatesh.model import Compound, PartKind, Program, SimpleCommand
from gatesh.parse import parse
from parsetools import dump

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("text, ir", [
    # lists, pipelines, negation, background
    ("a; b & c && d || e", "a ; b & ; c ; d ; e"),
    ("a | b |& c", "a | b 2>&1 | c"),
    ("! a | b", "! a | b"),
    ("a && b &", "a & ; b &"),
    ("if ! grep x f; then :; fi", "if{ ! grep x f ; : }"),
    ("! ! a", "a"),
    ("a &&\nb |\nc", "a ; b | c"),
    # simple commands, assignments, redirects
    ("x=1 y=(a $(b)) cmd arg", "x=1 y=(a $(b)) cmd arg"),
    ("A=1", "A=1"),
    ("x+=1 PATH+=:/x", "x=${x}1 PATH=${PATH}:/x"),
    ("1A=2 cmd", "1A=2 cmd"),
    ("cmd <in >out 2>>err &>all &>>all2 >|clob 3<&0 4>&- 5<>rw",
     "cmd <in >out 2>>err &>all &>>all2 >|clob 3<&0 4>&- 5<>rw"),
    ("echo a >&2; echo b >&file", "echo a >&2 ; echo b &>file"),
    ("exec {fd}>o", "exec {fd}>o"),
    ("cat <<<\"here $x\" >o", "cat <<<'here '${x} >o"),
    (">out", ">out"),
    ("cat < <(ls)", "cat <<(ls)"),
    # compounds: control flow is flattened, words and redirects kept
    ("(a; b) >o", "subshell{ a ; b } >o"),
    ("{ a; b; } 2>&1", "group{ a ; b } 2>&1"),
    ("if a; then b; elif c; then d; else e; fi", "if{ a ; b ; c ; d ; e }"),
    ("while a; do b; done <f", "while{ a ; b } <f"),
    ("until a; do b; done", "until{ a ; b }"),
    ("for i in 1 \"$x\" {a,b}; do echo $i; done", "for[1 ${x} a b]{ echo ${i} }"),
    ("for i; do :; done", "for{ : }"),
    ("for ((i=0; i<$(n); i++)); do :; done", "for[«i=0; i<$(n); i++»{n}]{ : }"),
    ("select o in a b; do break; done", "select[a b]{ break }"),
    ("case $(x) in a|b) c;;& (*) d;& e) f;; esac",
     "case[$(x) a b * e]{ c ; d ; f }"),
    ("f() { g; }", "function:f{ group{ g } }"),
    ("function f { g; } >log", "function:f{ group{ g } } >log"),
    ("function f() ( g )", "function:f{ subshell{ g } }"),
    ("[[ -f $(x) && $y == *.txt ]]", "test[$(x) ${y} *.txt]{}"),
    ("[[ $b =~ ^(main|dev)$ ]]", "test[${b} '^(main|dev)$']{}"),
    ("[ -f x ] && [ \"$a\" = b ]", "'[' -f x ']' ; '[' ${a} = b ']'"),
    ("(( x = $(y) + 1 ))", "arith[« x = $(y) + 1 »{y}]{}"),
    ("coproc cat", "coproc:COPROC{ cat }"),
    ("coproc w { cat; }", "coproc:w{ group{ cat } }"),
    ("coproc w while :; do :; done", "coproc:w{ while{ : ; : } }"),
    ("time -p a | b", "a | b"),
    ("time { rm x; }", "group{ rm x }"),
    ("! time { a; } | b", "! group{ a } | b"),
    # declaration commands keep their assignments as argv words
    ("declare -r x=$(y) z", "declare -r x=$(y) z"),
    ("export PATH=\"$HOME/bin:$PATH\"", "export PATH=${HOME}/bin:${PATH}"),
    ("local -a arr=(1 $(x))", "local -a 'arr=(1 '$(x)')'"),
    ("unset a b; readonly r=1", "unset a b ; readonly r=1"),
    # brace expansion happens before the IR, wherever bash does it
    ("{rm,-rf,/}", "rm -rf /"),
    ("sudo {rm,-rf,/}", "sudo rm -rf /"),
    ("mkdir -p src/{a,b}", "mkdir -p src/a src/b"),
    # heredocs (C3) and their substitutions (C2)
    ("cat > f <<'EOF'\n$(rm -rf /)\nEOF", "cat >f <<q:EOF"),
    ("cat > f <<EOF\n$(rm -rf /)\nEOF", "cat >f <<:EOF{rm -rf /}"),
    ("git commit -m \"$(cat <<'EOF'\nmsg\nEOF\n)\"", "git commit -m $(cat <<q:EOF)"),
    ("while read l; do :; done <<EOF\n`x`\nEOF", "while{ read l ; : } <<:EOF{x}"),
    # tree-sitter groups these wrongly; bash's precedence is restored
    ("a | b | c && d", "a | b | c ; d"),
    ("a | b | c | d && e || f", "a | b | c | d ; e ; f"),
    ("a && b >o", "a ; b >o"),
    ("a && b 2>&1 | c", "a ; b 2>&1 | c"),
    ("b | c | d\ne || f", "b | c | d ; e ; f"),
    # comments and empty input
    ("a # comment", "a"),
    ("# only a comment", ""),
    ("", ""),
    (" \n\t", ""),
])
def test_ir(text: str, ir: str) -> None:
    assert dump(parse(text)) == ir


def test_ir_types_and_fields() -> None:
    prog = parse("X=1 rm -rf \"$HOME\"/x 2>/dev/null")
    assert isinstance(prog, Program) and len(prog.pipelines) == 1
    (cmd,) = prog.pipelines[0].elements
    assert isinstance(cmd, SimpleCommand)
    assert [w.value for w in cmd.argv] == ["rm", "-rf", None]
    assert [p.kind for p in cmd.argv[2].parts] == [PartKind.VAR, PartKind.LIT]
    assert cmd.argv[2].text == '"$HOME"/x'
    assert (cmd.assigns[0].name, cmd.assigns[0].value.value) == ("X", "1")
    r = cmd.redirects[0]
    assert (r.op, r.fd, r.target.value, r.heredoc) == (">", "2", "/dev/null", None)
    (c,) = parse("f() { :; }").pipelines[0].elements
    assert isinstance(c, Compound) and (c.kind, c.name) == ("function", "f")


def test_substitutions_are_parsed_wherever_they_occur() -> None:
    text = ("x=$(a) cmd $(b) \"`c`\" <(d) <<<$(f) >$(e) ${v:-$(g)}; for i in $(h); do :; done; "
            "case $(i) in $(j)) :;; esac; [[ $(k) ]]; (( $(l) )); y=($(m))")
    out = dump(parse(text))
    for name in "abcdefghijklm":
        assert f"$({name})" in out or f"({name})" in out or "{" + name + "}" in out, name


@pytest.mark.parametrize("text", [
    "echo 'open", "a &&", "| a", "if a; then", "echo $((", "ls -a <path>",
    "arr[$(rm x)]=1", "[abc] x", "a | ! b", "echo \x00", "echo `a", "{ a; } x >o | (",
])
def test_unparseable(text: str) -> None:
    with pytest.raises(Unparseable):
        parse(text)


@pytest.mark.parametrize("text, body", [
    ("cat <<''", ""),
    ("cat <<'EOF'\nharmless body", "harmless body\n"),
    ("cat <<-EOF\n\tone\ntwo\n", "one\ntwo\n"),
])
def test_heredoc_ended_by_the_end_of_the_text_is_read_as_bash_reads_it(text, body):
    # bash warns "here-document delimited by end-of-file" and runs the command
    import subprocess
    assert subprocess.run(["bash", "-n", "-c", text], capture_output=True).returncode == 0
    pl = parse(text).pipelines[0]
    doc = pl.elements[0].redirects[0].heredoc
    assert doc is not None and doc.body == body


def test_unparseable_message_is_one_line() -> None:
    with pytest.raises(Unparseable) as e:
        parse("echo a\nif b; then")
    assert "\n" not in str(e.value) and str(e.value)


def test_nesting_is_limited() -> None:
    with pytest.raises(Unparseable, match="deep"):
        parse("echo " + "$(" * 60 + "x" + ")" * 60)
    with pytest.raises(Unparseable, match="deep"):
        parse("{ " * 300 + "x" + "; }" * 300)
    assert dump(parse("echo " + "$(" * 10 + "x" + ")" * 10)).count("$(") == 10


def test_utf8_and_undecodable_bytes() -> None:
    assert dump(parse("echo héllo ☃ && rm x")) == "echo 'héllo' '☃' ; rm x"
    raw = b"echo \xff\xfe".decode("utf-8", "surrogateescape")
    (cmd,) = parse(raw).pipelines[0].elements
    assert cmd.argv[1].value == "\udcff\udcfe"


def test_agent_style_commands_all_parse() -> None:
    root = shared_dir()
    if root is None:
        pytest.skip("shared corpora not present")
    with open(os.path.join(root, "corpora", "agent-style", "commands.jsonl")) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    failed = []
    for row in rows:
        try:
            parse(row["command"])
        except Unparseable as e:
            failed.append((row["id"], str(e)))
    assert len(rows) == 40 and failed == []


def _bash_accepts(command: str) -> bool:
    p = subprocess.run(["bash", "-n", "-c", command], capture_output=True, timeout=30)
    return p.returncode == 0 and not p.stderr


@pytest.mark.slow
def test_tldr_parse_rate() -> None:
    """At most 0.1% of the tldr commands bash accepts may be unparseable."""
    root = shared_dir()
    if root is None:
        pytest.skip("shared corpora not present")
    from concurrent.futures import ThreadPoolExecutor
    with open(os.path.join(root, "corpora", "tldr", "commands.jsonl")) as f:
        commands = list(dict.fromkeys(json.loads(line)["command"] for line in f if line.strip()))
    with ThreadPoolExecutor(max_workers=4 * (os.cpu_count() or 1)) as pool:
        valid = [c for c, ok in zip(commands, pool.map(_bash_accepts, commands, chunksize=32))
                 if ok]
    failed = []
    for c in valid:
        try:
            parse(c)
        except Unparseable:
            failed.append(c)
    assert len(valid) > 25000
    assert len(failed) <= 0.001 * len(valid), failed


def test_parse_imports_stay_lean() -> None:
    """No typing or tree_sitter package __init__ on the start-up path (the binding imports re)."""
    code = ("import sys; import gatesh.parse as p; p.parse('echo $(ls) | wc'); "
            "print(' '.join(sorted(sys.modules)))")
    paths = [REPO, sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    p = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                       env={"PYTHONPATH": os.pathsep.join(paths)}, timeout=60)
    assert p.returncode == 0, p.stderr
    loaded = set(p.stdout.split())
    assert "tree_sitter._binding" in loaded and "tree_sitter_bash._binding" in loaded
    assert not loaded & {"typing", "tree_sitter", "tree_sitter_bash", "importlib.resources",
                         "dataclasses", "inspect", "pathlib"}
