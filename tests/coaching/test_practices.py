"""The seed's practices, played through the real bot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from bot.core import clock
from bot.emulator import Human
from bot.storage.db import utcnow
from bot.storage.models import CheckIn, FlowRun, MeTime
from tests.helpers import Rig, check_in, pair, passed, quiet_hours_off, schedule_in


async def test_a_hyper_independent_check_in_suggests_let_go(rig: Rig) -> None:
    alex, _sam = await pair(rig)
    await check_in(alex, "hyper", (4, 4, 3))
    result = await alex.sees("hyper-independence", "Let go")
    assert [b["text"] for b in result.buttons][:1] == ["Try Let go now"]
    await alex.presses("Try Let go now")
    await alex.sees("Let go", "Start small")
    with Session(rig.engine) as session:
        checkin = session.exec(select(CheckIn)).one()
    assert (checkin.leaning, checkin.spectrum, checkin.relatedness) == ("hyper-independent", 1.0, 3)


async def test_leaning_codependent_suggests_you_time_and_low_relatedness_time_together(
    rig: Rig,
) -> None:
    alex, sam = await pair(rig)
    await check_in(alex, "fused", (2, 3, 4))
    await alex.sees("fusing", '"you" time')
    await alex.presses('Plan some "you" time')
    await alex.sees('"You" time', "A fire needs air")
    await check_in(sam, "team", (4, 4, 1))
    apart = await sam.sees("far from Alex", "/together", "/appreciate")
    assert [b["text"] for b in apart.buttons][:2] == ["Plan time together", "Send an appreciation"]
    await sam.presses("Plan time together")
    await sam.sees("Time together", "ritual")


async def test_the_trend_is_a_chart_and_one_line(rig: Rig) -> None:
    alex, _sam = await pair(rig)
    await check_in(alex, "hyper", (3, 3, 3))
    await alex.presses("Done")
    await alex.sees("Thanks for checking in")
    await check_in(alex, "team", (4, 4, 4))
    await alex.sees("healthy middle")
    await alex.presses("My trend")
    await alex.sees("Anything else?")
    line = await alex.sees("2 check-ins", "closer to the middle")
    assert line.photo and line.photo[0]["file_size"] > 1000
    _name, content, _mime = rig.server.files[line.photo[0]["file_id"]]
    assert content.startswith(b"\x89PNG")


async def test_sharing_check_ins_is_both_or_nothing(rig: Rig) -> None:
    alex, sam = await pair(rig)
    await check_in(alex, "hyper", (5, 5, 2))
    await alex.presses("Share with my partner")
    await alex.sees("as soon as Sam shares theirs too")
    await rig.talk.settle()
    assert not any("check-in" in t.lower() and "leaning" in t for t in sam.inbox())
    await check_in(sam, "team", (4, 4, 4))
    await sam.presses("Share with my partner")
    to_sam = await sam.sees("Alex's latest check-in", 'towards "I" more than "we"')
    to_alex = await alex.sees("Sam's latest check-in", 'a strong "I" and a strong "we"')
    assert "connected 2/5" in to_sam.text and "connected 4/5" in to_alex.text
    for shown in (to_sam.text, to_alex.text):  # descriptive words, never clinical labels
        assert not any(
            w in shown.lower() for w in ("codependen", "hyper-independen", "interdependen")
        )


async def test_one_fused_and_one_walled_off_answer_is_a_pull_both_ways(rig: Rig) -> None:
    alex, _sam = await pair(rig)
    mixed = [
        "I need them to make it better",  # fused
        "We decide together",
        "Mine stay apart from us",  # walled off
        "I care, and their feelings are theirs",
    ]
    await check_in(alex, mixed, (4, 4, 4))
    result = await alex.sees("pulled both ways")
    assert "healthy middle" not in result.text
    assert [b["text"] for b in result.buttons][:2] == ["Try Let go now", 'Plan some "you" time']
    with Session(rig.engine) as session:
        checkin = session.exec(select(CheckIn)).one()
    assert (checkin.leaning, checkin.spectrum) == ("mixed", 0.0)  # the average alone said "middle"


@pytest.mark.parametrize(
    ("ratings", "words", "button"),
    [
        ((2, 4, 4), "running your own life", 'Plan some "you" time'),
        ((4, 1, 4), "effective", "Share a win"),
        ((4, 4, 4), "healthy middle", None),
    ],
)
async def test_low_autonomy_or_competence_changes_the_suggestion(
    rig: Rig, ratings: tuple[int, int, int], words: str, button: str | None
) -> None:
    alex, _sam = await pair(rig)
    await check_in(alex, "team", ratings)
    result = await alex.sees(words)
    labels = [b["text"] for b in result.buttons]
    assert (labels[0] == button) if button else ("Try" not in labels[0])


async def test_an_appreciation_is_sent_after_confirming_and_seeds_the_meeting(
    rig: Rig,
) -> None:
    alex, sam = await pair(rig)
    alex.says("/appreciate")
    await alex.sees("Sam", "One or two sentences")  # this week's invitation to appreciate
    alex.says("the soup you made when I was ill")
    preview = await alex.sees("exactly what Sam will get", "soup")
    assert "soup" in preview.text
    await rig.talk.settle()
    assert not any("soup" in t for t in sam.inbox())
    await alex.presses("Send it")
    await alex.sees("Sent 💛", "keeps fondness growing")
    await sam.sees("Alex appreciates you", "soup")
    # an appreciation holds nobody and can be answered with one press, once
    await sam.presses("💛 Thank you")
    await alex.sees("Sam read your appreciation and says thank you")
    await rig.talk.settle()
    before = len(alex.inbox())
    await sam.presses("💛 Thank you")  # a second press of the same button says nothing more
    await rig.talk.settle()
    assert len(alex.inbox()) == before
    sam.says("/sotu")
    await alex.sees("State of the Union")
    await sam.presses("We're ready")
    start = await alex.sees("Up to five, one per message", "what you already told each other")
    assert "soup" in start.text
    await sam.sees("Up to five, one per message", "what you already told each other", "soup")


async def test_you_time_is_planned_and_the_partner_told_only_if_agreed(rig: Rig) -> None:
    alex, sam = await pair(rig)
    alex.says("/metime")
    await alex.presses("Let's plan it")
    await alex.sees("What will you do?")
    alex.says("climbing with Jo")
    await alex.sees("When?")
    alex.says("sometime soon")
    await alex.sees("couldn't read that")
    alex.says("sat 15:00")
    await alex.sees("Shall I tell Sam")
    await alex.presses("Yes, tell them")
    await alex.sees("Planned", "climbing with Jo")
    await sam.sees("Alex is planning some", "climbing with Jo", "Saturday 15:00")
    with Session(rig.engine) as session:
        plan = session.exec(select(MeTime)).one()
        assert plan.tell_partner and plan.at.weekday() == 5
        assert session.exec(select(FlowRun)).one().status == "done"

    # The time comes and goes; Alex tells Sam how it was, and Sam celebrates with one press.
    await quiet_hours_off(rig)
    _move_plan(rig, 0)
    await alex.sees("climbing with Jo")  # the reminder
    _move_plan(rig, 3.1)
    await alex.sees("How was your")
    await alex.presses("Great")
    await alex.presses("Tell my partner")
    await alex.sees("I've told Sam")
    await sam.sees("Alex had their", "climbing with Jo", "Celebrate them")
    await sam.presses("Send 🎉")
    await alex.sees('Sam is celebrating your "you" time with you!')


def _move_plan(rig: Rig, hours_ago: float) -> None:
    """The planned time comes (moved to now: the clock test waits for the real day)."""
    with Session(rig.engine) as session:
        plan = session.exec(select(MeTime)).one()
        plan.at = utcnow() - timedelta(hours=hours_ago)
        session.add(plan)
        session.commit()


async def test_time_together_is_planned_reminded_and_reviewed_with_both(rig: Rig) -> None:
    alex, sam = await pair(rig)
    alex.says("/together")
    await alex.sees("Time together", "ritual")
    await alex.presses("A date")
    await alex.presses("Cosy, low energy")
    await alex.presses("A little")
    ideas = await alex.sees("A few ideas")
    assert [b["text"] for b in ideas.buttons][:3] == [
        "Coffee and cake out",
        "A board game evening",
        "A picnic in the park",
    ]
    await alex.presses("A picnic in the park")
    await alex.sees("When?")
    alex.says("sat 15:00")
    preview = await alex.sees("exactly what Sam will get", "a picnic in the park", "Saturday 15:00")
    assert not [m for m in sam.inbox() if "picnic" in m]  # nothing before "Send it"
    await alex.presses("Send it to Sam")
    await alex.sees("I'll tell you what Sam says", "Nothing is planned until you both say yes")
    note = await sam.sees("Alex would love some time together", "a picnic in the park")
    assert note.text.splitlines()[0] in preview.text and "Does that suit you?" in note.text
    with Session(rig.engine) as session:
        assert session.exec(select(MeTime)).all() == []  # a proposal sets no reminder
    await sam.presses("Sounds lovely 💞")
    for person in (alex, sam):
        await person.sees("It's planned", "a picnic in the park", "I'll remind you both")
    with Session(rig.engine) as session:
        plan = session.exec(select(MeTime)).one()
        assert plan.together and plan.at.weekday() == 5 and plan.status == "planned"

    _move_plan(rig, 0)
    for person in (alex, sam):
        await person.sees("time for your time together", "a picnic in the park")
    _move_plan(rig, 3.1)
    for person in (alex, sam):
        await person.sees("How was your time together")
    await sam.presses("It didn't happen")
    await sam.sees("/together to find another time")
    await alex.presses("Lovely")
    asked = await alex.sees("one thing you enjoyed")
    alex.replies(asked, "Your laugh when the ants came")
    await alex.sees("Shall I tell Sam", "Your laugh when the ants came")
    await alex.presses("Tell Sam")
    sent = await alex.sees("Sent 💛")
    assert "made of" not in sent.text  # no closing moral to wear thin by week three
    await sam.sees("Alex enjoyed your time together", "Your laugh when the ants came")


async def test_not_always_safe_to_speak_gets_the_fear_answer_and_no_meeting_prompt(
    rig: Rig,
) -> None:
    """Before any joint conflict work: "not always" gets the fear answer, privately, and the
    weekly meeting's private prompt stops for them (not for their partner, who is told
    nothing)."""
    alex, sam = await pair(rig)
    await check_in(alex, "team", (4, 4, 4), safe_to_speak="Not always")
    answer = await alex.sees("afraid", "findahelpline.com", "quietly paused my nudges")
    # Already paused, and said so: nothing to press but their country's numbers.
    assert [b["text"] for b in answer.buttons] == ["Numbers for my country"]
    assert "Pause all nudges" not in answer.text
    with Session(rig.engine) as session:
        stored = session.exec(select(CheckIn)).one()  # the check-in itself is kept
        assert stored.partner_id == alex.id
    await quiet_hours_off(rig)
    await passed(schedule_in(rig, 0.5))
    await sam.sees("weekly State of the Union")  # the partner's prompt, as always
    await rig.ticks(2)
    await rig.talk.settle()
    prompts = [t for t in alex.inbox() if "quietly paused" not in t]  # the answer names it
    assert not any("weekly State of the Union" in t for t in prompts)


async def test_a_win_is_shared_after_confirming_and_celebrated_with_one_press(
    rig: Rig,
) -> None:
    """Share a win: the seed's "celebrating each other's individual successes as a win for
    the team". The partner is asked to respond actively (one question about it) and can
    celebrate with one press; nothing leaves before "Send it"."""
    alex, sam = await pair(rig)
    alex.says("/win")
    await alex.sees("Share a win", "What happened?")
    alex.says("My talk at the conference went really well")
    await alex.sees("exactly what Sam will get", "talk at the conference")
    await rig.talk.settle()
    assert not any("conference" in t for t in sam.inbox())
    await alex.presses("Send it")
    await alex.sees("Sent 🏆")
    note = await sam.sees("Alex has a win to share", "talk at the conference")
    assert "ask one question about it" in note.text and note.chat_id == sam.id
    await sam.presses("Celebrate 🎉")
    await alex.sees("Sam is celebrating your win with you!")

    # The week's recap, after Sunday's meeting slot, counts it (for both to read).
    alex.says("/schedule sun 19:00")
    await alex.sees("Sunday at 19:00")
    await sam.sees("Sunday at 19:00")
    for person in (alex, sam):  # the week also brings the weekly prompt and the 3rd card
        person.ignores("weekly State of the Union")
        person.ignores("3/3 ·")
    clock.start_at(datetime(2026, 6, 14, 21, 0, 30, tzinfo=UTC))
    for person in (alex, sam):
        recap = await person.sees("🌱 Your week", timeout=30)
        assert "🏆 1 win shared" in recap.text


async def propose_together(alex: Human, sam: Human, choices: tuple[str, ...], when: str) -> None:
    """Alex proposes time together (kind, energy, budget, then the first idea) at `when`."""
    alex.says("/together")
    for label in choices:
        await alex.presses(label)
    ideas = await alex.sees("A few ideas")
    await alex.presses(ideas.buttons[0]["text"])
    await alex.sees("When?")
    alex.says(when)
    await alex.presses("Send it to Sam")
    await alex.sees("I'll tell you what Sam says")
    await sam.sees("Alex would love some time together", "Does that suit you?")


async def test_time_together_can_be_answered_with_another_time(rig: Rig) -> None:
    """ "Another time?": the partner offers a time, the planner agrees, and only then is it
    planned, at the partner's time."""
    alex, sam = await pair(rig)
    await propose_together(alex, sam, ("A small ritual", "Cosy, low energy", "Free"), "fri 19:00")
    await sam.presses("Another time?")
    await sam.sees("Which time would suit you?")
    sam.says("someday")
    await sam.sees("I couldn't read that")
    sam.says("sun 18:00")
    counter = await alex.sees("Sam would love to, at another time", "Sunday 18:00")
    assert "tea and ten minutes of talk" in counter.text
    with Session(rig.engine) as session:
        assert session.exec(select(MeTime)).all() == []
    await alex.presses("That works 💞")
    for person in (alex, sam):
        await person.sees("It's planned", "Sunday 18:00")
    with Session(rig.engine) as session:
        plan = session.exec(select(MeTime)).one()
        assert plan.together and plan.at.weekday() == 6


