"""Weekly slots keep their local time across daylight-saving changes, in three hemispheres."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from bot.coaching.schedule import in_quiet_hours, next_weekly, same_time_next_day

SUNDAY = 6


def weekly(
    timezone: str, start: datetime, at: str, weeks: int, day: int = SUNDAY
) -> list[datetime]:
    slots, after = [], start
    for _ in range(weeks):
        after = next_weekly(after, day, at, timezone)
        slots.append(after)
    return slots


@pytest.mark.parametrize(
    ("timezone", "start"),
    [
        ("Europe/Berlin", datetime(2026, 3, 15, tzinfo=UTC)),  # summer time from 29 March
        ("Europe/Berlin", datetime(2026, 10, 11, tzinfo=UTC)),  # winter time from 25 October
        ("America/New_York", datetime(2026, 2, 25, tzinfo=UTC)),  # DST from 8 March
        ("America/New_York", datetime(2026, 10, 20, tzinfo=UTC)),  # ends 1 November
        ("Pacific/Auckland", datetime(2026, 3, 25, tzinfo=UTC)),  # NZDT ends 5 April
        ("Pacific/Auckland", datetime(2026, 9, 15, tzinfo=UTC)),  # NZDT from 27 September
    ],
)
def test_local_time_survives_the_change(timezone: str, start: datetime) -> None:
    slots = weekly(timezone, start, "19:00", 4)
    local = [s.astimezone(ZoneInfo(timezone)) for s in slots]
    assert [(t.weekday(), t.hour, t.minute) for t in local] == [(SUNDAY, 19, 0)] * 4
    offsets = {t.utcoffset() for t in local}
    assert len(offsets) == 2  # the change really happened inside the four weeks
    gaps = {b - a for a, b in pairwise(slots)}
    assert gaps <= {timedelta(days=7), timedelta(days=7, hours=1), timedelta(days=6, hours=23)}


def test_a_slot_in_the_skipped_hour_moves_to_the_first_time_after() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    slot = next_weekly(datetime(2026, 3, 27, tzinfo=UTC), SUNDAY, "02:30", "Europe/Berlin")
    assert slot.astimezone(berlin).strftime("%Y-%m-%d %H:%M") == "2026-03-29 03:30"
    following = next_weekly(slot, SUNDAY, "02:30", "Europe/Berlin")
    assert following.astimezone(berlin).strftime("%Y-%m-%d %H:%M") == "2026-04-05 02:30"


def test_a_slot_in_the_repeated_hour_happens_once() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    slot = next_weekly(datetime(2026, 10, 23, tzinfo=UTC), SUNDAY, "02:30", "Europe/Berlin")
    assert slot == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # the first 02:30 (summer time)
    following = next_weekly(slot, SUNDAY, "02:30", "Europe/Berlin")
    assert following.astimezone(berlin).strftime("%Y-%m-%d %H:%M") == "2026-11-01 02:30"
    # the second 02:30 (winter time, an hour later) is not a slot of its own
    assert next_weekly(slot + timedelta(minutes=30), SUNDAY, "02:30", "Europe/Berlin") == following


def test_snooze_keeps_the_local_time_across_the_change() -> None:
    york = ZoneInfo("America/New_York")
    slot = datetime(2026, 3, 7, 19, 0, tzinfo=york).astimezone(UTC)  # the evening before DST
    snoozed = same_time_next_day(slot, "America/New_York").astimezone(york)
    assert snoozed.strftime("%Y-%m-%d %H:%M") == "2026-03-08 19:00"
    assert snoozed.astimezone(UTC) - slot == timedelta(hours=23)  # a short night


@pytest.mark.parametrize(
    ("local", "quiet_until"),
    [("21:59", None), ("22:00", "08:00"), ("03:00", "08:00"), ("07:59", "08:00"), ("08:00", None)],
)
def test_quiet_hours_cross_midnight(local: str, quiet_until: str | None) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    hour, minute = map(int, local.split(":"))
    now = datetime(2026, 6, 10, hour, minute, tzinfo=berlin).astimezone(UTC)
    ends = in_quiet_hours(now, "Europe/Berlin", "22:00", "08:00")
    assert (ends.astimezone(berlin).strftime("%H:%M") if ends else None) == quiet_until
    if ends is not None:
        assert ends > now and ends - now <= timedelta(hours=10)


def test_a_daytime_window_and_an_empty_one() -> None:
    noon = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
    assert in_quiet_hours(noon, "UTC", "09:00", "17:00") == datetime(2026, 6, 10, 17, tzinfo=UTC)
    assert in_quiet_hours(noon, "UTC", "00:00", "00:00") is None
