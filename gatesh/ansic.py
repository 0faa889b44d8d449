"""ANSI-C quoting: the inside of a $'...' string decoded as bash does.

gatesh.words imports it on the first $'...' it meets (start-up time).
"""

from __future__ import annotations

__all__ = ["decode"]

_ESCAPES = {"a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r",
            "t": "\t", "v": "\v", "\\": "\\", "'": "'", '"': '"', "?": "?"}


def decode(s: str) -> str:
    """Decode the inside of $'...' as bash does (a NUL ends the string)."""
    out, i, n = [], 0, len(s)
    while i < n:
        c = s[i]
        i += 1
        if c != "\\" or i >= n:
            out.append(c)
            continue
        c = s[i]
        i += 1
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif c in "01234567":
            j = i
            while j < n and j < i + 2 and s[j] in "01234567":
                j += 1
            out.append(chr(int(s[i - 1:j], 8) & 0xFF))
            i = j
        elif c in "xuU":
            j, limit = i, {"x": 2, "u": 4, "U": 8}[c]
            while j < n and j < i + limit and s[j] in "0123456789abcdefABCDEF":
                j += 1
            if j == i:
                out.append("\\" + c)
            else:
                code = int(s[i:j], 16)
                out.append(chr(code) if code < 0x110000 else "\ufffd")
            i = j
        elif c == "c" and i < n:
            out.append(chr(ord(s[i].upper()) ^ 0x40) if s[i] != "?" else "\x7f")
            i += 1
        else:
            out.append("\\" + c)
    text = "".join(out)
    return text.split("\x00", 1)[0]
