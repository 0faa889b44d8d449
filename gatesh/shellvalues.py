"""What the gate can know of words before they run: variables it can bind, word splitting
of variables holding commands, literal output of echo and printf, literal heredoc text."""

from __future__ import annotations

from .model import Part, PartKind, Word, lit

__all__ = ["DATA_COMMANDS", "split_words", "bind", "unquoted_body", "echo_output", "mktemp_value"]


# Commands that only read, print or look up their operands: `echo rm -rf /` is data.
DATA_COMMANDS = frozenset({
    "echo", "printf", "print", "man", "which", "type", "whatis", "whereis", "help", "info",
    "apropos", "tldr", "grep", "egrep", "fgrep", "rg", "ag", "ack", "cat", "less", "more",
    "head", "tail", "wc", "sort", "uniq", "cut", "tr", "ls", "file", "stat", "test", "[", "[[",
    "true", "false", ":", "history", "complete", "compgen", "declare", "typeset", "local",
    "read", "printenv", "hash", "shopt", "set", "unset", "cd", "pushd", "popd", "pwd",
    "basename", "dirname", "realpath", "readlink", "date", "sleep", "seq", "touch", "mkdir",
    "diff", "cmp", "jq", "yq", "xxd", "hexdump", "od", "strings", "base64", "md5sum",
    "sha1sum", "sha256sum", "column", "fmt", "fold", "nl", "paste", "join", "comm", "rev",
    "tac", "look", "git", "apt", "apt-get", "apt-cache", "brew", "pip", "pip3", "npm", "yarn",
    "pnpm", "cargo", "gem", "dnf", "yum", "pacman", "snap", "conda", "mamba", "uv", "pipx",
    "go", "rustup", "nix", "choco", "winget", "port", "zypper", "apk", "flatpak", "alias",
    "unalias", "export", "readonly", "let", "trap", "wait", "jobs", "fg", "bg", "disown",
    "kill", "getopts", "shift", "return", "exit", "break", "continue", "logger", "notify-send",
    "say", "espeak", "cowsay", "figlet", "toilet", "lolcat", "banner", "write", "wall",
})


def _split_value(value: str) -> tuple[Word, ...]:
    """A variable's value after word splitting; a leading ~ is kept as a tilde (be safe)."""
    out = []
    for t in value.split():
        if t.startswith("~"):
            head, sep, tail = t.partition("/")
            parts = (Part(PartKind.TILDE, head),) + ((Part(PartKind.LIT, sep + tail),) if sep else ())
            out.append(Word(t, parts))
        else:
            out.append(lit(t))
    return tuple(out)


def split_words(words: tuple[Word, ...], vars: dict[str, str]) -> tuple[Word, ...]:
    """Word splitting of lone variables holding spaces (`W='rm -rf ~'; $W`).

    The command word splits even when quoted: "$W" naming a command cannot run as one.
    """
    if all(w[2] is not None for w in words):
        return words
    out: list[Word] = []
    changed = False
    for k, w in enumerate(words):
        if len(w.parts) == 1:
            name = _param_name(w.parts[0])
            val = vars.get(name) if name is not None else None
            if val is not None and any(c in val for c in " \t\n") and (
                    k == 0 or not w.parts[0].quoted):
                out.extend(_split_value(val))
                changed = True
                continue
        out.append(w)
    return tuple(out) if changed else words


def _param_name(p: Part) -> str | None:
    """NAME for a $NAME part, or N for a positional parameter written $N or ${N}."""
    if p.kind is PartKind.VAR:
        return p.text
    if p.kind is PartKind.OTHER:
        t = p.text.removeprefix("$").removeprefix("{").removesuffix("}")
        if t.isdigit():
            return t
    return None


def bind(word: Word, vars: dict[str, str]) -> Word:
    """Replace $NAME (and $N) parts whose value is known by literal text."""
    if word[2] is not None:
        return word  # a known value means no expansion at all
    if not any(p.kind is PartKind.VAR or p.kind is PartKind.OTHER for p in word.parts):
        return word
    parts: list[Part] = []
    for p in word.parts:
        name = _param_name(p)
        if name is not None and name in vars:
            val = vars[name]
            if not p.quoted and any(c in val for c in " \t\n*?["):
                parts.append(p)  # would be split or globbed: leave it unknown
            else:
                parts.append(Part(PartKind.LIT, val, True))
        else:
            parts.append(p)
    return Word(word.text, tuple(parts))


def unquoted_body(body: str) -> str | None:
    """An unquoted heredoc's text as fed, when it holds no expansion: \\$, \\`, \\\\
    and backslash-newline are its only escapes."""
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt == "\n":
                i += 2
                continue
            out.append(nxt if nxt in "$`\\" else ch + nxt)
            i += 2
            continue
        if ch in "$`":
            return None
        out.append(ch)
        i += 1
    return "".join(out)


def echo_output(argv: tuple[Word, ...]) -> str | None:
    """The literal output of `echo WORDS` or `printf FMT`, when it is static."""
    vals = [w.value for w in argv]
    if any(v is None for v in vals) or not vals:
        return None
    name = vals[0]
    rest = [v for v in vals[1:] if v is not None]
    if name == "echo":
        newline = True
        while rest and rest[0] in ("-n", "-e", "-E", "-ne", "-en"):
            newline = newline and "n" not in rest[0]
            rest = rest[1:]
        return " ".join(rest) + ("\n" if newline else "")
    if name == "printf" and len(rest) == 1 and "%" not in rest[0] and "\\" not in rest[0]:
        return rest[0]
    return None


def mktemp_value(w: Word, vars: dict[str, str]) -> str | None:
    """`$(mktemp)` / `$(mktemp -d [-t TEMPLATE])` as a value: a new path in the temporary
    directory, so `trap 'rm -rf "$tmp"' EXIT` is judged as cleaning up a temp dir.  A
    template or directory naming a path (-p DIR, --tmpdir=DIR, a/b.XXX) is not known here."""
    if len(w.parts) != 1 or w.parts[0].kind is not PartKind.CMDSUB or w.parts[0].program is None:
        return None
    pls = w.parts[0].program.pipelines
    if len(pls) != 1 or len(pls[0].elements) != 1:
        return None
    cmd = pls[0].elements[0]
    argv = getattr(cmd, "argv", ())
    if not argv or argv[0].value != "mktemp" or getattr(cmd, "redirects", ()):
        return None
    for a in argv[1:]:
        v = a.value
        if v is None or "/" in v or v in ("-p", "--tmpdir") or v.startswith(("-p", "--tmpdir=")):
            return None
    base = (vars.get("TMPDIR") or "/tmp").rstrip("/") or "/tmp"
    return f"{base}/tmp.gatesh-mktemp"
