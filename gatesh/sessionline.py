"""Command lines in a gated session: where one ends, and whether bash would wait for more.

A session forwards an incomplete line at once (bash shows PS2 for the next one, as harnesses
like pexpect.replwrap expect) only when bash itself would wait for more: an odd backslash at
the end, or bash's own parser (`bash -n`) reporting an early end of input.  A line gatesh
cannot parse that bash would not wait on is complete: the gate then blocks it as unparseable.
"""

from __future__ import annotations

import os
import subprocess

__all__ = ["edit", "needs_more", "take_line"]

_EOL = (0x0A, 0x0D)
_EARLY_END = (b"unexpected end of file", b"delimited by end-of-file")


def take_line(buf: bytearray) -> tuple[bytes, bytes] | None:
    """(typed bytes of the first line, its terminator) removed from buf, or None."""
    for i, c in enumerate(buf):
        if c in _EOL:
            line, term = bytes(buf[:i]), bytes(buf[i:i + 1])
            del buf[:i + 1]
            return line, term
    return None


def edit(typed: bytes) -> str:
    """The line for these keys: plain typing with backspace, ^U and ^W applied.

    This exact text is what is gated and what bash then receives, so nothing readline would
    turn into something else survives: escape sequences (arrows, history) and other control
    keys are dropped, and a tab is a space (no completion at a gated prompt).
    """
    out: list[str] = []
    text = typed.decode("utf-8", "surrogateescape")
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in "\x7f\x08":
            if out:
                out.pop()
        elif c == "\x15":
            out.clear()
        elif c == "\x17":
            while out and out[-1] == " ":
                out.pop()
            while out and out[-1] != " ":
                out.pop()
        elif c == "\x1b":
            i = _skip_escape(text, i)
            continue
        elif c == "\t":
            out.append(" ")
        elif c >= " ":
            out.append(c)
        i += 1
    return "".join(out)


def _skip_escape(text: str, i: int) -> int:
    """Past one escape sequence (CSI `ESC [ ... final`, SS3 `ESC O x`, or `ESC x`)."""
    if i + 1 < len(text) and text[i + 1] == "[":
        j = i + 2
        while j < len(text) and not ("@" <= text[j] <= "~"):
            j += 1
        return j + 1
    return min(i + 3 if i + 1 < len(text) and text[i + 1] == "O" else i + 2, len(text))


def _odd_backslash(text: str) -> bool:
    body = text.rstrip("\n")
    run = len(body) - len(body.rstrip("\\"))
    return run % 2 == 1


def needs_more(text: str, bash: str) -> bool:
    """True when bash, reading these lines interactively, would wait for another line."""
    if _odd_backslash(text):
        return True
    from .errors import Unparseable
    from .parse import parse
    try:
        parse(text)
        return False
    except Unparseable:
        pass
    return _bash_waits(text, bash)


def _bash_waits(text: str, bash: str) -> bool:
    """bash -n on the text: does it stop at the end of input (an unclosed construct)?"""
    try:
        done = subprocess.run([bash, "--norc", "--noprofile", "-n"],
                              input=text.encode("utf-8", "surrogateescape"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                                   "LC_ALL": "C"}, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False   # unknown: complete, so the gate sees it (and blocks what it cannot read)
    return any(s in done.stderr for s in _EARLY_END)
