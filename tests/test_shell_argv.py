"""gatesh reads bash's command line as bash does: every harness shape, checked against bash.

Three tiers: parse_argv() on its own; gatesh against the real bash (same argv, stdout,
stderr and exit status with the shell's own path replaced); and main()'s decisions with the
gate and the exec replaced (blocked, fail closed, never an unchecked exec).
"""

from __future__ import annotations

import os
import string
import subprocess

import pytest

from conftest import Shells, iso_env, normalise as _norm
from gatesh import shell
from gatesh.shell import COMMAND, HELP, SCRIPT, STDIN, USAGE, VERSION, WORDEXP, parse_argv

# --- parse_argv: bash's rules --------------------------------------------------------------


@pytest.mark.parametrize("args, kind, command, operands", [
    # Claude Code: -c before -l, no snapshot yet
    (["-c", "-l", "echo $0", "A", "B"], COMMAND, "echo $0", ("A", "B")),
    (["-c", "CMD"], COMMAND, "CMD", ()),
    (["-lc", "CMD"], COMMAND, "CMD", ()),                        # Codex
    (["-i", "-c", "CMD"], COMMAND, "CMD", ()),                    # aider
    (["-l", "-i", "-c", "echo $PATH"], COMMAND, "echo $PATH", ()),  # Goose probe
    (["-l", "-c", "S", "opencode", "/w"], COMMAND, "S", ("opencode", "/w")),  # opencode
    (["-c", "CMD", "NAME", "a", "b"], COMMAND, "CMD", ("NAME", "a", "b")),
    (["-o", "pipefail", "-c", "CMD"], COMMAND, "CMD", ()),
    (["+o", "braceexpand", "-c", "CMD"], COMMAND, "CMD", ()),
    (["-oc", "pipefail", "CMD"], COMMAND, "CMD", ()),             # -o takes the next word
    (["-co", "pipefail", "CMD"], COMMAND, "CMD", ()),
    (["-O", "extglob", "-c", "CMD"], COMMAND, "CMD", ()),
    (["-ec", "CMD"], COMMAND, "CMD", ()),
    (["-il", "-c", "CMD"], COMMAND, "CMD", ()),
    (["-c", "--", "CMD", "x"], COMMAND, "CMD", ("x",)),
    (["-c", "-", "CMD"], COMMAND, "CMD", ()),
    (["-c", "CMD", "--", "x"], COMMAND, "CMD", ("--", "x")),       # after the operand: $0
    (["-c", "CMD", "-l"], COMMAND, "CMD", ("-l",)),
    (["+c", "CMD"], COMMAND, "CMD", ()),                          # +c turns -c on too
    (["-s", "-c", "CMD", "a"], COMMAND, "CMD", ("a",)),            # -c wins over -s
    (["--login", "--norc", "--noprofile", "-c", "CMD"], COMMAND, "CMD", ()),
    (["--rcfile", "F", "-c", "CMD"], COMMAND, "CMD", ()),
    (["--init-file", "F", "-i", "-c", "CMD"], COMMAND, "CMD", ()),
    (["-rcfile", "F", "-c", "CMD"], COMMAND, "CMD", ()),           # one dash works too
    (["-login", "-c", "CMD"], COMMAND, "CMD", ()),
    (["--posix", "--restricted", "--verbose", "--debugger", "-c", "CMD"], COMMAND, "CMD", ()),
    (["--noediting", "--pretty-print", "--debug", "-c", "CMD"], COMMAND, "CMD", ()),
    (["+", "-c", "CMD"], COMMAND, "CMD", ()),                      # an empty cluster
    (["-xv", "-e", "+u", "-c", "CMD"], COMMAND, "CMD", ()),
    (["approve"], SCRIPT, "", ()),                                # a script named approve
    (["script.sh", "a", "-c", "b"], SCRIPT, "", ("a", "-c", "b")),
    (["--", "-c", "x"], SCRIPT, "", ("x",)),                      # -c is now the script
    (["-", "-c", "x"], SCRIPT, "", ("x",)),
    (["-l", "script.sh"], SCRIPT, "", ()),
    ([], STDIN, "", ()),
    (["-s", "a", "b"], STDIN, "", ("a", "b")),
    (["-i"], STDIN, "", ()),
    (["-o"], STDIN, "", ()),                                      # bare -o lists the options
    (["--help"], HELP, "", ()),
    (["-help"], HELP, "", ()),
    (["--norc", "--version", "-c", "x"], VERSION, "", ()),
    (["--version", "--help"], HELP, "", ()),                      # help is checked first
    (["-c"], USAGE, "", ()),
    (["-l", "-c"], USAGE, "", ()),
    (["--rcfile"], USAGE, "", ()),
    (["--foo", "-c", "x"], USAGE, "", ()),
    (["-z", "-c", "x"], USAGE, "", ()),
    (["-cz", "x"], USAGE, "", ()),
    (["-l", "--norc", "-c", "x"], USAGE, "", ()),                # long options only come first
    (["++", "-c", "x"], USAGE, "", ()),
    (["--wordexp", "-c", "x"], WORDEXP, "", ("x",)),
])
def test_parse(args: list[str], kind: str, command: str, operands: tuple[str, ...]) -> None:
    inv = parse_argv(args)
    assert inv.kind == kind, inv
    assert inv.command == command
    if kind in (COMMAND, SCRIPT, STDIN, WORDEXP):
        assert inv.operands == operands


