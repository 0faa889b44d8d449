"""Frozen records: immutable named tuples that cost almost nothing to define or build.

gatesh starts once per agent command, so the stage-to-stage data must not pay for the
dataclasses module (and inspect) at import, nor for generating code per class: measured,
15 frozen slotted dataclasses added about 19 ms to every `gatesh -c`.  A Record is a tuple
subclass with named read-only properties; it compares, hashes and pickles as a tuple.
"""

from __future__ import annotations

try:  # the C field descriptor namedtuple uses: a third faster than property(itemgetter)
    from _collections import _tuplegetter
except ImportError:  # pragma: no cover - another Python
    from operator import itemgetter

    def _tuplegetter(index: int, doc: str) -> property:  # type: ignore[no-redef]
        return property(itemgetter(index), doc=doc)

TYPE_CHECKING = False  # importing typing would cost ~15 ms on every gatesh start
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, TypeVar
    R = TypeVar("R", bound="Record")

__all__ = ["Record", "fields", "replace"]


class Record(tuple):  # type: ignore[type-arg]
    """Base of every frozen record; subclasses set _fields and write __new__."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        for i, name in enumerate(cls.__dict__.get("_fields", ())):
            setattr(cls, name, _tuplegetter(i, f"field {i}: {name}"))

    def __repr__(self) -> str:
        inner = ", ".join(f"{f}={v!r}" for f, v in zip(self._fields, self))
        return f"{type(self).__name__}({inner})"

    def __getnewargs__(self) -> tuple[Any, ...]:
        return tuple(self)

    def _asdict(self) -> dict[str, Any]:
        return dict(zip(self._fields, self))


def fields(rec: Record) -> tuple[str, ...]:
    return rec._fields


def replace(rec: R, **changes: Any) -> R:
    """A copy of rec with some fields changed (like dataclasses.replace)."""
    values = dict(zip(rec._fields, rec))
    for k in changes:
        if k not in values:
            raise TypeError(f"{type(rec).__name__} has no field {k!r}")
    values.update(changes)
    return type(rec)(**values)
