"""What SQL, Redis and MongoDB text would destroy: a small scanner, not a SQL parser.

Comments and string literals are removed first, so `SELECT 'DROP TABLE x'` is data; then
each statement is judged by its leading keywords and whether it has a WHERE clause.
"""

from __future__ import annotations

__all__ = ["kinds", "KINDS"]

KINDS = ("drop", "drop_database", "truncate", "delete_all", "update_all", "alter_drop",
         "flush", "mongo_drop", "grant_all")

_DROP_DB = {"DATABASE", "SCHEMA", "KEYSPACE"}


def _past(text: str, end: str, start: int) -> int:
    """The index just after the next `end` from start, or the end of text."""
    j = text.find(end, start)
    return len(text) if j < 0 else j + len(end)


def _strip(text: str) -> str:
    """text with comments removed and string literals emptied."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "-" and text.startswith("--", i) or ch == "#" and (i == 0 or text[i - 1] in " \n;"):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if ch == "/" and text.startswith("/*", i):
            i = _past(text, "*/", i + 2)
            out.append(" ")
            continue
        if ch in "'\"`":
            j = i + 1
            while j < n and text[j] != ch:
                j += 2 if text[j] == "\\" else 1
            out.append(ch + ch if ch != "`" else " x ")
            i = j + 1
            continue
        if ch == "$" and text.startswith("$$", i):
            i = _past(text, "$$", i + 2)  # a dollar-quoted string
            out.append("''")
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _statement(words: list[str]) -> str | None:
    if not words:
        return None
    head = words[0]
    if head == "DROP":
        return "drop_database" if len(words) > 1 and words[1] in _DROP_DB else "drop"
    if head == "TRUNCATE":
        return "truncate"
    if head == "DELETE" and "WHERE" not in words:
        return "delete_all"
    if head == "UPDATE" and "SET" in words and "WHERE" not in words:
        return "update_all"
    if head == "ALTER" and "DROP" in words:
        return "alter_drop"
    if head in ("FLUSHALL", "FLUSHDB"):
        return "flush"
    if head == "GRANT" and "ALL" in words:
        return "grant_all"
    return None


def kinds(text: str) -> set[str]:
    """The kinds of destructive statement in text (see KINDS)."""
    found: set[str] = set()
    low = text.lower()
    if "dropdatabase(" in low or ".drop(" in low:
        found.add("mongo_drop")
    for call in ("deletemany({})", "deletemany( {} )", "remove({})", "deletemany()"):
        if call in low.replace(" ", "") or call in low:
            found.add("mongo_drop")
    clean = _strip(text)
    for stmt in clean.replace("\n", " ").split(";"):
        words = [w.strip("(),").upper() for w in stmt.split()]
        # a WITH ... AS (...) prefix or EXPLAIN does not change what the statement does
        while words and words[0] in ("EXPLAIN", "BEGIN", "COMMIT"):
            words = words[1:]
        got = _statement(words)
        if got:
            found.add(got)
    return found