@pytest.mark.parametrize("args, interactive, noexec", [
    (["-i", "-c", "x"], True, False),
    (["-i", "+i", "-c", "x"], False, False),
    (["-n", "-c", "x"], False, True),
    (["-n", "+n", "-c", "x"], False, False),
    (["-o", "noexec", "x.sh"], False, True),
    (["-D", "-c", "x"], False, True),
    (["+D", "-c", "x"], False, True),
    (["--dump-strings", "-c", "x"], False, True),
    (["--dump-po-strings", "x.sh"], False, True),
    (["-O", "noexec", "-c", "x"], False, False),     # -O is shopt: no such shopt option
])
def test_flags(args: list[str], interactive: bool, noexec: bool) -> None:
    inv = parse_argv(args)
    assert (inv.interactive, inv.noexec) == (interactive, noexec)


def _bash_rejects(bash: str, args: list[str], tmp: str) -> bool:
    p = subprocess.run([bash, *args], stdin=subprocess.DEVNULL, capture_output=True,
                       cwd=tmp, env=iso_env(tmp), timeout=20)
    return p.returncode == 2 and b"option" in p.stderr and not p.stdout


@pytest.mark.parametrize("sign", ["-", "+"])
def test_every_option_letter_agrees_with_bash(shells: Shells, sign: str, tmp_path: object) -> None:
    """gatesh calls an option invalid (and lets bash say so) exactly when bash rejects it.

    Calling a valid option invalid would hand the command to bash unchecked: the dangerous
    direction, so every printable character is tried against the real bash.
    """
    tmp = str(tmp_path)
    dangerous, differ = [], []
    for ch in string.ascii_letters + string.digits + "!@#%^&*()_=[]{}:;<>,.?/~|":
        args = [sign + ch, "-c", "exit 0", "x", "y"]
        ours = parse_argv(args).kind == USAGE
        theirs = _bash_rejects(shells.bash, args, tmp)
        if ours and not theirs:
            dangerous.append(sign + ch)
        elif ours != theirs:
            differ.append(sign + ch)
    assert not dangerous
    # -o and -O take "-c" as their argument here, which bash then rejects as an option name:
    # gatesh gates that command line, and bash refuses to run it.
    assert differ == [sign + "o", sign + "O"]


@pytest.mark.parametrize("word", [
    "--help", "--version", "--login", "--norc", "--noprofile", "--posix", "--restricted",
    "--verbose", "--debug", "--debugger", "--noediting", "--pretty-print", "--dump-strings",
    "--dump-po-strings", "--foo", "--log", "--rcfile", "--init-file", "-norc", "-zap",
])
def test_long_options_agree_with_bash(shells: Shells, word: str, tmp_path: object) -> None:
    args = [word, "-c", "exit 0"] if word not in ("--rcfile", "--init-file") else [word]
    assert (parse_argv(args).kind == USAGE) == _bash_rejects(shells.bash, args, str(tmp_path))


# --- gatesh against bash ---------------------------------------------------------------



def _run(path: str, args: list[object], env: dict[str, str], cwd: str,
         **kw: object) -> subprocess.CompletedProcess[bytes]:
    kw.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run([path, *args], env=env, cwd=cwd, capture_output=True,  # type: ignore[call-overload]
                          timeout=30, start_new_session=True, **kw)