async def test_time_together_nobody_answered_tells_the_planner_kindly(rig: Rig) -> None:
    alex, sam = await pair(rig)
    await propose_together(alex, sam, ("A date", "Up for something active", "A treat"), "sat 10:00")
    with Session(rig.engine) as session:
        run = session.exec(select(FlowRun).where(FlowRun.flow_id == "together")).one()
        run.expires_at = utcnow() - timedelta(minutes=1)
        session.add(run)
        session.commit()
    await alex.sees("Sam hasn't answered your idea for time together yet")
    for person in (alex, sam):
        await person.sees("I've closed Time together")
    await rig.talk.settle()
    assert not any("hasn't answered" in t for t in sam.inbox())


async def test_the_check_in_answers_come_in_an_order_of_their_own_each_week(rig: Rig) -> None:
    """No answer sits where "the right one" would: each person sees the four items' answers
    in their own order, the same all week (the order is a hash of person, week and answer)."""
    from bot.engine.run import shuffled

    alex, sam = await pair(rig)
    orders: dict[str, list[str]] = {}
    for person in (alex, sam, alex):  # Alex twice: the same order within the week
        person.says("/checkin")
        await person.sees("Two or three minutes")
        await person.presses("Let's go")
        first = await person.sees("1/8")
        order = [b["text"] for b in first.buttons if b["text"] in ANSWERS_1]
        assert sorted(order) == sorted(ANSWERS_1)
        assert orders.setdefault(person.name, order) == order
        person.says("/cancel")
        await person.sees("I've closed Check-in")
    weeks = {w: sorted(ANSWERS_KEYS, key=lambda k: shuffled(alex.id, w, k)) for w in range(8)}
    assert len({tuple(order) for order in weeks.values()}) > 1  # another week, another order


ANSWERS_1 = [
    "I need them to make it better",
    "I tell them and ask for what I need",
    "I keep it to myself and handle it",
]
ANSWERS_KEYS = ["fused", "team", "alone"]


async def test_does_this_fit_a_check_in_result_is_a_snapshot_not_a_label(rig: Rig) -> None:
    alex, _sam = await pair(rig)
    await check_in(alex, "hyper", (4, 4, 4))
    result = await alex.sees("hyper-independence", "Does this fit?")
    assert "This doesn't fit me" in [b["text"] for b in result.buttons]
    await alex.presses("This doesn't fit me")
    await alex.sees("a snapshot of lately, not a label")
    with Session(rig.engine) as session:
        assert session.exec(select(CheckIn)).one().leaning == "hyper-independent"  # kept, private
