"""Which rules could match an invocation, told from the invocation alone (no Facts).

Every test here is a necessary condition of a rule's `match` table: a rule it leaves out is
one whose match would have come out False, so leaving it out changes nothing but the time.
Most commands have no rule of their own, and the wildcard rules look at redirects, stdin,
recursion or operands: with this, such a command is classified without working out its
flags and operands at all.
"""

from __future__ import annotations

import re

from .model import Invocation
from .rules import Rule, RuleSet

__all__ = ["candidates"]

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    Shape = tuple[bool, str | None, bool, bool, bool, bool]
    from typing import Any
    Selection = tuple[list[Rule], list[Rule], tuple[Any, Any] | None]

_MAX_SELECTIONS = 4096   # (subcommand, shape) keys per command; bounded by the rules anyway


def _shape(inv: Invocation) -> Shape:
    """What the cheap conditions look at: redirects, stdin kind, recursion, remote, env, via."""
    _, assigns, redirects, stdin, via, remote, _, context, _, name = inv  # one unpack: cheaper
    recursive = name is not None and bool(context) and context == "function:" + name
    return (bool(redirects), stdin.kind if stdin is not None else None, recursive,
            remote is not None, bool(assigns), bool(via))


def _possible(rule: Rule, shape: Shape) -> bool:
    """Whether rule's match can hold for an invocation of this shape (args aside)."""
    redirects, stdin, recursive, remote, assigns, via = shape
    m = rule.match
    if not redirects and ("redirect_targets" in m or "redirect_paths" in m):
        return False
    if "stdin" in m and (stdin is None or stdin not in m["stdin"]):  # type: ignore[operator]
        return False
    if "recursive" in m and recursive != m["recursive"]:
        return False
    if "remote" in m and remote != m["remote"]:
        return False
    if "env" in m and not assigns:
        return False  # NAME or NAME=glob needs an assignment before the command
    return not ("via" in m and not via)


def _select(own: list[Rule], wild: list[Rule], shape: Shape) -> Selection:
    """The rules possible for shape, in their order (own first): without and with the
    wildcard rules that need args (one regex for those, behind a search for the text they
    need; own rules are few, and each compiles its own patterns once)."""
    mine = [r for r in own if _possible(r, shape)]
    wild = [r for r in wild if _possible(r, shape)]
    gated = tuple(str(p) for r in wild if "args" in r.match
                  for p in r.match["args"])  # type: ignore[union-attr]
    if not gated:
        return mine + wild, mine + wild, None
    gate = _ARGS_GATES.get(gated)
    if gate is None:
        from .rulefile import any_glob
        hint = "|".join(re.escape(_required(g)) for g in gated)  # an empty part: always true
        gate = _ARGS_GATES[gated] = (re.compile(hint).search, any_glob(list(gated)).match)
    return mine + [r for r in wild if "args" not in r.match], mine + wild, gate


# per set of globs (the same few sets, over and over): a search for the text one of them
# needs, then the globs' regex.  A `*x*` glob's regex tries x at every position of the word,
# thousands of instructions a word; most words hold no such text, and one search says so.
_ARGS_GATES: dict[tuple[str, ...], tuple[Any, Any]] = {}


def _required(glob: str) -> str:
    """Text in every string that glob matches: its longest run of plain characters before
    any `[` (in fnmatch, `*` and `?` stand for any text, `[...]` for one character, and every
    other character for itself)."""
    return max(re.split(r"[*?]", glob.split("[", 1)[0]), key=len)


def candidates(ruleset: RuleSet, inv: Invocation, own: list[Rule] | None,
               name: str | None, first: str | None) -> list[Rule]:
    """own + the wildcard rules, less those that cannot match inv.

    own is the rule list of command name (None: no own rules), for subcommand first (None:
    rules without a subcommand only).  A wildcard rule with `args` needs an operand matching
    one of its globs; operands are among argv[1:], so when no word there matches any such
    glob, those rules are left out.
    """
    shape = _shape(inv)
    per_name = ruleset.selections.get(name)
    if per_name is None:
        per_name = ruleset.selections[name] = {}
    sel = per_name.get((first, shape))
    if sel is None:
        sel = _select(own or [], ruleset.wildcard, shape)
        if len(per_name) > _MAX_SELECTIONS:
            per_name.clear()
        per_name[(first, shape)] = sel
    plain, with_args, gate = sel
    if gate is not None:
        needs, match = gate
        for w in inv.argv[1:]:
            v = w[2]
            if v is not None and needs(v) and match(v):
                return with_args
    return plain