def compare(shells: Shells, args: list[object], env: dict[str, str], cwd: str,
            **kw: object) -> subprocess.CompletedProcess[bytes]:
    """Run bash and gatesh alike; assert identical results; return gatesh's."""
    o = _run(shells.bash, args, env, cwd, **kw)
    g = _run(shells.gatesh, args, env, cwd, **kw)
    assert (g.returncode, _norm(g.stdout, shells), _norm(g.stderr, shells)) == \
        (o.returncode, _norm(o.stdout, shells), _norm(o.stderr, shells)), args
    return g


def _script(cwd: str, name: str, body: str, mode: int = 0o644) -> str:
    path = os.path.join(cwd, name)
    with open(path, "w") as f:
        f.write(body)
    os.chmod(path, mode)
    return path


@pytest.mark.parametrize("args", [
    ["-c", "-l", "echo $0 $1; shopt -q login_shell && echo login", "A", "B"],   # requirement 1
    ["-lc", "shopt -q login_shell && echo y"],
    ["-c", "shopt -q login_shell || echo not-login"],
    ["-i", "-c", "echo $-; echo $0"],
    ["-il", "-c", "echo $-"],
    ["-ec", "false; echo not-reached"],
    ["-c", "echo \"$0|$1|$2|$#\"", "NAME", "a b", ""],
    ["-c", "echo $0 $1", "--", "x"],
    ["-c", "--", "echo after-dashdash $0"],
    ["-o", "pipefail", "-c", "false | true; echo $?"],
    ["+o", "braceexpand", "-c", "echo {a,b}"],
    ["-oc", "pipefail", "set -o | grep pipefail; echo $0"],
    ["-O", "extglob", "-c", "shopt extglob"],
    ["-O", "nosuchopt", "-c", "echo not-reached"],
    ["-o", "nosuchopt", "-c", "echo not-reached"],
    ["-x", "-c", "echo traced"],
    ["-v", "-c", "echo verbose"],
    ["--verbose", "-c", "echo verbose"],
    ["-u", "-c", "echo $nosuchvar; echo not-reached"],
    ["-r", "-c", "echo restricted; cd /"],
    ["-s", "-c", "echo $0 $1", "a", "b"],
    ["+c", "echo plus-c $0", "z"],
    ["+", "-c", "echo empty-cluster"],
    ["--norc", "--noprofile", "-c", "echo plain"],
    ["--posix", "-c", "set -o | grep posix"],
    ["--pretty-print", "-c", "echo pretty"],
    ["-c", "exit 7"],
    ["-c", "echo $BASH_EXECUTION_STRING"],
    ["-c", "printf '%s\\n' \"$@\"", "n", "-c", "--", "-l"],
])
def test_same_as_bash_c(shells: Shells, world: dict[str, str], args: list[object]) -> None:
    compare(shells, args, world, world["HOME"])


@pytest.mark.parametrize("args", [
    ["--version"], ["--help"], ["-version"], ["-help"], ["--norc", "--version"],
    ["--foo"], ["-z"], ["-lz", "-c", "echo x"], ["-c"], ["-l", "-c"], ["--rcfile"],
    ["-l", "--norc", "-c", "echo x"], ["++"], ["-o"], ["-O"],
    ["-n", "-c", "echo hi"], ["-n", "-c", "if then"], ["-o", "noexec", "-c", "echo hi"],
    ["-D", "-c", "echo $\"translatable\""], ["--dump-strings", "-c", "echo $\"t\""],
    ["--dump-po-strings", "-c", "echo $\"t\""],
])
def test_paths_that_never_execute(shells: Shells, world: dict[str, str],
                                  args: list[object]) -> None:
    """help, version, usage errors and syntax checks: bash's own output, even untrusted text."""
    compare(shells, args, world, world["HOME"])


def test_version_and_help_ignore_the_gate(shells: Shells, world: dict[str, str]) -> None:
    """Requirement 6: gatesh --version is bash's, and exits 0."""
    g = compare(shells, ["--version"], world, world["HOME"])
    assert g.returncode == 0 and g.stdout.startswith(b"GNU bash, version")


def test_syntax_check_reads_stdin(shells: Shells, world: dict[str, str]) -> None:
    """SWE-ReX: `bash -n << 'UNIQUESTRING29234'` checks syntax only, for both results."""
    marker = os.path.join(world["HOME"], "ran")
    for code in (f"touch {marker}\n", f"touch {marker}; if then\n"):
        compare(shells, ["-n"], world, world["HOME"], stdin=None, input=code.encode())
        assert not os.path.exists(marker)


