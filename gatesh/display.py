"""Untrusted text made safe to show: control, bidi and zero-width characters made visible."""

from __future__ import annotations

__all__ = ["visible", "non_ascii"]

_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


def _escape(ch: str) -> str:
    o = ord(ch)
    if o < 0x100:
        return f"\\x{o:02x}"
    if o < 0x10000:
        return f"\\u{o:04x}"
    return f"\\U{o:08x}"


def visible(text: str, keep_newlines: bool = False) -> str:
    """text with every character a terminal could hide or reinterpret shown as an escape."""
    import unicodedata
    out = []
    for ch in text:
        if ch == "\n" and keep_newlines:
            out.append(ch)
        elif ch == "\\" or ch.isprintable() and " " <= ch and ord(ch) < 0x7f:
            out.append(ch)
        elif ch in "\u2028\u2029" or unicodedata.category(ch) in _INVISIBLE_CATEGORIES:
            out.append(_escape(ch))
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(_escape(ch))
    return "".join(out)


def non_ascii(text: str) -> bool:
    """True when text holds any non-ASCII character (a Trojan Source warning is due)."""
    return not text.isascii()
