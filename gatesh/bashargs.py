"""bash's own command line, read exactly as bash 5 reads it (shell.c): long options first,
then option clusters, then operands.  gatesh has no options of its own."""

from __future__ import annotations

__all__ = ["CommandLine", "parse_argv", "HELP", "VERSION", "USAGE", "COMMAND", "SCRIPT",
           "STDIN", "WORDEXP"]

# bash's invocation options (shell.c long_args and parse_shell_options, flags.c
# shell_flags).  Long options bash builds only with some configure switches are listed
# too: if the real bash lacks one it stops with a usage error, so reading it as an option
# can only make gatesh gate something bash then refuses to run.
_LONG_FLAGS = frozenset((
    "debug", "debugger", "dump-po-strings", "dump-strings", "help", "login", "noediting",
    "noprofile", "norc", "posix", "pretty-print", "protected", "restricted",
    "rpm-requires", "verbose", "version", "wordexp",
))
_LONG_WITH_ARG = frozenset(("init-file", "rcfile"))
_SET_FLAGS = frozenset("abefhikmnprtuvxBCEHPT")   # the letters change_flag() accepts
_DEFAULT_PATH = "/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin:."
# What main() does for each kind of command line.
HELP, VERSION, USAGE = "help", "version", "usage"      # bash prints and exits
COMMAND, SCRIPT, STDIN, WORDEXP = "command", "script", "stdin", "wordexp"


class CommandLine:
    """What bash would do with a command line: run a -c string, a script, or stdin."""

    __slots__ = ("kind", "command", "script", "operands", "interactive", "noexec", "posix")

    def __init__(self, kind: str, command: str = "", script: str = "",
                 operands: tuple[str, ...] = (), interactive: bool = False,
                 noexec: bool = False, posix: bool = False) -> None:
        self.kind = kind
        self.command = command          # the -c string
        self.script = script            # the script operand, as written
        self.operands = operands        # what follows: $0 $1 ... (-c) or $1 ... (script, stdin)
        self.interactive = interactive  # -i (bash may also turn it on for a terminal)
        self.noexec = noexec            # -n, -o noexec, -D, --dump-strings: nothing runs
        self.posix = posix

    def __repr__(self) -> str:
        return (f"CommandLine({self.kind!r}, command={self.command!r}, script={self.script!r}, "
                f"operands={self.operands!r}, interactive={self.interactive}, "
                f"noexec={self.noexec})")


def parse_argv(args: list[str]) -> CommandLine:
    """Read bash's command line (without argv[0]) as bash 5 does."""
    n = len(args)
    i = 0
    want_help = want_version = wordexp = dump = posix = False
    # Long options come first; bash also takes them with one dash (-login, -norc).
    while i < n and args[i].startswith("-"):
        word = args[i]
        longarg = word.startswith("--") and len(word) > 2
        name = word[2:] if longarg else word[1:]
        if name in _LONG_FLAGS:
            want_help |= name == "help"
            want_version |= name == "version"
            wordexp |= name == "wordexp"
            dump |= name in ("dump-strings", "dump-po-strings", "rpm-requires")
            posix |= name == "posix"
        elif name in _LONG_WITH_ARG:
            i += 1
            if i >= n:
                return CommandLine(USAGE)          # "rcfile: option requires an argument"
        elif longarg:
            return CommandLine(USAGE)              # "--foo: invalid option"
        else:
            break                                 # maybe an option cluster: -lc
        i += 1
    if want_help:
        return CommandLine(HELP)
    if want_version:
        return CommandLine(VERSION)

    want_c = read_stdin = interactive = noexec = False
    while i < n and args[i][:1] in ("-", "+"):
        word = args[i]
        nxt = i + 1
        if word in ("-", "--"):                   # end of options
            i = nxt
            break
        on = word[0] == "-"
        for ch in word[1:]:
            if ch == "c":                         # +c, +l, +s and +D turn them on too
                want_c = True
            elif ch in "ls":
                read_stdin |= ch == "s"
            elif ch == "D":
                dump = True
            elif ch in "oO":
                if nxt >= n:                      # bare -o / -O lists the options
                    continue
                opt = args[nxt]
                nxt += 1
                if ch == "o" and opt == "noexec":
                    noexec = on
                elif ch == "o" and opt == "posix":
                    posix = on
            elif ch in _SET_FLAGS:
                if ch == "i":
                    interactive = on
                elif ch == "n":
                    noexec = on
            else:
                return CommandLine(USAGE)          # "-z: invalid option"
        i = nxt

    noexec = noexec or dump
    rest = tuple(args[i:])
    if want_c:
        if not rest:
            return CommandLine(USAGE)              # "-c: option requires an argument"
        if wordexp:
            return CommandLine(WORDEXP, operands=rest, interactive=interactive)
        return CommandLine(COMMAND, command=rest[0], operands=rest[1:],
                          interactive=interactive, noexec=noexec, posix=posix)
    if wordexp:
        return CommandLine(WORDEXP, operands=rest, interactive=interactive)
    if rest and not read_stdin:
        return CommandLine(SCRIPT, script=rest[0], operands=rest[1:],
                          interactive=interactive, noexec=noexec, posix=posix)
    return CommandLine(STDIN, operands=rest, interactive=interactive, noexec=noexec,
                      posix=posix)


# --- messages ------------------------------------------------------------------------