def test_goose_path_probe(shells: Shells, world: dict[str, str]) -> None:
    """Requirement 15: `-l -i -c 'echo $PATH'` in a new session, stdin /dev/null."""
    g = compare(shells, ["-l", "-i", "-c", "echo $PATH"], world, world["HOME"])
    lines = [ln for ln in g.stdout.decode().splitlines() if ln.strip()]
    assert lines[-1].startswith("/") and "/usr/bin" in lines[-1].split(":")
    assert b"gatesh" not in g.stdout + g.stderr


def test_opencode_shape(shells: Shells, world: dict[str, str]) -> None:
    script = ('shopt -s expand_aliases; [[ -f ~/.bashrc ]] && source ~/.bashrc; cd -- "$1"; '
              'eval "echo \\"in $(pwd) as $0\\""')
    sub = os.path.join(world["HOME"], "proj")
    os.mkdir(sub)
    g = compare(shells, ["-l", "-c", script, "opencode", sub], world, world["HOME"])
    assert g.stdout == f"in {sub} as opencode\n".encode()


def test_claude_wrapper_runs_in_one_bash(shells: Shells, world: dict[str, str]) -> None:
    """Requirement 8: the cd inside eval is seen by the trailing `pwd -P >| file`."""
    home = world["HOME"]
    os.mkdir(os.path.join(home, "sub"))
    cwd_file = os.path.join(home, "claude-cwd")
    wrapper = ("source /nonexistent/snapshot.sh 2>/dev/null || true && shopt -u extglob "
               "2>/dev/null || true && eval 'cd sub && echo '\"'\"'quoted'\"'\"'' < /dev/null "
               f"&& pwd -P >| {cwd_file}")
    for args in (["-c", wrapper], ["-c", "-l", wrapper]):
        if os.path.exists(cwd_file):
            os.unlink(cwd_file)
        g = compare(shells, args, world, home, stdin=subprocess.PIPE)
        assert g.stdout == b"quoted\n"
        with open(cwd_file) as f:
            assert f.read() == os.path.join(home, "sub") + "\n"


def test_codex_snapshot_wrapper_runs_gatesh_twice(shells: Shells, world: dict[str, str]) -> None:
    """Codex: `-c 'if . SNAP ...; then :; fi ... exec SHELL -c CMD'`: the shell execs itself."""
    home = world["HOME"]
    snap = _script(home, "snap.sh", "SNAPPED=yes\n")
    outs = []
    for sh in (shells.bash, shells.gatesh):
        wrapper = (f"if . '{snap}' >/dev/null 2>&1; then :; fi\n\nexport SNAPPED\n\n"
                   f"exec '{sh}' -c 'echo inner $SNAPPED; exit 5'")
        p = _run(sh, ["-lc", wrapper], world, home)
        outs.append((p.returncode, p.stdout, _norm(p.stderr, shells)))
    assert outs[0] == outs[1] == (5, b"inner yes\n", b"")


def test_rcfile_and_init_file(shells: Shells, world: dict[str, str]) -> None:
    rc = _script(world["HOME"], "rc", "FROMRC=yes\n")
    for opt in ("--rcfile", "--init-file"):
        compare(shells, [opt, rc, "-i", "-c", "echo rc=$FROMRC"], world, world["HOME"])
        g = _run(shells.gatesh, [opt, rc, "-i", "-c", "echo rc=$FROMRC"], world, world["HOME"])
        assert g.stdout == b"rc=yes\n"


@pytest.mark.parametrize("args", [
    ["s.sh", "a", "b c"],
    ["--", "s.sh", "a"],
    ["-", "s.sh"],
    ["-l", "s.sh"],
    ["-i", "s.sh", "x"],
    ["-e", "s.sh"],
    ["./s.sh"],
    ["-n", "s.sh"],
    ["--pretty-print", "s.sh"],
    ["missing.sh"],
    ["dir"],
    ["binary"],
    ["/dev/null"],
])
def test_same_as_bash_script(shells: Shells, world: dict[str, str], args: list[object]) -> None:
    home = world["HOME"]
    _script(home, "s.sh", 'echo "script $0 [$*] $-"\nexit 3\n')
    os.makedirs(os.path.join(home, "dir"), exist_ok=True)
    with open(os.path.join(home, "binary"), "wb") as f:
        f.write(b"\x7fELF\x02\x01\x01\x00\x00echo hi\n")
    compare(shells, args, world, home)


