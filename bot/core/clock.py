"""The one clock every timed decision reads: the machine's UTC time, plus an offset.

The offset is zero in production. Tests and the playground's browser test set it
(`CLOCK_OFFSET_SECONDS`, or `start_at`) so that "now" starts at a fixed daytime instant and
runs forward at the machine's pace: a suite run at 23:30 UTC then sees the same afternoon
as one run at noon, and quiet hours, weekdays and DST are tested on purpose, by tests that
set the time. The emulator, the bot and every date it writes read this one function, so
they never disagree.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def now() -> datetime:
    """Aware UTC, as SQLModel's datetime columns store and return it."""
    return datetime.now(UTC) + _offset


def offset_seconds() -> float:
    return _offset.total_seconds()


def set_offset(seconds: float) -> None:
    """Shift this process's clock; every process of one test run gets the same shift."""
    global _offset
    _offset = timedelta(seconds=seconds)


def start_at(instant: datetime) -> float:
    """Make "now" this instant, running forward from here; returns the offset in seconds."""
    set_offset(0)
    seconds = (instant - datetime.now(UTC)).total_seconds()
    set_offset(seconds)
    return seconds
