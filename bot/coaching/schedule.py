"""Wall-clock arithmetic in a couple's timezone: weekly slots, snoozes, quiet hours.

Everything takes and returns aware UTC datetimes; local time is only used inside.
Daylight-saving rules (documented in the README):
- a slot keeps its local time across a change (19:00 Berlin stays 19:00 Berlin);
- a slot in a skipped hour (02:30 on the spring-forward night) happens one hour
  later by the wall clock, at 03:30, the first moment that exists after it;
- a slot in a repeated hour (02:30 on the fall-back night) happens once, at the
  first 02:30 (summer time).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEK = timedelta(days=7)  # a weekly rhythm: the meeting, the recap, start small


def parse_clock(text: str) -> time:
    """ "19:00" or "19:00:05" -> time."""
    hour, minute, *second = (int(p) for p in text.split(":"))
    return time(hour, minute, second[0] if second else 0)


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local date and time, with the DST rules above.

    fold=0 (PEP 495) picks the first of a repeated time, and reads a skipped time
    with the offset from before the jump, which lands one hour later by the new
    wall clock: 02:30 -> 03:30.
    """
    return datetime.combine(day, at).replace(tzinfo=zone, fold=0).astimezone(UTC)


def next_weekly(after: datetime, weekday: int, at: str, timezone: str) -> datetime:
    """The first weekly slot (weekday 0 = Monday, local `at`) strictly after `after`."""
    zone = ZoneInfo(timezone)
    clock = parse_clock(at)
    local_day = after.astimezone(zone).date()
    day = local_day + timedelta(days=(weekday - local_day.weekday()) % 7)
    for _ in range(3):
        candidate = local_instant(day, clock, zone)
        if candidate > after:
            return candidate
        day += timedelta(days=7)
    raise AssertionError("unreachable: a week always has the weekday")


def same_time_next_day(slot: datetime, timezone: str) -> datetime:
    """Tomorrow at the same local time as `slot` (a one-off snooze)."""
    zone = ZoneInfo(timezone)
    local = slot.astimezone(zone)
    return local_instant(local.date() + timedelta(days=1), local.time(), zone)


def in_quiet_hours(now: datetime, timezone: str, start: str, end: str) -> datetime | None:
    """If `now` falls in the quiet window (local start..end, may cross midnight), when it ends."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    begin, finish = parse_clock(start), parse_clock(end)
    current = local.time().replace(tzinfo=None)
    if begin == finish:
        return None  # an empty window: never quiet
    if begin < finish:
        quiet = begin <= current < finish
        end_day = local.date()
    else:
        quiet = current >= begin or current < finish
        end_day = local.date() + timedelta(days=1) if current >= begin else local.date()
    if not quiet:
        return None
    return local_instant(end_day, finish, zone)


def week_number(moment: datetime) -> int:
    """Weeks since a Monday in 1970: consecutive weeks always differ, so `n % k` picks a
    different written variant each week (never the same one two weeks running)."""
    return (moment.astimezone(UTC).date() - date(1970, 1, 5)).days // 7
