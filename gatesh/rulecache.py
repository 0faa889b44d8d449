"""Validated rule packs kept with marshal, so gatesh does not parse TOML on every start."""

from __future__ import annotations

import os

from .model import Severity, Verdict
from .rules import Rule, Tool

__all__ = ["Cache"]


class Cache:
    """Validated packs kept with marshal, keyed by each file's identity.

    Parsing TOML for every pack on every `gatesh -c` would cost more than the rest of the
    gate together.  An entry is used only while the file's path, inode, size and mtime are
    unchanged; the directory is in the tamper pack, like the rules themselves.
    """

    def __init__(self, directory: str | None) -> None:
        self.path = os.path.join(directory, "rules.marshal") if directory else None
        self.entries: dict[str, tuple[object, ...]] = {}
        self.dirty = False
        if self.path:
            try:
                import marshal
                with open(self.path, "rb") as f:
                    # loads(read()): marshal.load on a file reads it piece by piece, 4x slower
                    data = marshal.loads(f.read())
                if isinstance(data, dict) and data.get("v") == _CACHE_VERSION:
                    self.entries = data["files"]
            except (OSError, EOFError, ValueError, TypeError, KeyError):
                self.entries = {}

    def load(self, path: str, origin: str) -> tuple[list[Rule], dict[str, Tool]]:
        _, tools, loader = self.peek(path, origin)
        return loader(), tools

    def peek(self, path: str, origin: str) -> tuple[tuple[str, ...], dict[str, Tool], object]:
        """The command names a pack's rules look at, its tools, and a loader for its rules.

        On a hit the rules stay marshalled bytes until the loader runs, so a pack whose
        commands do not occur costs almost nothing.
        """
        import marshal
        try:
            st = os.stat(path)
            key = (st.st_ino, st.st_size, st.st_mtime_ns, origin)
        except OSError:
            key = None
        hit = self.entries.get(path)
        if key is not None and hit is not None and hit[0] == key:
            tools = {n: Tool(frozenset(t[0]), t[1], frozenset(t[2]),  # type: ignore[index]
                             {k: frozenset(v) for k, v in t[3].items()})  # type: ignore[index]
                     for n, t in hit[3].items()}  # type: ignore[union-attr]
            blob = hit[2]

            def from_cache() -> list[Rule]:
                return [Rule(r[0], r[1], Severity(r[2]), Verdict(r[3]), *r[4:])
                        for r in marshal.loads(blob)]  # type: ignore[arg-type]
            return hit[1], tools, from_cache  # type: ignore[return-value]
        from .rulefile import load_file
        rules, tools = load_file(path, origin)
        names = tuple(sorted({c for r in rules for c in r.commands}))
        if key is not None and self.path:
            self.entries[path] = (key, names, marshal.dumps(tuple(
                # without the inline examples: the gate never needs them, and they are most
                # of the bytes to load (gatectl rules test reads the files themselves)
                (r.id, r.pack, r.severity.value, r.verdict.value) + tuple(r)[4:9] + ((), ())
                + tuple(r)[11:14] for r in rules)),
                {n: (tuple(t.value_options), t.operands, tuple(t.pair_options),
                     {k: tuple(v) for k, v in t.optional_values.items()})
                 for n, t in tools.items()})
            self.dirty = True
        return names, tools, lambda: rules

    def save(self) -> None:
        if not (self.dirty and self.path):
            return
        import marshal
        tmp = f"{self.path}.{os.getpid()}"
        try:
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            with open(tmp, "wb") as f:
                marshal.dump({"v": _CACHE_VERSION, "files": self.entries}, f)
            os.replace(tmp, self.path)
        except (OSError, ValueError):
            try:
                os.unlink(tmp)
            except OSError:
                pass


_CACHE_VERSION = 5
