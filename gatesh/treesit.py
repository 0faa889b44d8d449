"""tree-sitter-bash for gatesh: its node kinds, its parser loaded lean, and checks on its trees.

What tree-sitter may have misread raises Unparseable, or Retry when a second try may help.
"""

from __future__ import annotations

import re
import sys

from gatesh.errors import Unparseable

TYPE_CHECKING = False  # importing typing would cost start-up time on every gatesh -c
if TYPE_CHECKING:  # pragma: no cover
    from types import ModuleType

    from tree_sitter import Node as TSNode, Parser

__all__ = ["WORDISH", "REDIRECTS", "CLAUSES", "EXPRS", "LISTY", "Retry", "new_parser",
           "check_gaps", "check_comment", "check_dashes", "is_redirect_at", "statement_at",
           "check_backquotes", "syntax_error"]

WORDISH = frozenset(("word", "string", "raw_string", "ansi_c_string", "translated_string",
                     "concatenation", "simple_expansion", "expansion", "command_substitution",
                     "process_substitution", "arithmetic_expansion", "number", "extglob_pattern",
                     "brace_expression", "regex", "variable_name"))
REDIRECTS = frozenset(("file_redirect", "herestring_redirect", "heredoc_redirect"))
CLAUSES = frozenset(("elif_clause", "else_clause", "do_group"))
EXPRS = frozenset(("unary_expression", "binary_expression", "parenthesized_expression",
                   "ternary_expression", "postfix_expression"))
STATEMENTS = frozenset(("command", "redirected_statement", "pipeline", "list", "negated_command",
                        "subshell", "compound_statement", "if_statement", "while_statement",
                        "for_statement", "c_style_for_statement", "case_statement",
                        "function_definition", "test_command", "declaration_command",
                        "unset_command", "variable_assignment", "variable_assignments"))
LISTY = frozenset(("list", "pipeline", "negated_command"))
_COMMENT_BEFORE = frozenset(b" \t\n;&|()<>")
word_ids: frozenset[int] = frozenset()   # kind ids of WORDISH and command_name nodes


class Retry(Unparseable):
    """A mistake tree-sitter may avoid on a second try (heredoc.prepare, retry=True)."""


def new_parser() -> Parser:
    """A tree-sitter-bash parser; also sets word_ids, for the language it reads."""
    try:
        ts, tsb = _load_binding("tree_sitter"), _load_binding("tree_sitter_bash")
    except (ImportError, OSError):
        import tree_sitter as ts
        import tree_sitter_bash as tsb
    lang = ts.Language(tsb.language())
    global word_ids
    word_ids = frozenset(i for i in range(lang.node_kind_count) if lang.node_kind_is_named(i)
                         and lang.node_kind_for_id(i) in WORDISH | {"command_name"})
    parser: Parser = ts.Parser(lang)
    return parser


def _load_binding(package: str) -> ModuleType:
    """Load package's compiled `_binding` directly, skipping the package's heavy __init__.

    `import tree_sitter` pulls in typing, and tree_sitter_bash importlib.resources: start-up time.
    """
    import os
    from importlib.machinery import EXTENSION_SUFFIXES, ExtensionFileLoader, ModuleSpec
    name = package + "._binding"
    if name in sys.modules:
        return sys.modules[name]
    for folder in sys.path:
        if not os.path.isabs(folder):  # never load code from the (agent-writable) cwd
            continue
        for suffix in EXTENSION_SUFFIXES:
            path = os.path.join(folder, package, "_binding" + suffix)
            if os.path.isfile(path):
                loader = ExtensionFileLoader(name, path)
                module = loader.create_module(ModuleSpec(name, loader, origin=path))
                loader.exec_module(module)
                sys.modules[name] = module
                return module
    raise ImportError(f"no compiled binding for {package}")


