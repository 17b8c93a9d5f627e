"""The clock's wake-ups (the `timer` table): the recap, start small, the onboarding card and
the daily retention are rows due at their moment, never scans of every couple.

Real databases made by the production migrations (SQLite, and PostgreSQL where marked);
only the clock is the test's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from bot.coaching.services import Services
from bot.storage.db import utcnow
from bot.storage.models import FlowRun, NudgeLog, Timer
from bot.storage.tables import TIMERS
from bot.storage.timers import LEASE, Timers
from tests.backends import BOTH
from tests.helpers import (
    ALEX,
    SAM,
    STEP,
    Clock,
    event,
    in_units,
    pair_services,
    recaps,
    run_clock,
    two_clocks,
)


def timers(services: Services) -> dict[tuple[str, str], datetime]:
    with services.db.connect() as conn:
        return {(r.kind, r.key): r.due_at for r in conn.execute(TIMERS.select())}


@BOTH
def test_a_taken_wake_up_is_leased_and_handed_on_when_its_taker_dies(
    world: tuple[Services, Clock],
) -> None:
    services, clock = world
    db, now = services.db, clock.now
    with db.unit() as conn:
        Timers.wake(conn, "recap", "7", now)
        Timers.wake(conn, "recap", "7", now)  # waking twice is one row
    with db.unit() as conn:
        [taken] = [t for t in Timers.take(conn, now, 10) if t.key == "7"]
    # The taker died here, before settling: nobody else takes it while the lease holds...
    with db.unit() as conn:
        assert [t for t in Timers.take(conn, now + LEASE / 2, 10) if t.key == "7"] == []
    # ...and once the lease has run out, the next clock does.
    with db.unit() as conn:
        [again] = [t for t in Timers.take(conn, now + LEASE * 2, 10) if t.key == "7"]
    assert again.id == taken.id
    # A wake-up that came meanwhile wins over the settling of the older take.
    with db.unit() as conn:
        Timers.wake(conn, "recap", "7", now + timedelta(hours=1))
        Timers.settle(conn, again, None)
    assert timers(services)[("recap", "7")] == now + timedelta(hours=1)
    with db.unit() as conn:
        [last] = [t for t in Timers.take(conn, now + timedelta(hours=2), 10) if t.key == "7"]
        Timers.settle(conn, last, now + timedelta(days=7))
    assert timers(services)[("recap", "7")] == now + timedelta(days=7, hours=0)


def test_a_couple_is_three_wake_ups_and_the_card_goes_once_sent(
    world: tuple[Services, Clock],
) -> None:
    services, clock = world  # Sunday 1 March 2026
    couple = pair_services(services, clock, "UTC", "sun", "19:00")
    key = str(couple)
    assert {k for k in timers(services) if k[1] == key} == {
        ("recap", key),
        ("start_small", key),
        ("onboarding", key),
    }
    run_clock(services, clock, datetime(2026, 3, 2, tzinfo=UTC), STEP)
    due = timers(services)
    # Each at its own moment, worked out by its handler: no row is due before it.
    assert due[("onboarding", key)] == datetime(2026, 3, 4, 12, tzinfo=UTC)  # Wednesday noon
    assert due[("recap", key)] == datetime(2026, 3, 8, 21, tzinfo=UTC)  # the slot + 2 h
    run_clock(services, clock, datetime(2026, 3, 5, tzinfo=UTC), STEP)
    assert ("onboarding", key) not in timers(services)  # sent, and done with


def test_a_new_meeting_slot_moves_the_recap_with_it(world: tuple[Services, Clock]) -> None:
    services, clock = world
    pair_services(services, clock, "UTC", "sun", "19:00")
    # The first Sunday is too soon after pairing; then the couple moves its meeting.
    run_clock(services, clock, datetime(2026, 3, 9, 9, tzinfo=UTC), STEP)
    in_units(services).couples.schedule(event(ALEX, clock.now), "wed 18:00")
    sent = recaps(run_clock(services, clock, datetime(2026, 3, 16, tzinfo=UTC), STEP))
    assert sorted({when for when, _chat, _text in sent}) == ["Wed 11 20:00"]
    assert {chat for _when, chat, _text in sent} == {ALEX.id, SAM.id}


@BOTH
def test_two_processes_on_one_database_send_each_recap_once(
    world: tuple[Services, Clock],
) -> None:
    """Two clocks at once find the couple's recap wake-up due: one takes it (its lease, and
    the recap's claim), and the couple gets one recap."""
    services, clock = world
    pair_services(services, clock, "UTC", "sun", "19:00")
    url = services.engine.url.render_as_string(hide_password=False)
    now = "2026-03-15T21:05:00+00:00"  # two weeks on, five minutes after the recap moment
    assert two_clocks(url, now) == [[], [ALEX.id, SAM.id]]
    with Session(services.engine) as session:
        claims = session.exec(select(NudgeLog).where(NudgeLog.kind == "recap")).all()
    assert [c.slot for c in claims] == ["2026-03-15T21:00:00+00:00"]


def test_retention_is_a_daily_wake_up(world: tuple[Services, Clock]) -> None:
    services, clock = world
    pair_services(services, clock, "UTC", "sun", "19:00")
    in_units(services).flows.start(event(ALEX, clock.now), services.flows.flows["appreciate"])
    in_units(services).flows.cancel(event(ALEX, clock.now))
    with Session(services.engine) as session:
        assert [r.status for r in session.exec(select(FlowRun)).all()] == ["cancelled"]
        daily = session.exec(select(Timer).where(Timer.kind == "retention")).one()
    # Months later the day's wake-up comes: the old transcript goes, and it is due again
    # a day later.
    later = max(utcnow(), clock.now) + timedelta(days=200)
    services.nudges.queue_due(later, 20)
    with Session(services.engine) as session:
        assert session.exec(select(FlowRun)).all() == []
        again = session.exec(select(Timer).where(Timer.kind == "retention")).one()
    assert again.id == daily.id and again.due_at == later + timedelta(days=1)


def test_one_failing_action_cannot_hold_back_the_clock(
    world: tuple[Services, Clock], caplog: pytest.LogCaptureFixture
) -> None:
    """Alex's expiry cannot be stored (a fault on his rows alone): it is logged with the
    run's id, never its words, and stays due; Sam's run still expires and says so."""
    from sqlalchemy import text

    services, clock = world
    pair_services(services, clock, "UTC", "sun", "19:00")
    letgo = services.flows.flows["letgo"]
    in_units(services).flows.start(event(ALEX, clock.now), letgo)
    in_units(services).flows.start(event(SAM, clock.now), letgo)
    with Session(services.engine) as session:
        runs = session.exec(select(FlowRun).order_by(col(FlowRun.id))).all()
        for run in runs:
            run.expires_at = clock.now
        session.add_all(runs)
        session.commit()
        ids = [run.id for run in runs]
    with services.engine.begin() as conn:
        conn.execute(
            text(
                f"CREATE TRIGGER alex_fails BEFORE INSERT ON outboxmessage WHEN "
                f"NEW.chat_id = {ALEX.id} BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
            )
        )
    later = clock.now + timedelta(minutes=1)
    services.nudges.queue_due(later, 20)
    with Session(services.engine) as session:
        assert [session.get(FlowRun, i).status for i in ids] == ["active", "expired"]  # type: ignore[union-attr]
    told = [m.message.chat_id for m in services.outbox.claim_due(later, 100)]
    assert told == [SAM.id]
    failed = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert failed == [f"FlowExpiry: the due item {ids[0]} failed"]