def test_script_found_in_path(shells: Shells, world: dict[str, str]) -> None:
    """`bash NAME` opens NAME in the cwd, else the first readable NAME in PATH."""
    home = world["HOME"]
    bindir = os.path.join(home, "bin")
    os.mkdir(bindir)
    os.mkdir(os.path.join(home, "bin0"))
    os.mkdir(os.path.join(home, "bin0", "approve"))       # a directory is skipped
    victim = os.path.join(home, "precious")
    os.mkdir(victim)
    _script(bindir, "approve", f'echo "from PATH $0 $1"\n[ -n "$GO" ] && rm -rf {victim}\n')
    env = dict(world, PATH=f"{home}/bin0:{bindir}:{world['PATH']}")
    o = _run(shells.bash, ["approve", "1"], env, home)
    assert o.stdout == b"from PATH approve 1\n"
    g = _run(shells.gatesh, ["approve", "1"], env, home)  # dry-run: runs as under bash
    assert (g.returncode, g.stdout) == (o.returncode, o.stdout)
    # enforce: the file found in PATH is the one gated, so its rm is seen and blocked
    g = _run(shells.gatesh, ["approve", "1"], dict(env, GATESH_MODE="enforce", GO="1"), home)
    assert g.returncode == 126 and g.stdout == b"" and os.path.isdir(victim)
    _script(home, "approve", 'echo "from cwd $0"\n')      # the cwd comes first
    compare(shells, ["approve"], env, home)


def test_script_named_approve_is_not_a_subcommand(shells: Shells, world: dict[str, str]) -> None:
    """Requirement 6: `gatesh approve` runs a script named approve (or says it is missing)."""
    home = world["HOME"]
    g = compare(shells, ["approve"], world, home)
    assert g.returncode == 127 and b"approve: No such file or directory" in g.stderr
    _script(home, "approve", "echo approve-script-ran\n")
    g = compare(shells, ["approve"], world, home)
    assert g.stdout == b"approve-script-ran\n"


def test_process_substitution_script(shells: Shells, world: dict[str, str]) -> None:
    """`bash <(...)`: gatesh reads the pipe to gate it and bash still gets every byte."""
    body = b'echo "procsub $0 $1"; cat <&0; cat <&63\n'
    results = []
    for path in (shells.bash, shells.gatesh):
        r, w = os.pipe()
        os.write(w, body)
        os.close(w)
        os.dup2(r, 63)                                    # where bash puts <(...)
        os.close(r)
        try:
            p = _run(path, ["/dev/fd/63", "arg"], world, world["HOME"], pass_fds=(63,),
                     stdin=None, input=b"stdin-data")
        finally:
            os.close(63)
        results.append((p.returncode, p.stdout, _norm(p.stderr, shells)))
    assert results[0] == results[1]
    assert results[1][:2] == (0, b"procsub /dev/fd/63 arg\nstdin-data")


def test_stdin_file_is_gated_and_not_consumed(shells: Shells, world: dict[str, str]) -> None:
    """`bash < file` and `bash -s ARGS < file`: the file's remaining bytes are the script."""
    home = world["HOME"]
    path = _script(home, "in.sh",
                   "echo skipped\necho from-stdin $0 $1\nread x; echo read:$x\nmore\n")
    for args in ([], ["-s", "A"]):
        outs = []
        for sh in (shells.bash, shells.gatesh):
            with open(path, "rb", buffering=0) as f:
                f.readline()                              # the caller already read line 1
                p = subprocess.run([sh, *args], stdin=f, env=world, cwd=home,
                                   capture_output=True, timeout=30)
            outs.append((p.returncode, _norm(p.stdout, shells), _norm(p.stderr, shells)))
        assert outs[0] == outs[1]
        assert b"read:more" in outs[1][1]


@pytest.mark.parametrize("args", [[], ["-s", "A", "B"], ["-e"], ["-x", "-s"], ["-l"]])
def test_script_on_a_pipe(shells: Shells, world: dict[str, str], args: list[object]) -> None:
    """`bash <<'EOF'` and `cmd | bash`: read to EOF, gated, and bash gets every byte back.

    A command of the script that reads stdin gets the lines after it, as under bash.
    """
    script = (b'read x\nhello there\necho "got [$x] $0 $# $*"\nhead -n1\nnot a command\n'
              b'echo "last $?"\n')
    g = compare(shells, args, world, world["HOME"], stdin=None, input=script)
    assert b"got [hello there]" in g.stdout and b"not a command" in g.stdout


