"""Points in time as people type them: `30m`, `2h`, `7d`, `1w`, or an ISO date or time."""

from __future__ import annotations

from .errors import UsageError

__all__ = ["parse_when", "record_time"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_when(text: str, now: float) -> float:
    """Seconds since the epoch for `text`: a duration before `now`, or an ISO date/time
    (local time unless it names a zone)."""
    t = text.strip()
    if t[:-1].isdigit() and t[-1:] in _UNITS:
        return now - int(t[:-1]) * _UNITS[t[-1]]
    from datetime import datetime
    try:
        when = datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"cannot read the time {text!r}; use 30m, 2h, 7d, 1w or an ISO "
                         "date such as 2026-11-20 or 2026-11-20T14:00") from None
    return when.timestamp()


def record_time(rec: dict[str, object]) -> float | None:
    """A record's `ts` (ISO UTC with Z) in seconds since the epoch; None when missing or bad."""
    ts = rec.get("ts")
    if not isinstance(ts, str):
        return None
    from datetime import datetime
    try:
        return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
