"""Let go reaches the partner as Lean in, only after the struggling partner agreed on screen."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, col, select

from bot.core import clock
from bot.emulator import Human
from bot.emulator.server import StoredMessage
from bot.storage.models import FlowRun
from bot.storage.tables import OUTBOX
from tests.helpers import (
    Rig,
    lean_in_until_on_it,
    pair,
    send_letgo,
    time_passes_for_waits,
    until,
)


def as_utc(at: datetime) -> datetime:
    """SQLite returns naive UTC, PostgreSQL aware."""
    return at if at.tzinfo else at.replace(tzinfo=UTC)


async def test_let_go_reaches_the_partner_as_lean_in(rig: Rig) -> None:
    alex, sam = await pair(rig)
    alex.says("/letgo")
    await alex.sees("Let go", "Start small")
    await alex.presses("I have something")
    await alex.sees("Put it in a sentence")
    alex.says("I'm feeling rattled since that meeting today")
    await alex.sees("What would help most from Sam")
    await alex.presses("Just listen")
    preview = await alex.sees("exactly what Sam will get")
    assert "rattled since that meeting" in preview.text and "Just listen" in preview.text
    await rig.talk.settle()
    assert not any("rattled" in text for text in sam.inbox())  # nothing before "Send it"

    await alex.presses("Send it")
    await alex.sees("Sent to Sam")
    invitation = await sam.sees("Lean in", "Alex shared something")
    assert "rattled since that meeting" in invitation.text and "Just listen" in invitation.text
    assert "listen" in invitation.text and "When can you be there?" in invitation.text
    # Alex already said what would help: Sam is not sent to ask it again
    assert "Ask what support looks like" not in str(invitation.buttons)

    await sam.presses("I'm on it 💛")
    await alex.sees("Sam has read what you shared and is coming to you")
    await sam.sees("In a few hours I'll ask Alex how it felt")
    await rig.talk.settle()
    assert not any("how did it feel" in t.lower() for t in alex.inbox())  # not in this minute
    time_passes_for_waits(rig.engine)
    await alex.sees("how did it feel")
    await alex.presses("It helped")
    said = await sam.sees("Alex says your support helped")
    assert said.chat_id == sam.id
    await alex.sees("I've told Sam")
    await rig.talk.settle()
    assert not any("says your support" in t for t in alex.inbox())  # the result: Sam only
    with Session(rig.engine) as session:
        runs = session.exec(select(FlowRun).order_by(col(FlowRun.id))).all()
    assert [(r.flow_id, r.status) for r in runs] == [("letgo", "done"), ("leanin", "done")]
    assert runs[1].context["struggle"] == "I'm feeling rattled since that meeting today"


async def test_change_it_goes_back_and_keep_it_sends_nothing(rig: Rig) -> None:
    alex, sam = await pair(rig)
    alex.says("/letgo")
    await alex.presses("I have something")
    await alex.sees("Put it in a sentence")
    alex.says("first try")
    await alex.sees("What would help")
    await alex.presses("Some advice")
    await alex.sees("exactly what Sam will get", "first try")
    await alex.presses("Change it")
    await alex.sees("Put it in a sentence")
    alex.says("second try")
    await alex.sees("What would help")
    await alex.presses("A bit of space")
    await alex.sees("second try", "A bit of space")
    await alex.presses("Keep it to myself")
    await alex.sees("nothing was sent")
    await rig.talk.settle()
    assert not any("try" in text for text in sam.inbox())


async def test_lean_in_started_directly_asks_on_the_supporters_behalf(rig: Rig) -> None:
    alex, sam = await pair(rig)
    sam.says("/leanin")
    start = await sam.sees("Lean in", "be there for Alex")
    assert "secure base" in start.text
    await sam.presses("Ask what support looks like")
    await sam.sees("I've asked Alex")
    question = await alex.sees("Sam wants to be there for you")
    assert "goes only to Sam" in question.text
    sam.says("Can I do anything?")  # the supporter typing meanwhile is held, not lost
    await sam.sees("Their answer will come to you")
    alex.says("Take the kids to school tomorrow?")
    await sam.sees("Alex answered", "kids to school")
    await sam.presses("I'm on it 💛")
    await sam.sees("In a few hours")
    time_passes_for_waits(rig.engine)
    await alex.sees("how did it feel")
    await alex.presses("Keep it to myself")
    await alex.sees("stays with you")
    await rig.talk.settle()
    assert not any("says your support" in text for text in sam.inbox())


async def sam_asks_out_of_the_blue(rig: Rig) -> tuple[Human, Human, StoredMessage]:
    """A cold /leanin: Sam has the bot ask Alex what support looks like."""
    alex, sam = await pair(rig)
    sam.says("/leanin")
    await sam.sees("Lean in", "be there for Alex")
    await sam.presses("Ask what support looks like")
    await sam.sees("I've asked Alex")
    return alex, sam, await alex.sees("Sam wants to be there for you")


async def test_a_cold_lean_in_can_be_answered_with_a_button(rig: Rig) -> None:
    """Asked out of the blue "What does support look like for you right now?", a partner can
    say they're okay, ask for a hug, or take their time, without having to type."""
    alex, sam, question = await sam_asks_out_of_the_blue(rig)
    assert [b["text"] for b in question.buttons][:3] == [
        "I'm okay, thank you 💛",
        "A hug",
        "Let me think",
    ]
    await alex.presses("Let me think")
    await alex.sees("Take your time")
    alex.says("A walk after dinner")
    await sam.sees("Alex answered", "A walk after dinner")
    await sam.presses("Later today")
    await alex.sees("will be there for you later today")
    await sam.sees("Tomorrow morning at the latest")


