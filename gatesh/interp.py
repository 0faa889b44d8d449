"""Code for other interpreters, turned into the shell commands it amounts to.

Python is read with its own ast; node, perl, ruby and php are scanned for their deletion and
process APIs.  scan() yields shell code (str) to re-parse, or an argv (tuple of Word) for an
equivalent command: shutil.rmtree(p) is `rm -rf p`, os.remove(p) is `rm p`.
"""

from __future__ import annotations

from collections.abc import Iterator

from .model import Word, lit
from .wrappers import UNKNOWN_INPUT

__all__ = ["scan"]

Item = str | tuple[Word, ...]


def _argv(*words: str | None) -> tuple[Word, ...]:
    return tuple(UNKNOWN_INPUT if w is None else lit(w) for w in words)


_PY_DELETE = {
    "rmtree": ("rm", "-rf"), "remove": ("rm",), "unlink": ("rm",), "rmdir": ("rmdir",),
    "removedirs": ("rmdir", "-p"), "remove_tree": ("rm", "-rf"), "truncate": ("truncate",),
}
_PY_SHELL = {"system", "popen", "getoutput", "getstatusoutput"}
_PY_PROC = {"run", "call", "check_call", "check_output", "Popen", "spawnl", "spawnlp", "spawnv",
            "spawnvp", "execv", "execvp", "execl", "execlp", "execve", "execvpe"}


def _py_str(node: object) -> str | None:
    import ast
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return None
    if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
            "Path", "PurePath", "PosixPath", "expanduser") and node.args:
        inner = _py_str(node.args[0])
        return inner
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        left, right = _py_str(node.left), _py_str(node.right)
        if left is not None and right is not None:
            return left.rstrip("/") + "/" + right
    return None


def _py_list(node: object) -> tuple[Word, ...] | None:
    import ast
    if isinstance(node, (ast.List, ast.Tuple)):
        return _argv(*(_py_str(e) for e in node.elts))
    return None


def _python(text: str) -> Iterator[Item]:
    import ast
    import warnings
    try:
        with warnings.catch_warnings():
            # invalid escapes warn (a SyntaxWarning from 3.12): gatesh must print nothing
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return  # Python would refuse to run it too
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in _PY_DELETE:
            if isinstance(func, ast.Attribute) and not node.args and name in ("unlink", "rmdir"):
                target = _py_str(func.value)  # Path(p).unlink()
                yield _argv(*_PY_DELETE[name], target)
            elif node.args:
                yield _argv(*_PY_DELETE[name], _py_str(node.args[0]))
        elif name in _PY_SHELL and node.args:
            code = _py_str(node.args[0])
            yield code if code is not None else _argv("sh", "-c", None)
        elif name in _PY_PROC and node.args:
            arg = node.args[0]
            shell = any(k.arg == "shell" and isinstance(k.value, ast.Constant) and k.value.value
                        for k in node.keywords)
            words = _py_list(arg)
            if name.startswith(("spawn", "exec")) and len(node.args) > 1:
                words = _py_list(node.args[1]) or _argv(_py_str(arg))
            if words is not None:
                yield words
            else:
                s = _py_str(arg)
                if s is not None:
                    yield s if shell else _argv(*s.split())
                else:
                    yield _argv("sh", "-c", None)


_SCANS = {
    "node": [
        (r"\b(?:rmSync|rmdirSync|rm|rmdir|rimraf|remove|removeSync|emptyDirSync)\s*\(\s*", ("rm", "-rf")),
        (r"\b(?:unlinkSync|unlink)\s*\(\s*", ("rm",)),
        (r"\b(?:execSync|exec|spawnSync|spawn|execFileSync|execFile)\s*\(\s*", None),
    ],
    "perl": [
        (r"\b(?:rmtree|remove_tree)\s*\(?\s*", ("rm", "-rf")),
        (r"\b(?:unlink)\s*\(?\s*", ("rm",)),
        (r"\b(?:system|exec|qx)\s*\(?\s*", None),
    ],
    "ruby": [
        (r"\b(?:rm_rf|rm_r|remove_dir|remove_entry|rmtree)\s*\(?\s*", ("rm", "-rf")),
        (r"\b(?:File\.delete|File\.unlink|rm_f|rm)\s*\(?\s*", ("rm",)),
        (r"\b(?:system|exec|spawn)\s*\(?\s*", None),
    ],
    "php": [
        (r"\b(?:unlink)\s*\(\s*", ("rm",)),
        (r"\b(?:rmdir)\s*\(\s*", ("rmdir",)),
        (r"\b(?:system|exec|shell_exec|passthru|proc_open|popen)\s*\(\s*", None),
    ],
}