@pytest.mark.parametrize("script", [
    b"".join(b"echo line %d\n" % i for i in range(20000)),            # more than a pipe holds
    b"echo first; exit 3\n" + b"#" * 300000 + b"\n",                 # bash stops reading early
])
def test_large_script_on_a_pipe(shells: Shells, world: dict[str, str], script: bytes) -> None:
    g = compare(shells, ["-s"], world, world["HOME"], stdin=None, input=script)
    assert g.stdout.startswith(b"first\n" if script.startswith(b"echo first") else b"line 0\n")


def test_empty_pipe(shells: Shells, world: dict[str, str]) -> None:
    compare(shells, [], world, world["HOME"], stdin=None, input=b"")


def test_blocked_script_on_a_pipe(shells: Shells, tmp_path: object) -> None:
    env = iso_env(str(tmp_path), GATESH_MODE="no-human")
    victim = os.path.join(env["HOME"], "precious")
    os.mkdir(victim)
    p = _run(shells.gatesh, [], env, env["HOME"], stdin=None,
             input=f"echo start\nrm -rf {victim}\n".encode())
    assert (p.returncode, p.stdout) == (126, b"") and os.path.isdir(victim)


def test_pipe_that_stays_open_runs_commands_as_they_arrive(shells: Shells,
                                                           world: dict[str, str]) -> None:
    """Open Interpreter's shape: commands on a pipe that is never closed run as they come
    (requirement 4); the sentinel arrives while stdin is still open."""
    marker = os.path.join(world["HOME"], "ran")
    p = subprocess.Popen([shells.gatesh], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=world, cwd=world["HOME"])
    assert p.stdin is not None and p.stdout is not None
    try:
        p.stdin.write(f"touch {marker}\necho '##end_of_execution##'\n".encode())
        p.stdin.flush()
        assert p.stdout.readline() == b"##end_of_execution##\n"
        assert os.path.exists(marker)
        p.stdin.write(b"exit 5\n")
        p.stdin.flush()
        assert p.wait(timeout=30) == 5
    finally:
        p.kill()
        p.wait()


@pytest.mark.parametrize("args", [["-i"], ["-i", "-s"], ["-i", "-l"]])
def test_interactive_without_c_on_a_pipe_reads_the_pipe(shells: Shells, world: dict[str, str],
                                                        args: list[object]) -> None:
    """`bash -i < pipe` runs what the pipe holds and exits at its end; so does gatesh -i,
    with bash on a pty of its own and each line gated."""
    marker = os.path.join(world["HOME"], "ran")
    p = _run(shells.gatesh, args, world, world["HOME"], stdin=None,
             input=f"touch {marker}\n".encode())
    assert p.returncode == 0, p.stderr
    assert os.path.exists(marker)


def test_stdin_on_a_terminal_is_an_interactive_session(shells: Shells,
                                                       world: dict[str, str]) -> None:
    import pexpect

    marker = os.path.join(world["HOME"], "ran")
    child = pexpect.spawn(shells.gatesh, [], env=world, cwd=world["HOME"], timeout=30)
    child.sendline(f"touch {marker}; echo DONE-$((6*7))")
    child.expect_exact(b"DONE-42")
    child.sendline("exit 5")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 5
    assert os.path.exists(marker)


def test_named_fifo_script_is_blocked(shells: Shells, world: dict[str, str]) -> None:
    fifo = os.path.join(world["HOME"], "fifo")
    os.mkfifo(fifo)
    p = _run(shells.gatesh, [fifo], world, world["HOME"])
    assert p.returncode == 126
    assert p.stderr.startswith(b"gatesh: BLOCKED - the command was NOT executed: ")
    assert p.stderr.splitlines()[-1] == b"gatesh: status=blocked reason=unsupported"


def test_blocked_command_runs_nothing(shells: Shells, tmp_path: object) -> None:
    """Requirement 12: exit 126, the standard message, and the && chain stops."""
    env = iso_env(str(tmp_path), GATESH_MODE="no-human")
    victim = os.path.join(env["HOME"], "precious")
    os.mkdir(victim)
    after = os.path.join(env["HOME"], "after")
    cmd = f"rm -rf {victim} && touch {after}"
    p = _run(shells.gatesh, ["-c", cmd], env, env["HOME"], stdin=subprocess.PIPE)
    assert p.returncode == 126
    assert p.stdout == b""
    lines = p.stderr.decode().splitlines()
    assert lines[0].startswith("gatesh: BLOCKED - the command was NOT executed: ")
    assert lines[-1].startswith("gatesh: status=blocked reason=")
    assert all(ln.startswith("gatesh: ") for ln in lines)
    assert os.path.isdir(victim) and not os.path.exists(after)