async def test_im_okay_thank_you_closes_a_cold_lean_in_warmly(rig: Rig) -> None:
    alex, sam, _question = await sam_asks_out_of_the_blue(rig)
    await alex.presses("I'm okay, thank you 💛")
    await sam.sees("Alex says they're okay", "Asking was the support")
    await alex.sees("Glad to hear it")
    with Session(rig.engine) as session:
        run = session.exec(select(FlowRun).where(FlowRun.flow_id == "leanin")).one()
    assert run.status == "done"


async def test_later_today_tells_the_sharer_their_partner_has_read_it(rig: Rig) -> None:
    alex, sam = await pair(rig)
    alex.says("/letgo")
    await alex.sees("Let go", "Start small")
    await alex.presses("I have something")
    await alex.sees("Put it in a sentence")
    alex.says("I'm dreading tomorrow's exam")
    await alex.sees("What would help most from Sam")
    await alex.presses("Just listen")
    await alex.sees("exactly what Sam will get")
    await alex.presses("Send it")
    await alex.sees("Sent to Sam")
    await sam.sees("Lean in", "dreading tomorrow's exam")
    await sam.presses("Later today")
    await sam.sees("Tomorrow morning at the latest")
    await alex.sees("Sam has read what you shared and will be there for you later today")


async def test_a_stale_button_changes_nothing(rig: Rig) -> None:
    alex, _sam = await pair(rig)
    alex.says("/letgo")
    first = await alex.sees("Start small")
    await alex.presses("I have something")
    await alex.sees("Put it in a sentence")
    query = alex.presses_on(first, "Not right now")
    assert "passed" in await alex.toast_for(query)
    with Session(rig.engine) as session:
        run = session.exec(select(FlowRun)).one()
    assert (run.state, run.status) == ("name_the_struggle", "active")


async def test_starting_another_flow_asks_first_and_cancel_leaves(rig: Rig) -> None:
    alex, _sam = await pair(rig)
    alex.says("/letgo")
    await alex.sees("Start small")
    alex.says("/letgo")
    ask = await alex.sees("middle of", "Let go")
    assert [b["text"] for b in ask.buttons] == ["Leave it, start Let go", "Keep going with Let go"]
    await alex.presses("Keep going with Let go")
    await rig.talk.settle()
    await alex.presses("Leave it, start Let go")
    await alex.sees("Start small")
    with Session(rig.engine) as session:
        statuses = [r.status for r in session.exec(select(FlowRun).order_by(col(FlowRun.id)))]
    assert statuses == ["cancelled", "active"]
    alex.says("/cancel")
    await alex.sees("closed Let go")
    alex.says("/cancel")
    await alex.sees("Nothing is running")


async def test_free_text_outside_a_flow_gets_a_pointer(rig: Rig) -> None:
    alex, _ = await pair(rig)
    alex.says("hello?")
    await alex.sees("nothing is running", "/letgo")


async def test_lean_in_needs_a_partner(rig: Rig) -> None:
    robin = rig.person("Robin")
    robin.says("/leanin")
    await robin.sees("not paired yet")


async def test_the_partner_cannot_tell_a_let_go_is_under_way(rig: Rig) -> None:
    alex, sam = await pair(rig)
    alex.says("/letgo")
    await alex.presses("I have something")
    await alex.sees("Put it in a sentence")
    sam.says("hello?")
    idle = await sam.sees("nothing is running")
    assert "Alex" not in idle.text
    sam.says("/cancel")
    await sam.sees("Nothing is running")
    alex.says("my private words")
    await alex.sees("What would help")
    with Session(rig.engine) as session:
        run = session.exec(select(FlowRun)).one()
    assert run.status == "active" and run.context["struggle"] == "my private words"
    alex.says("/cancel")
    await alex.sees("closed Let go")
    await rig.talk.settle()
    after_pairing = [t for t in sam.inbox() if "1/3" not in t][1:]  # not the onboarding cards
    assert all("Alex" not in text and "Let go" not in text for text in after_pairing)


