"""Tools that run a command for the user: `uv run CMD`, `npx PKG`, `doppler run -- CMD`.

The command starts after `--`, or at the first operand after the subcommand; their options
are not parsed, as they differ from tool to tool and change between releases.  The forms that
take the command as one string (`nix-shell --run STR`, `sg GROUP STR`) are read as shell code.
"""

from __future__ import annotations

from .model import Word
from .steps import Step, code_kw

__all__ = ["RUNNERS", "runner_start", "string_code"]

# tool -> the subcommands that run a command (None: the operands themselves are the command)
RUNNERS: dict[str, frozenset[str] | None] = {
    "uv": frozenset({"run", "tool"}), "uvx": None, "poetry": frozenset({"run"}),
    "pipenv": frozenset({"run"}), "pdm": frozenset({"run"}), "hatch": frozenset({"run"}),
    "rye": frozenset({"run"}), "pixi": frozenset({"run", "exec"}),
    "conda": frozenset({"run"}), "mamba": frozenset({"run"}), "micromamba": frozenset({"run"}),
    "npx": None, "pnpx": None, "bunx": None, "pnpm": frozenset({"exec", "dlx"}),
    "npm": frozenset({"exec", "x"}), "yarn": frozenset({"exec", "dlx"}),
    "bun": frozenset({"x"}), "deno": frozenset({"run"}),
    "doppler": frozenset({"run"}), "op": frozenset({"run"}), "infisical": frozenset({"run"}),
    "dotenvx": frozenset({"run"}), "dotenv": None, "direnv": frozenset({"exec"}),
    "nix": frozenset({"develop", "shell"}), "devbox": frozenset({"run"}),
    "chamber": frozenset({"exec"}), "aws-vault": frozenset({"exec"}),
    "mise": frozenset({"exec", "x"}), "asdf": frozenset({"exec"}), "rbenv": frozenset({"exec"}),
    "pyenv": frozenset({"exec"}), "bundle": frozenset({"exec"}),
    "sops": frozenset({"exec-env", "exec-file"}), "sg": None, "nix-shell": frozenset(),
}

# options whose value is shell code: `nix-shell --run STR`, `doppler run --command STR`
_CODE_OPTS = {
    "nix-shell": ("--run", "--command"), "doppler": ("--command",), "infisical": ("--command",),
}


def runner_start(name: str, argv: tuple[Word, ...]) -> int | None:
    """Where the command `argv` runs starts, or None when it runs none.

    After `--` when there is one; otherwise at the first operand after the subcommand.  An
    option's value taken for the command (`uv run --with requests python ...`) is harmless:
    that word is then an unknown program, whose operands are searched in turn.
    """
    subs = RUNNERS.get(name, frozenset())
    start = 1
    if subs is not None:
        after_option = False
        for k in range(1, len(argv)):
            v = argv[k].value
            if v is None:
                return None
            if v[:1] == "-":
                after_option = "=" not in v  # a global option (`npm --prefix web exec`)
                continue
            if v not in subs:
                if after_option:
                    after_option = False  # the option's value
                    continue
                return None
            start = k + 2 if name == "direnv" else k + 1  # direnv exec DIR CMD
            break
        else:
            return None
    for k in range(start, len(argv)):
        if argv[k].value == "--":
            return k + 1 if k + 1 < len(argv) else None
    for k in range(start, len(argv)):
        v = argv[k].value
        if v is None or v[:1] != "-":
            return k
    return None


def string_code(name: str, argv: tuple[Word, ...]) -> Step | None:
    """The shell code a runner takes as one string, or None."""
    args = argv[1:]
    if name == "sg":
        # sg GROUP [-c] STR: the string runs under /bin/sh -c
        ops = [w for w in args if w.value != "-c"]
        if len(ops) >= 2 and ops[0].value != "-":
            return Step("sg", **code_kw(ops[1:2], "sg"))  # type: ignore[arg-type]
        return None
    if name == "sops" and len(args) >= 3 and args[0].value in ("exec-env", "exec-file"):
        ops = [w for w in args[1:] if (w.value or "")[:1] != "-"]
        if len(ops) >= 2:
            return Step("sops " + (args[0].value or ""), **code_kw(ops[1:2], "sops"))  # type: ignore[arg-type]
        return None
    opts = _CODE_OPTS.get(name, ())
    for k, w in enumerate(args):
        v = w.value
        if v is None:
            continue
        for o in opts:
            if v == o and k + 1 < len(args):
                return Step(f"{name} {o}", **code_kw(args[k + 1:k + 2], f"{name} {o}"))  # type: ignore[arg-type]
            if v.startswith(o + "="):
                return Step(f"{name} {o}", code=v[len(o) + 1:])
    return None