def _string_at(text: str, i: int) -> str | None:
    """The string literal starting at text[i], if any ('...', "..." or `...`)."""
    if i >= len(text) or text[i] not in "'\"`":
        return None
    q = text[i]
    j = i + 1
    out = []
    while j < len(text):
        ch = text[j]
        if ch == "\\" and j + 1 < len(text):
            out.append(text[j + 1])
            j += 2
            continue
        if ch == q:
            s = "".join(out)
            return None if ("${" in s or "#{" in s or (q != "'" and "$" in s and q != "`")) else s
        out.append(ch)
        j += 1
    return None


def _scripted(lang: str, text: str) -> Iterator[Item]:
    import re
    for pattern, argv in _SCANS[lang]:
        for m in re.finditer(pattern, text):
            s = _string_at(text, m.end())
            if s is None:  # unlink glob("/etc/*"), rm_rf(File.join("x")): the first string inside
                near = re.search(r"""['"]""", text[m.end():m.end() + 40])
                if near is not None and "(" in text[m.end():m.end() + near.start() + 1]:
                    s = _string_at(text, m.end() + near.start())
            if argv is not None:
                yield _argv(*argv, s)
            elif s is not None:
                yield s
            else:
                yield _argv("sh", "-c", None)
    if lang in ("perl", "ruby", "php"):
        for m in re.finditer(r"`([^`]*)`", text):
            yield m.group(1)


def _c_unescape(s: str) -> str:
    """awk and C string escapes: \\n, \\t, \\xNN, \\NNN, \\\\ and \\"."""
    out, i = [], 0
    while i < len(s):
        ch = s[i]
        if ch != "\\" or i + 1 >= len(s):
            out.append(ch)
            i += 1
            continue
        nxt = s[i + 1]
        if nxt == "x":
            j = i + 2
            while j < len(s) and j < i + 4 and s[j] in "0123456789abcdefABCDEF":
                j += 1
            out.append(chr(int(s[i + 2:j], 16)) if j > i + 2 else "x")
            i = j
        elif nxt in "01234567":
            j = i + 1
            while j < len(s) and j < i + 4 and s[j] in "01234567":
                j += 1
            out.append(chr(int(s[i + 1:j], 8)))
            i = j
        else:
            out.append({"n": "\n", "t": "\t", "r": "\r"}.get(nxt, nxt))
            i += 2
    return "".join(out)


_AWK_RUNS = (r"\bsystem\s*\(\s*", r"(?<![\w$])(?=\"[^\"]*\"\s*\|\s*getline)",
             r"\|\s*(?=\")")


def _awk(text: str) -> Iterator[Item]:
    import re
    for pattern in _AWK_RUNS:
        for m in re.finditer(pattern, text):
            i = m.end()
            if i < len(text) and text[i] == '"':
                j = i + 1
                while j < len(text) and text[j] != '"':
                    j += 2 if text[j] == "\\" else 1
                yield _c_unescape(text[i + 1:j])
            else:
                yield _argv("sh", "-c", None)  # a command computed at run time


_STRING = r"'(?:[^'\\\n]|\\.)*'" + "|" + r'"(?:[^"\\\n]|\\.)*"'


def literals(text: str) -> list[str]:
    """The string literals in a piece of interpreter code, escapes decoded."""
    import re
    return [_c_unescape(m.group(0)[1:-1]) for m in re.finditer(_STRING, text)]


def scan(lang: str, text: str) -> Iterator[Item]:
    """Shell code and equivalent commands found in code for interpreter lang."""
    if lang == "python":
        yield from _python(text)
    elif lang == "awk":
        yield from _awk(text)
    elif lang in _SCANS:
        yield from _scripted(lang, text)
