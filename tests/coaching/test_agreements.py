"""Agreements keep the bot's promise: the follow-up comes on its day at the meeting time, its
answer is stored, and the next State of the Union brings the agreement back."""

from __future__ import annotations

import html
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from bot.coaching.agreements import AgreementService
from bot.coaching.schedule import local_instant
from bot.coaching.services import Services
from bot.storage.agreements import Agreements
from bot.storage.db import utcnow
from bot.storage.models import Agreement, Couple
from tests.helpers import (
    ALEX,
    SAM,
    Clock,
    Delivery,
    Rig,
    event,
    in_units,
    label_of,
    linked_group,
    meet_and_agree,
    pair,
    pair_services,
    press,
    run_clock,
    text_of,
    warm_up,
)


async def test_the_follow_up_comes_is_answered_and_returns_at_the_next_meeting(
    rig: Rig,
) -> None:
    alex, sam = await pair(rig)
    group = await linked_group(rig, alex, sam)
    alex.says("/schedule sun 19:30", group)
    await alex.sees("Sunday", in_=group)
    made = utcnow()
    await meet_and_agree(alex, sam, group, "Dishes after dinner, whoever didn't cook")
    with Session(rig.engine) as session:
        agreement = session.exec(select(Agreement)).one()
        couple = session.exec(select(Couple)).one()
    zone = ZoneInfo(couple.timezone)
    day = made.astimezone(zone).date() + timedelta(days=7)
    assert agreement.follow_up == day
    assert agreement.follow_up_at == local_instant(day, time(19, 30), zone)

    # The day comes (moved to now: the clock test below waits for the real day).
    with Session(rig.engine) as session:
        row = session.exec(select(Agreement)).one()
        row.follow_up_at = utcnow()
        session.add(row)
        session.commit()
    due = await alex.sees("you agreed", "Dishes after dinner", in_=group)
    assert [b["text"] for b in due.buttons] == ["It's working", "Needs another look", "Let it go"]
    await sam.presses("Needs another look", group)
    # A joint decision: Sam's answer is put to Alex, who agrees.
    asked = await alex.sees("Sam says", "Needs another look", "Alex, do you agree?", in_=group)
    assert [b["text"] for b in asked.buttons] == [
        "It's working",
        "Needs another look",
        "Let it go",
    ]
    with Session(rig.engine) as session:
        assert session.exec(select(Agreement)).one().status == "open"  # one answer is not both
    await alex.presses("Needs another look", group)
    await sam.sees("next State of the Union", in_=group)
    alex.says("/agreements", group)
    await alex.sees("Dishes after dinner", "needs another look", in_=group)

    # The next meeting opens with it, and offers it as the issue.
    alex.says("/sotu", group)
    welcome = await alex.sees("State of the Union", in_=group)
    assert "Last time you agreed" in welcome.text and "Dishes after dinner" in welcome.text
    assert welcome.text.index("Last time") < welcome.text.index("If it gets heated")
    await sam.presses("We're ready", group)
    await warm_up(alex, sam, group)
    offer = await alex.sees("needs another look", "Dishes after dinner", in_=group)
    assert [b["text"] for b in offer.buttons][:2] == [
        "Yes, look at it again",
        "Something else today",
    ]
    await sam.presses("Yes, look at it again", group)
    await alex.sees("Today's issue", "Dishes after dinner", in_=group)
    with Session(rig.engine) as session:
        stored = session.exec(select(Agreement)).one()
    assert stored.status == "revisited"
    assert [h["answer"] for h in stored.history] == ["again", "revisited"]


def make_agreement(services: Services, clock: Clock, days: int) -> int:
    """An agreement stored the way a meeting stores it, its follow-up from the real rule."""
    with services.db.unit() as conn:
        couple_id = conn.execute(select(Couple.id)).scalar_one()
        follow_up, at = AgreementService.due_at(conn, couple_id, days, clock.now)
        Agreements.add(
            conn, couple_id, None, "Phones away at dinner", follow_up, clock.now, None, at
        )
    return couple_id


def follow_ups(sent: list[tuple[datetime, Delivery]]) -> list[tuple[str, int]]:
    return [
        (t.strftime("%m-%d %H:%M"), m.chat_id)
        for t, d in sent
        for m in d.messages
        if "you agreed" in text_of(m)
    ]