def test_blocked_script_runs_nothing(shells: Shells, tmp_path: object) -> None:
    env = iso_env(str(tmp_path), GATESH_MODE="no-human")
    victim = os.path.join(env["HOME"], "precious")
    os.mkdir(victim)
    _script(env["HOME"], "cleanup.sh", f"rm -rf {victim}\n")
    p = _run(shells.gatesh, ["cleanup.sh"], env, env["HOME"])
    assert p.returncode == 126 and os.path.isdir(victim)
    assert p.stderr.startswith(b"gatesh: BLOCKED - the command was NOT executed: ")


@pytest.mark.parametrize("args", [["-c", "echo ran"], ["--version"], ["s.sh"]])
def test_bad_config_blocks_everything(shells: Shells, tmp_path: object, args: list[object]) -> None:
    """Fail closed: a config that does not validate blocks, before anything runs."""
    env = iso_env(str(tmp_path))
    os.makedirs(os.path.join(env["XDG_CONFIG_HOME"], "gatesh"))
    with open(os.path.join(env["XDG_CONFIG_HOME"], "gatesh", "config.toml"), "w") as f:
        f.write("mode = [not toml\n")
    _script(env["HOME"], "s.sh", "echo ran\n")
    p = _run(shells.gatesh, args, env, env["HOME"])
    assert (p.returncode, p.stdout) == (126, b"")
    lines = p.stderr.decode().splitlines()
    assert lines[0].startswith("gatesh: BLOCKED - the command was NOT executed: ")
    assert lines[-1] == "gatesh: status=blocked reason=bad_config"


def test_bad_mode_variable_blocks(shells: Shells, tmp_path: object) -> None:
    env = iso_env(str(tmp_path), GATESH_MODE="yolo")
    p = _run(shells.gatesh, ["-c", "echo ran"], env, env["HOME"])
    assert (p.returncode, p.stdout) == (126, b"")
    assert p.stderr.decode().splitlines()[-1] == "gatesh: status=blocked reason=bad_config"


def test_wordexp_is_refused(shells: Shells, world: dict[str, str]) -> None:
    p = _run(shells.gatesh, ["--wordexp", "$(touch ran)"], world, world["HOME"])
    assert p.returncode == 126 and not os.path.exists(os.path.join(world["HOME"], "ran"))


# --- main(): the error boundary, with the gate and the exec replaced ------------------------


class Execd(BaseException):
    """Raised by the stand-in exec_bash: not an Exception, so main() cannot swallow it."""

    def __init__(self, bash: str, argv: list[str]) -> None:
        super().__init__(bash, argv)
        self.bash, self.argv = bash, argv


class _Decision:
    def __init__(self, blocked: bool) -> None:
        self.blocked = blocked
        self.reason = "ask" if blocked else "no_match"
        self.approval = None


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, world: dict[str, str]) -> dict[str, object]:
    """Replace the gate and the exec inside this process; record what they were given."""
    import types

    import gatesh.execute

    seen: dict[str, object] = {"requests": [], "blocked": False, "raise": None}

    def enforce(req: object, cfg: object) -> _Decision:
        if seen["raise"] is not None:
            raise seen["raise"]  # type: ignore[misc]
        seen["requests"].append(req)  # type: ignore[attr-defined]
        return _Decision(bool(seen["blocked"]))

    gate = types.ModuleType("gatesh.gate")
    gate.Request = lambda **kw: types.SimpleNamespace(**kw)  # type: ignore[attr-defined]
    gate.enforce = enforce  # type: ignore[attr-defined]
    gate.block_message = lambda d: "gatesh: BLOCKED - the command was NOT executed: x\n"  # type: ignore[attr-defined]
    monkeypatch.setitem(__import__("sys").modules, "gatesh.gate", gate)

    def exec_bash(bash: str, argv: list[str]) -> None:
        raise Execd(bash, argv)

    monkeypatch.setattr(gatesh.execute, "exec_bash", exec_bash)
    return seen


