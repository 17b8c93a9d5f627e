"""Nudges with a controlled clock: a week, a DST change and a downtime take milliseconds.

The services run on a real SQLite file created by the production migrations; only the
clock is ours. What would be sent comes back as Deliveries (Telegram is not involved).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from bot.coaching.services import Services
from bot.storage.models import Couple, FlowRun, NudgeLog, OutboxMessage
from tests.backends import BOTH
from tests.helpers import (
    ALEX,
    SAM,
    Clock,
    collect,
    collect_all,
    event,
    in_units,
    pair_services,
    press,
    prompts,
    run_clock,
    text_of,
    two_clocks,
)


@pytest.mark.parametrize(
    ("timezone", "start"),
    [
        ("Europe/Berlin", datetime(2026, 3, 23, tzinfo=UTC)),
        ("Europe/Berlin", datetime(2026, 10, 19, tzinfo=UTC)),
        ("America/New_York", datetime(2026, 3, 2, tzinfo=UTC)),
        ("America/New_York", datetime(2026, 10, 26, tzinfo=UTC)),
        ("Pacific/Auckland", datetime(2026, 3, 30, tzinfo=UTC)),
        ("Pacific/Auckland", datetime(2026, 9, 21, tzinfo=UTC)),
    ],
)
def test_two_weeks_across_a_dst_change_prompt_once_a_week_at_local_time(
    world: tuple[Services, Clock], timezone: str, start: datetime
) -> None:
    services, clock = world
    clock.now = start
    pair_services(services, clock, timezone, "sun", "19:00")
    sent = prompts(run_clock(services, clock, start + timedelta(days=14)))
    assert len(sent) == 2
    zone = ZoneInfo(timezone)
    for at, deliveries in sent:
        local = at.astimezone(zone)
        assert (local.weekday(), local.hour, local.minute) == (6, 19, 0)
        assert sorted(d.chat_id for d in deliveries) == [ALEX.id, SAM.id]
        labels = [b.label for row in deliveries[0].messages[0].buttons for b in row]
        assert labels == ["Start now", "Tomorrow, same time"]


@BOTH
def test_the_prompt_goes_to_the_linked_group(world: tuple[Services, Clock]) -> None:
    services, clock = world
    pair_services(services, clock, "UTC", "mon", "09:00")
    in_units(services).couples.link(event(ALEX, clock.now, chat=-500))
    [(_at, deliveries)] = prompts(run_clock(services, clock, clock.now + timedelta(days=2)))
    assert [d.chat_id for d in deliveries] == [-500]


def test_snooze_asks_again_tomorrow_same_time_once(world: tuple[Services, Clock]) -> None:
    services, clock = world
    pair_services(services, clock, "Europe/Berlin", "sat", "10:00")
    [(_at, deliveries)] = prompts(run_clock(services, clock, datetime(2026, 3, 7, 12, tzinfo=UTC)))
    snooze = next(
        b.data
        for row in deliveries[0].messages[0].buttons
        for b in row
        if b.label == "Tomorrow, same time"
    )
    reply = in_units(services).button(event(SAM, clock.now, button=snooze))
    assert reply.notice and "tomorrow at Sunday 10:00" in reply.notice.text
    in_units(services).button(event(ALEX, clock.now, button=snooze))  # pressed twice: still once
    again = prompts(run_clock(services, clock, datetime(2026, 3, 9, tzinfo=UTC)))
    assert [t.astimezone(ZoneInfo("Europe/Berlin")).strftime("%a %H:%M") for t, _ in again] == [
        "Sun 10:00"
    ]


def test_pause_stops_prompts_and_resume_does_not_replay_them(
    world: tuple[Services, Clock],
) -> None:
    services, clock = world
    pair_services(services, clock, "UTC", "wed", "18:00")
    in_units(services).couples.set_paused(event(SAM, clock.now), True)
    assert prompts(run_clock(services, clock, datetime(2026, 3, 5, tzinfo=UTC))) == []
    in_units(services).couples.set_paused(event(ALEX, clock.now), False)
    later = prompts(run_clock(services, clock, datetime(2026, 3, 12, tzinfo=UTC)))
    assert [t.strftime("%m-%d %H:%M") for t, _ in later] == ["03-11 18:00"]


def test_quiet_hours_hold_a_private_prompt_until_morning(world: tuple[Services, Clock]) -> None:
    services, clock = world
    pair_services(services, clock, "UTC", "mon", "23:00")
    in_units(services).couples.set_quiet(event(SAM, clock.now), "21:00 07:30")
    sent = run_clock(services, clock, datetime(2026, 3, 3, 12, tzinfo=UTC), timedelta(minutes=5))
    received = [(t.strftime("%H:%M"), m.chat_id) for t, d in sent for m in d.messages]
    assert received == [("07:30", SAM.id), ("08:00", ALEX.id)]  # Alex keeps 22:00-08:00
    with Session(services.engine) as session:
        assert session.exec(select(OutboxMessage)).all() == []


@BOTH
def test_a_prompt_missed_while_down_is_sent_late_once_or_skipped(
    world: tuple[Services, Clock],
) -> None:
    services, clock = world
    pair_services(services, clock, "UTC", "mon", "12:00")
    clock.now = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # down from before noon until 17:00
    late = collect_all(services, clock.now)
    assert sorted(d.chat_id for d in late) == [ALEX.id, SAM.id]
    assert collect_all(services, clock.now + timedelta(minutes=1)) == []
    clock.now = datetime(2026, 3, 9, 18, 30, tzinfo=UTC)  # next week: 6.5 hours late
    assert prompts([(clock.now, d) for d in collect_all(services, clock.now)]) == []
    with Session(services.engine) as session:
        statuses = [
            (n.kind, n.status) for n in session.exec(select(NudgeLog)) if n.kind == "weekly"
        ]
        couple = session.exec(select(Couple)).one()
    assert statuses == [("weekly", "queued"), ("weekly", "skipped")]
    assert couple.next_prompt_at == datetime(2026, 3, 16, 12, tzinfo=UTC)


def test_two_weeks_without_meeting_is_said_kindly(world: tuple[Services, Clock]) -> None:
    services, clock = world
    pair_services(services, clock, "UTC", "sun", "19:00")
    sent = prompts(
        run_clock(services, clock, datetime(2026, 3, 23, tzinfo=UTC), timedelta(hours=1))
    )
    texts = [text_of(ds[0].messages[0]) for _, ds in sent]
    assert len(texts) == 4  # Sundays 1, 8, 15 and 22 March; paired on the 1st
    assert ["two weeks" in text for text in texts] == [False, False, True, True]
    assert "short one" in texts[2] and "scold" not in texts[2]


def test_changing_the_schedule_or_timezone_reschedules_at_once(
    world: tuple[Services, Clock],
) -> None:
    services, clock = world
    couple_id = pair_services(services, clock, "UTC", "sun", "19:00")
    in_units(services).couples.schedule(event(ALEX, clock.now), "mon 08:00")
    in_units(services).couples.set_timezone(event(SAM, clock.now), "America/New_York")
    with Session(services.engine) as session:
        couple = session.get(Couple, couple_id)
        assert couple is not None and couple.next_prompt_at is not None
        assert (
            couple.next_prompt_at.astimezone(ZoneInfo("America/New_York")).strftime("%a %H:%M")
            == "Mon 08:00"
        )


def test_a_waiting_step_gets_one_reminder_then_the_run_expires(
    world: tuple[Services, Clock],
) -> None:
    services, clock = world
    clock.now = datetime(2026, 3, 2, 6, tzinfo=UTC)
    pair_services(services, clock, "UTC", "sun", "19:00")
    flow = services.flows.flows["letgo"]
    in_units(services).flows.start(event(ALEX, clock.now), flow)
    sent = run_clock(services, clock, clock.now + timedelta(days=4), timedelta(hours=1))
    texts = [
        (t - datetime(2026, 3, 2, 6, tzinfo=UTC), m.chat_id, text_of(m))
        for t, d in sent
        for m in d.messages
        if "State of the Union" not in text_of(m)
    ]
    reminders = [x for x in texts if "gentle reminder" in x[2]]
    assert [(r[0], r[1]) for r in reminders] == [(timedelta(hours=12), ALEX.id)]
    expired = [x for x in texts if "closed" in x[2]]
    assert [(e[0], e[1]) for e in expired] == [(timedelta(days=3), ALEX.id)]
    with Session(services.engine) as session:
        assert session.exec(select(FlowRun)).one().status == "expired"


def test_a_reminder_due_at_night_waits_for_the_morning(world: tuple[Services, Clock]) -> None:
    services, clock = world
    clock.now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    pair_services(services, clock, "UTC", "sun", "19:00")
    in_units(services).flows.start(event(ALEX, clock.now), services.flows.flows["letgo"])
    sent = run_clock(services, clock, clock.now + timedelta(days=1), timedelta(minutes=30))
    reminders = [t for t, d in sent for m in d.messages if "gentle reminder" in text_of(m)]
    assert [t.strftime("%d %H:%M") for t in reminders] == ["03 08:00"]


@BOTH
def test_two_processes_on_one_database_send_each_prompt_once(
    world: tuple[Services, Clock], tmp_path: Path
) -> None:
    services, clock = world
    pair_services(services, clock, "UTC", "mon", "09:00")
    url = services.engine.url.render_as_string(hide_password=False)
    now = "2026-03-02T09:00:30+00:00"
    assert two_clocks(url, now) == [[], [ALEX.id, SAM.id]]


@BOTH
def test_a_crash_between_queueing_and_sending_makes_the_prompt_late_not_lost(
    world: tuple[Services, Clock],
) -> None:
    services, clock = world
    pair_services(services, clock, "UTC", "mon", "09:00")
    clock.now = datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC)
    claimed, _more = collect(services, clock.now)  # then the process dies
    assert sorted(d.chat_id for d in claimed) == [ALEX.id, SAM.id]
    assert collect_all(services, clock.now + timedelta(seconds=10)) == []  # still held
    again = collect_all(services, clock.now + timedelta(minutes=1))  # the lease ran out
    assert sorted(d.chat_id for d in again) == [ALEX.id, SAM.id]
    assert collect_all(services, clock.now + timedelta(minutes=30)) == []


def test_you_time_gets_a_reminder_then_how_was_it_and_a_celebration(
    world: tuple[Services, Clock],
) -> None:
    services, clock = world
    clock.now = datetime(2026, 3, 2, 9, tzinfo=UTC)  # a Monday
    pair_services(services, clock, "UTC", "sun", "19:00")
    shown = (
        in_units(services)
        .flows.start(event(ALEX, clock.now), services.flows.flows["metime"])
        .messages
    )
    shown = press(services, ALEX, shown, "Let's plan it", clock.now)
    in_units(services).text(event(ALEX, clock.now, text="pottery class"))
    shown = in_units(services).text(event(ALEX, clock.now, text="sat 15:00")).messages
    press(services, ALEX, shown, "No, just me", clock.now)
    sent = run_clock(services, clock, datetime(2026, 3, 7, 20, tzinfo=UTC))
    mine = [
        (t.strftime("%a %H:%M"), text_of(m))
        for t, d in sent
        for m in d.messages
        if "pottery" in text_of(m)
    ]
    assert [(when, "It's time for your" in text) for when, text in mine[:1]] == [
        ("Sat 15:00", True)
    ]
    assert mine[1][0] == "Sat 18:00" and "How was your" in mine[1][1]
    review = [m for _t, d in sent for m in d.messages if "How was your" in text_of(m)]
    shown = press(services, ALEX, review, "Great", clock.now)
    outgoing = press(services, ALEX, shown, "Tell my partner", clock.now)
    celebrate = [m for m in outgoing if m.chat_id == SAM.id and "celebrate" in text_of(m).lower()]
    assert len(celebrate) == 1
    cheered = press(services, SAM, celebrate, "Send 🎉", clock.now)
    assert [(m.chat_id, text_of(m)) for m in cheered] == [
        (ALEX.id, '🎉 Sam is celebrating your "you" time with you!')
    ]


def test_time_together_reminds_both_then_asks_both_how_it_was(
    world: tuple[Services, Clock],
) -> None:
    services, clock = world
    clock.now = datetime(2026, 3, 2, 9, tzinfo=UTC)  # a Monday
    pair_services(services, clock, "UTC", "sun", "19:00")
    shown = (
        in_units(services)
        .flows.start(event(SAM, clock.now), services.flows.flows["together"])
        .messages
    )
    shown = press(services, SAM, shown, "A small ritual", clock.now)
    shown = press(services, SAM, shown, "Up for something active", clock.now)
    shown = press(services, SAM, shown, "Free", clock.now)
    in_units(services).text(event(SAM, clock.now, text="a walk by the river"))
    shown = in_units(services).text(event(SAM, clock.now, text="thu 18:30")).messages
    proposal = press(services, SAM, shown, "Send it to Alex", clock.now)
    press(services, ALEX, proposal, "Sounds lovely 💞", clock.now)
    sent = run_clock(services, clock, datetime(2026, 3, 5, 23, tzinfo=UTC))
    seen = sorted(
        (t.strftime("%a %H:%M"), d.chat_id, "time for your" in text_of(m))
        for t, d in sent
        for m in d.messages
        if "river" in text_of(m)
    )
    assert seen == [
        ("Thu 18:30", ALEX.id, True),
        ("Thu 18:30", SAM.id, True),
        ("Thu 21:30", ALEX.id, False),
        ("Thu 21:30", SAM.id, False),
    ]
    assert all(
        "How was your time together" in text_of(m)
        for t, d in sent
        for m in d.messages
        if "river" in text_of(m) and t.hour == 21
    )


def test_start_small_comes_once_a_week_to_whoever_has_not_let_go(
    world: tuple[Services, Clock],
) -> None:
    services, clock = world
    clock.now = datetime(2026, 3, 2, 9, tzinfo=UTC)  # Monday
    pair_services(services, clock, "UTC", "sun", "19:00")
    sent = run_clock(services, clock, datetime(2026, 3, 5, 9, tzinfo=UTC))
    small = [
        (t.strftime("%a %H:%M"), d.chat_id)
        for t, d in sent
        for m in d.messages
        if "A small invitation" in text_of(m)
    ]
    assert sorted(small) == [("Wed 19:00", ALEX.id), ("Wed 19:00", SAM.id)]
    in_units(services).flows.start(
        event(ALEX, clock.now), services.flows.flows["letgo"]
    )  # Thursday
    sent = run_clock(services, clock, datetime(2026, 3, 12, 9, tzinfo=UTC))
    invited = [
        d.chat_id for _t, d in sent for m in d.messages if "A small invitation" in text_of(m)
    ]
    assert invited == [SAM.id]
    in_units(services).couples.set_paused(event(SAM, clock.now), True)
    sent = run_clock(services, clock, datetime(2026, 3, 19, 9, tzinfo=UTC))
    assert not [d for _t, d in sent for m in d.messages if "A small invitation" in text_of(m)]


def test_a_scheduled_action_and_its_messages_are_one_transaction(
    world: tuple[Services, Clock],
) -> None:
    """A reminder or an expiry whose message cannot be stored leaves no trace: the run is
    not marked reminded, nor closed, nor claimed; when the database recovers, both come."""
    from sqlalchemy import text

    services, clock = world
    clock.now = datetime(2026, 3, 2, 6, tzinfo=UTC)
    pair_services(services, clock, "UTC", "sun", "19:00")
    in_units(services).flows.start(event(ALEX, clock.now), services.flows.flows["letgo"])
    later = clock.now + timedelta(days=4, hours=6)  # midday: no quiet hours in the way
    with services.engine.begin() as conn:  # the disk fills up as the messages are written
        conn.execute(
            text(
                "CREATE TRIGGER disk_full BEFORE INSERT ON outboxmessage "
                "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
            )
        )
    # Each failure is logged with its item's id, and nothing is left half done.
    services.nudges.queue_due(later)
    with Session(services.engine) as session:
        run = session.exec(select(FlowRun)).one()
        assert (run.status, run.reminded_step) == ("active", None)
        assert session.exec(select(NudgeLog)).all() == []
    with services.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER disk_full"))
    texts = [text_of(m) for d in collect_all(services, later) for m in d.messages]
    assert any("gentle reminder" in t for t in texts) and any("closed" in t for t in texts)
    with Session(services.engine) as session:
        assert session.exec(select(FlowRun)).one().status == "expired"


def test_the_practices_card_comes_before_the_first_wednesday_once(
    world: tuple[Services, Clock],
) -> None:
    """Paired on a Monday in Berlin: the third onboarding card (the small practices) comes
    on Wednesday at noon local, hours before the start-small invitation, and only once."""
    services, clock = world
    clock.now = datetime(2026, 3, 2, 9, tzinfo=UTC)  # a Monday
    pair_services(services, clock, "Europe/Berlin", "sun", "19:00")
    sent = run_clock(services, clock, datetime(2026, 3, 12, tzinfo=UTC))
    cards = sorted(
        (t.strftime("%a %H:%M"), m.chat_id)
        for t, d in sent
        for m in d.messages
        if "3/3 ·" in text_of(m)
    )
    assert cards == [("Wed 11:00", ALEX.id), ("Wed 11:00", SAM.id)]  # 12:00 in Berlin
    invited = [t for t, d in sent for m in d.messages if "A small invitation" in text_of(m)]
    assert invited and min(invited).strftime("%a") == "Wed" and min(invited).hour > 11


def test_paired_on_a_wednesday_afternoon_the_practices_card_comes_at_once() -> None:
    from bot.coaching.nudges.onboarding import card_due

    paired = datetime(2026, 3, 4, 15, 30, tzinfo=UTC)  # a Wednesday, 16:30 in Berlin
    assert card_due(paired, "Europe/Berlin") == paired
    assert card_due(datetime(2026, 3, 4, 9, tzinfo=UTC), "Europe/Berlin") == datetime(
        2026, 3, 4, 11, tzinfo=UTC
    )
    thursday = datetime(2026, 3, 5, 9, tzinfo=UTC)
    assert card_due(thursday, "Europe/Berlin") == datetime(2026, 3, 11, 11, tzinfo=UTC)