def test_the_follow_up_waits_for_its_day_and_the_meeting_time(
    world: tuple[Services, Clock],
) -> None:
    services, clock = world
    pair_services(services, clock, "Europe/Berlin", "sun", "19:00")
    in_units(services).couples.link(event(ALEX, clock.now, chat=-500))
    clock.now = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # Monday
    make_agreement(services, clock, 7)
    sent = run_clock(services, clock, datetime(2026, 3, 12, tzinfo=UTC))
    # Monday 9 March, 19:00 in Berlin (UTC+1), once, in the group.
    assert follow_ups(sent) == [("03-09 18:00", -500)]
    message = next(m for _t, d in sent for m in d.messages if "you agreed" in text_of(m))
    asked = press(services, SAM, [message], "It's working", clock.now)
    # (pressed in Sam's private chat: Alex is asked in private)
    assert [(m.chat_id, "Alex, do you agree?" in text_of(m)) for m in asked] == [
        (SAM.id, False),
        (ALEX.id, True),
    ]
    again = press(services, SAM, asked, "It's working", clock.now)  # Sam can't confirm Sam
    assert again == []
    settled = press(services, ALEX, asked, "It's working", clock.now)
    assert "working" in text_of(settled[0])
    with Session(services.engine) as session:
        agreement = session.exec(select(Agreement)).one()
    assert agreement.status == "working" and agreement.history[0]["answer"] == "working"
    assert sorted(agreement.history[0]["by"]) == sorted([ALEX.id, SAM.id])


def test_a_follow_up_answered_differently_needs_another_look_and_says_so(
    world: tuple[Services, Clock],
) -> None:
    """Without a group: Alex's answer goes to Sam privately; Sam sees it differently, so
    both hear both answers and the agreement comes back at the next meeting."""
    services, clock = world
    pair_services(services, clock, "UTC", "sun", "19:00")
    clock.now = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    make_agreement(services, clock, 7)
    sent = run_clock(services, clock, datetime(2026, 3, 10, tzinfo=UTC))
    to_alex = [
        m
        for _t, d in sent
        for m in d.messages
        if "you agreed" in text_of(m) and m.chat_id == ALEX.id
    ]
    proposed = press(services, ALEX, to_alex, "It's working", clock.now)
    told = {m.chat_id: text_of(m) for m in proposed}
    assert "I've asked Sam too" in told[ALEX.id]
    assert "Alex says" in told[SAM.id] and "Sam, do you agree?" in told[SAM.id]
    to_sam = [m for m in proposed if m.chat_id == SAM.id]
    settled = press(services, SAM, to_sam, "Let it go", clock.now)
    assert sorted(m.chat_id for m in settled) == [ALEX.id, SAM.id]
    texts = [html.unescape(text_of(m)) for m in settled]  # as Telegram shows the HTML
    assert all("You see" in t and "(Alex: It's working; Sam: Let it go)" in t for t in texts)
    with Session(services.engine) as session:
        agreement = session.exec(select(Agreement)).one()
    assert agreement.status == "again"
    with services.work.open() as tx:
        review = services.agreements.review(tx.conn, agreement.couple_id, clock.now)
    assert review["revisit"] == "Phones away at dinner"


def test_without_a_group_each_gets_it_after_their_quiet_hours(
    world: tuple[Services, Clock],
) -> None:
    services, clock = world
    pair_services(services, clock, "UTC", "sun", "23:00")  # a late meeting time
    in_units(services).couples.set_quiet(event(SAM, clock.now), "21:00 07:30")
    clock.now = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    make_agreement(services, clock, 14)
    sent = run_clock(services, clock, datetime(2026, 3, 18, tzinfo=UTC))
    # Alex keeps the default 22:00-08:00
    assert sorted(follow_ups(sent)) == [("03-17 07:30", SAM.id), ("03-17 08:00", ALEX.id)]