def check_gaps(masked: bytes, nodes: list[TSNode], newlines: bool = False) -> None:
    """Between nodes bash sees only blanks and backslash-newlines (and newlines if allowed).

    tree-sitter can read a newline as a blank (`a⏎b` as one command) and can drop an
    escaped blank (`x \\ y` loses the word " "): both are refused, the first retried.
    """
    src, end = masked, -1
    for c in nodes:
        s = c.start_byte
        if end >= 0 and s > end:
            rest = src[end:s].replace(b"\\\n", b"").strip(b" \t\n" if newlines else b" \t")
            if b"\n" in rest:
                raise Retry("tree-sitter joined lines that bash keeps apart")
            if rest:
                raise Unparseable(f"tree-sitter skipped {rest[:20]!r} inside a command")
        end = c.end_byte


_LONE_DASH = re.compile(rb"(?:^|(?<=[\s;&|(]))-(?=[\s;&|)]|$)")


def check_dashes(root: TSNode, masked: bytes) -> None:
    """tree-sitter-bash can drop a lone `-` word (`- a=b` becomes an assignment): refuse that.

    The one shape the simple-command builder repairs, `cmd - 2>f`, is let through.
    """
    for m in _LONE_DASH.finditer(masked):
        at = m.start()
        node = root.descendant_for_byte_range(at, at + 1)
        if node is None or node.child_count == 0 or any(
                c.start_byte <= at < c.end_byte for c in node.children):
            continue
        j = len(masked) - len(masked[at + 1:].lstrip(b" \t"))   # the next word's start
        nxt = root.descendant_for_byte_range(j, j + 1)
        if nxt is not None and nxt.type == "file_descriptor":
            continue
        raise Unparseable("tree-sitter skipped a `-` word")


def check_comment(src: bytes, c: TSNode) -> None:
    """A `#` counts as a comment only where bash starts one: at the start of a word."""
    s = c.start_byte
    while s >= 2 and src[s - 2:s] == b"\\\n":  # `a\⏎#` is the word a#
        s -= 2
    if s and (src[s - 1] not in _COMMENT_BEFORE or src[s - 1:s + 1] == b"\\\n"):
        raise Unparseable("tree-sitter read a comment in the middle of a word")


def is_redirect_at(root: TSNode, op: int, end: int) -> bool:
    """Whether tree-sitter sees a `<` redirect with the masked heredoc word at op."""
    node = root.descendant_for_byte_range(op, op + 1)
    parent = node.parent if node is not None else None
    if node is None or node.type != "<" or parent is None or parent.type != "file_redirect":
        return False
    return any((c.start_byte, c.end_byte) == (op + 1, end) for c in parent.children)


def statement_at(root: TSNode, j: int) -> bool:
    """Whether a command or compound starts at byte j."""
    node = root.descendant_for_byte_range(j, j + 1)
    while node is not None and node.start_byte == j:
        if node.type in STATEMENTS:
            return True
        node = node.parent
    return False


def check_backquotes(root: TSNode, src: bytes) -> None:
    """C7: a backquoted substitution must end at the first unescaped backquote after it opens."""
    stack = [root]
    while stack:
        n = stack.pop()
        if n.type == "command_substitution" and n.children and n.children[0].type == "`":
            i = n.start_byte + 1
            while i < len(src) and src[i] != 96:
                i += 2 if src[i] == 92 else 1
            if i + 1 != n.end_byte:
                raise Unparseable("a backquoted substitution ends at the wrong backquote")
            continue  # its body is parsed again from its unescaped text, and checked there
        stack.extend(n.children)


def syntax_error(root: TSNode, src: bytes) -> str:
    """The message for a tree with errors: the first ERROR or MISSING node, and its line."""
    stack = [root]
    while stack:
        n = stack.pop()
        if n.is_error or n.is_missing:
            line = src[:n.start_byte].count(b"\n") + 1
            near = src[n.start_byte:n.start_byte + 30].decode("utf-8", "replace").split("\n")[0]
            what = f"missing {n.type!r}" if n.is_missing else f"near {near!r}"
            return f"syntax error (tree-sitter-bash) on line {line}, {what}"
        stack.extend(reversed([c for c in n.children if c.has_error or c.is_missing]))
    return "syntax error (tree-sitter-bash)"