def test_main_execs_the_original_argv(fake: dict[str, object]) -> None:
    argv = ["/shim/bash", "-c", "-l", "echo hi", "A"]
    with pytest.raises(Execd) as e:
        shell.main(argv)
    assert e.value.argv == argv and os.path.isabs(e.value.bash)
    (req,) = fake["requests"]  # type: ignore[misc]
    assert (req.command, req.origin, req.cwd) == ("echo hi", "c", os.getcwd())


def test_main_gates_script_contents(fake: dict[str, object], world: dict[str, str]) -> None:
    _script(world["HOME"], "s.sh", "echo \xe9\n")
    with open(os.path.join(world["HOME"], "raw.sh"), "wb") as f:
        f.write(b"echo \xff\n")
    for name, text in (("s.sh", "echo \xe9\n"), ("raw.sh", "echo \udcff\n")):
        fake["requests"] = []
        with pytest.raises(Execd):
            shell.main(["bash", name, "x"])
        (req,) = fake["requests"]  # type: ignore[misc]
        assert (req.command, req.origin) == (text, "script")


@pytest.mark.parametrize("argv", [
    ["bash", "--version"], ["bash", "--help"], ["bash", "-z"], ["bash", "-c"],
    ["bash", "-n", "-c", "rm -rf /"], ["bash", "-D", "x.sh"], ["bash", "missing.sh"],
])
def test_main_passthrough_is_not_gated(fake: dict[str, object], argv: list[str]) -> None:
    with pytest.raises(Execd) as e:
        shell.main(argv)
    assert e.value.argv == argv and fake["requests"] == []


def test_main_blocked(fake: dict[str, object], capfd: pytest.CaptureFixture[str]) -> None:
    fake["blocked"] = True
    assert shell.main(["bash", "-c", "rm -rf ~"]) == 126
    out, err = capfd.readouterr()
    assert out == "" and err.startswith("gatesh: BLOCKED - the command was NOT executed: ")


@pytest.mark.parametrize("exc, status, code", [
    (RuntimeError("boom"), 126, "internal_error"),
    (ImportError("No module named 'gatesh.parse'"), 126, "internal_error"),
    (KeyboardInterrupt(), 130, "interrupted"),
])
def test_main_fails_closed(fake: dict[str, object], capfd: pytest.CaptureFixture[str],
                           exc: BaseException, status: int, code: str) -> None:
    fake["raise"] = exc
    assert shell.main(["bash", "-c", "echo hi"]) == status
    out, err = capfd.readouterr()
    lines = err.splitlines()
    assert out == "" and len(lines) == 2
    assert lines[0].startswith("gatesh: BLOCKED - the command was NOT executed: ")
    assert lines[1] == f"gatesh: status=blocked reason={code}"


def test_main_exec_failure_blocks(fake: dict[str, object], monkeypatch: pytest.MonkeyPatch,
                                  capfd: pytest.CaptureFixture[str]) -> None:
    import gatesh.execute

    def broken(bash: str, argv: list[str]) -> None:
        raise FileNotFoundError(2, "No such file or directory", bash)

    monkeypatch.setattr(gatesh.execute, "exec_bash", broken)
    assert shell.main(["bash", "-c", "echo hi"]) == 126
    assert capfd.readouterr().err.splitlines()[-1] == "gatesh: status=blocked reason=exec_failed"


def test_main_never_reads_stdin_on_c(fake: dict[str, object],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    real_read, real_fstat = os.read, os.fstat

    def read(fd: int, n: int) -> bytes:
        assert fd != 0, "gatesh read its stdin"
        return real_read(fd, n)

    def fstat(fd: int) -> os.stat_result:
        assert fd != 0, "gatesh looked at its stdin on the -c path"
        return real_fstat(fd)

    monkeypatch.setattr(os, "read", read)
    monkeypatch.setattr(os, "fstat", fstat)
    with pytest.raises(Execd):
        shell.main(["bash", "-c", "cat"])


def test_start_up_imports_stay_lean() -> None:
    """Importing the front end pulls in no UI library and no parser (habit 16)."""
    code = ("import sys; import gatesh.shell, gatesh.execute, gatesh.terminal; "
            "bad = [m for m in sys.modules if m.split('.')[0] in "
            "('rich', 'prompt_toolkit', 'bashlex', 'tree_sitter', 'tree_sitter_bash')]; "
            "print(bad)")
    p = subprocess.run([__import__("sys").executable, "-c", code], capture_output=True,
                       text=True, timeout=60, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert p.stdout.strip() == "[]", p.stderr