def test_a_paused_couple_gets_it_when_they_resume(world: tuple[Services, Clock]) -> None:
    services, clock = world
    pair_services(services, clock, "UTC", "sun", "19:00")
    clock.now = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    make_agreement(services, clock, 7)
    in_units(services).couples.set_paused(event(SAM, clock.now), True)
    assert follow_ups(run_clock(services, clock, datetime(2026, 3, 12, tzinfo=UTC))) == []
    in_units(services).couples.set_paused(event(ALEX, clock.now), False)
    late = follow_ups(run_clock(services, clock, datetime(2026, 3, 12, 9, tzinfo=UTC)))
    assert sorted(late) == [("03-12 08:00", ALEX.id), ("03-12 08:00", SAM.id)]  # quiet hours


def test_a_stranger_cannot_answer_a_follow_up(world: tuple[Services, Clock]) -> None:
    services, clock = world
    pair_services(services, clock, "UTC", "sun", "19:00")
    make_agreement(services, clock, 0 + 7)
    from bot.core.events import Person
    from bot.words.buttons import AgreementChoice

    stranger = Person(4242, "Robin")
    reply = in_units(services).button(
        event(stranger, clock.now, button=AgreementChoice(1, "let_go").pack())
    )
    assert reply.notice is not None and reply.messages == []
    with Session(services.engine) as session:
        assert session.exec(select(Agreement)).one().status == "open"


def test_on_the_meeting_day_the_follow_up_comes_with_the_weekly_prompt(
    world: tuple[Services, Clock],
) -> None:
    """An agreement made at Sunday's meeting, looked at "in a week": next Sunday the weekly
    prompt carries it (its answers above "Start now"), one message instead of two."""
    services, clock = world
    pair_services(services, clock, "UTC", "sun", "19:00")
    in_units(services).couples.link(event(ALEX, clock.now, chat=-500))
    clock.now = datetime(2026, 3, 1, 19, 40, tzinfo=UTC)  # Sunday, after the meeting
    make_agreement(services, clock, 7)
    sent = run_clock(services, clock, datetime(2026, 3, 9, tzinfo=UTC))
    sunday = [
        (t.strftime("%a %d %H:%M"), m)
        for t, d in sent
        for m in d.messages
        if t.day == 8 and t.hour < 20 and m.chat_id == -500  # (the recap comes at 21:00)
    ]
    assert [(when, "State of the Union" in text_of(m)) for when, m in sunday] == [
        ("Sun 08 19:00", True)
    ]
    prompt = sunday[0][1]
    assert "Last time you agreed" in text_of(prompt) and "Phones away at dinner" in text_of(prompt)
    labels = [label_of(b) for row in prompt.buttons for b in row]
    assert labels[:3] == ["It's working", "Needs another look", "Let it go"]
    assert "Start now" in labels[3]
    asked = press(services, SAM, [prompt], "It's working", clock.now)
    settled = press(services, ALEX, asked, "It's working", clock.now)
    assert any("working for you" in text_of(m) for m in settled)
    # and no separate follow-up afterwards
    later = run_clock(services, clock, datetime(2026, 3, 10, tzinfo=UTC))
    assert follow_ups(later) == []


async def test_the_weekly_prompt_carries_the_follow_up_due_that_day(rig: Rig) -> None:
    """Through the bot: the follow-up and the weekly prompt fall due together (the meeting
    day); one message comes, with the follow-up's answers, and both answer it."""
    alex, sam = await pair(rig)
    group = await linked_group(rig, alex, sam)
    alex.says("/schedule sun 19:30", group)
    await alex.sees("Sunday", in_=group)
    await meet_and_agree(alex, sam, group, "A walk after dinner")
    now = utcnow()
    with Session(rig.engine) as session:
        agreement = session.exec(select(Agreement)).one()
        couple = session.exec(select(Couple)).one()
        agreement.follow_up_at = couple.next_prompt_at = now
        session.add(agreement)
        session.add(couple)
        session.commit()
    prompt = await alex.sees("State of the Union", "Last time you agreed", in_=group)
    assert "A walk after dinner" in prompt.text
    labels = [b["text"] for b in prompt.buttons]
    assert labels[:3] == ["It's working", "Needs another look", "Let it go"]
    await sam.presses("It's working", group)
    await alex.sees("Sam says", "Alex, do you agree?", in_=group)
    await alex.presses("It's working", group)
    await sam.sees("working for you", in_=group)
    await rig.ticks(2)
    await rig.talk.settle()
    asked = [m.text for m in rig.server.bot_messages(group.id) if "How is it going" in m.text]
    assert len(asked) == 1  # no second message beside the prompt