async def test_how_did_it_feel_waits_for_the_morning_when_it_falls_in_quiet_hours(
    rig: Rig,
) -> None:
    """Quiet hours on purpose, on the one clock: "how did it feel?" comes due at 23:30, is
    held, and arrives once the clock reaches 08:00 (the default quiet hours, UTC)."""
    clock.start_at(datetime(2026, 6, 9, 20, 0, tzinfo=UTC))
    alex, sam = await pair(rig)
    await lean_in_until_on_it(alex, sam, "Work is a lot this week")

    clock.start_at(datetime(2026, 6, 9, 23, 30, tzinfo=UTC))
    time_passes_for_waits(rig.engine)  # due now, at 23:30

    def held_until_morning() -> bool:
        with rig.engine.connect() as conn:
            rows = conn.execute(select(OUTBOX.c.deliver_at).where(OUTBOX.c.chat_id == alex.id))
            return [as_utc(at) for (at,) in rows] == [datetime(2026, 6, 10, 8, 0, tzinfo=UTC)]

    await until(held_until_morning, what="the question held until 08:00")
    await rig.ticks(2)
    await rig.talk.settle()
    assert rig.talk.unread(alex.private) == []  # nothing at night

    clock.start_at(datetime(2026, 6, 10, 8, 0, 1, tzinfo=UTC))
    await alex.sees("how did it feel")


async def test_a_let_go_is_reminded_within_two_hours_and_never_left_in_silence(rig: Rig) -> None:
    """On the one clock, through the bot: Sam is reminded after 90 minutes; when nothing
    happens before the Lean in expires, Alex hears something kind (and only Alex)."""
    alex, sam = await pair(rig)
    alex.says("/letgo")
    await alex.presses("I have something")
    await alex.sees("Put it in a sentence")
    alex.says("Work has been heavy")
    await alex.presses("Just listen")
    await alex.presses("Send it")
    await alex.sees("Sent to Sam")
    await sam.sees("Lean in", "Work has been heavy")
    clock.start_at(datetime(2026, 6, 9, 10, 31, tzinfo=UTC))  # 91 minutes on
    await sam.sees("gentle reminder", timeout=30)
    await sam.sees("Lean in", "Work has been heavy")  # the step again, under the reminder
    for person in (alex, sam):
        person.ignores("3/3 ·")  # Wednesday's onboarding card comes on the way
    clock.start_at(datetime(2026, 6, 12, 12, 0, tzinfo=UTC))  # past the three days
    kind = await alex.sees("Sam hasn't got to what you shared yet", timeout=30)
    assert "Work has been heavy" not in kind.text
    await sam.sees("closed", timeout=30)
    await rig.talk.settle()
    assert not any("hasn't got to" in t for t in sam.inbox())


async def test_space_is_asked_about_the_next_day_and_cant_right_now_is_never_silence(
    rig: Rig,
) -> None:
    """Through the bot, on the one clock: "A bit of space" and "I'm on it" ask how it felt
    the next day, not that evening; "I can't right now" reaches the sharer kindly and asks
    nothing later."""
    alex, sam = await pair(rig)
    await send_letgo(alex, "I need a quiet evening", kind="A bit of space")
    await alex.presses("Send it")
    await alex.sees("Sent to Sam")
    await sam.sees("Lean in", "A bit of space")
    await sam.presses("I'm on it 💛")
    await alex.sees("will give you the space you asked for")
    await sam.sees("tomorrow I'll ask Alex")
    clock.start_at(datetime(2026, 6, 9, 21, 0, tzinfo=UTC))  # that evening: nothing yet
    await rig.ticks(2)
    await rig.talk.settle()
    assert not any("how did it feel" in t.lower() for t in alex.inbox())
    for person in (alex, sam):
        person.ignores("3/3 ·")  # Wednesday's onboarding card comes on the way
    clock.start_at(datetime(2026, 6, 10, 10, 0, tzinfo=UTC))  # the next day
    await alex.sees("how did it feel", timeout=30)
    await alex.presses("It helped")
    await alex.sees("I've told Sam")
    await sam.sees("your support helped")

    await send_letgo(sam, "My mum is ill", kind="Just listen")
    await sam.presses("Send it")
    await sam.sees("Sent to Alex")
    await alex.sees("Lean in", "My mum is ill")
    await alex.presses("I can't right now: tell them I'm thinking of them")
    await sam.sees("can't be there right now", "is thinking of you")
    await alex.sees("a little later still counts")
    clock.start_at(datetime(2026, 6, 12, 10, 0, tzinfo=UTC))
    await rig.ticks(2)
    await rig.talk.settle()
    assert sum("how did it feel" in t.lower() for t in sam.inbox()) == 0
