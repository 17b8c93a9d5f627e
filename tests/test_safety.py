"""Safety first, through the real bot: help comes privately, nothing reaches the partner."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.storage.models import Couple, FlowRun
from tests.helpers import Rig, linked_group, pair


def run_state(rig: Rig) -> tuple[str, int, dict[str, object]]:
    with Session(rig.engine) as session:
        run = session.exec(select(FlowRun)).one()
        return run.state, run.version, run.context


async def test_a_sign_in_a_shared_step_stops_and_reaches_only_the_writer(rig: Rig) -> None:
    alex, sam = await pair(rig)
    alex.says("/sotu")  # no group: private chats, where the speaker's words are shared
    await sam.presses("We're ready")
    await alex.sees("one thing you appreciated")
    alex.says("a")
    sam.says("b")
    await sam.sees("one issue for today")
    sam.says("weekends")
    await alex.presses("Yes, this one")
    await sam.presses("Yes, this one")
    await alex.sees("you speak first")
    before = run_state(rig)
    alex.says("Honestly he hits me when he's drunk MARKER-1")
    help_message = await alex.sees("sounds serious", "call")
    assert "findahelpline.com" in help_message.text
    assert [b["text"] for b in help_message.buttons] == [
        "Continue where I was",
        "Pause all nudges quietly",
    ]
    await rig.talk.settle()
    assert run_state(rig) == before  # the flow did not move and stored nothing
    with Session(rig.engine) as session:
        assert session.exec(select(FlowRun)).one().remind_at is None  # and will not nudge
    assert not any("MARKER-1" in t or "serious" in t for t in sam.inbox())
    await alex.presses("Continue where I was")
    await alex.sees("you speak first")


async def test_a_sign_in_the_group_is_answered_privately_and_the_group_hears_nothing(
    rig: Rig,
) -> None:
    alex, sam = await pair(rig)
    group = await linked_group(rig, alex, sam)
    alex.says("/sotu", group)
    await alex.presses("We're ready", group)
    ask = await alex.sees("appreciated", in_=group)
    before_group = len(rig.server.bot_messages(group.id))
    sam.replies(ask, "I'm scared of him MARKER-2")
    await sam.sees("sounds serious")
    await rig.talk.settle()
    assert len(rig.server.bot_messages(group.id)) == before_group
    assert not any("MARKER-2" in t or "serious" in t for t in alex.inbox())


async def test_safe_shows_help_for_the_persons_country(rig: Rig) -> None:
    kai = rig.person("Kai", language_code="de")
    kai.says("/safe")
    help_message = await kai.sees("If you need help", "112")
    assert "TelefonSeelsorge" in help_message.text and "116 016" in help_message.text
    robin = rig.person("Robin", language_code="en")
    robin.says("/safe")
    await robin.sees("findahelpline.com", "Samaritans")


async def test_pausing_quietly_does_not_tell_the_partner(rig: Rig) -> None:
    alex, sam = await pair(rig)
    alex.says("I want to die")
    await alex.sees("sounds serious")
    await alex.presses("Pause all nudges quietly")
    await alex.sees("Your partner isn't told")
    await rig.talk.settle()
    with Session(rig.engine) as session:
        assert session.exec(select(Couple)).one().paused
    assert not any("pause" in t.lower() for t in sam.inbox())


async def test_a_false_alarm_costs_one_message(rig: Rig) -> None:
    alex, _sam = await pair(rig)
    alex.says("/letgo")
    await alex.presses("I have something")
    await alex.sees("Put it in a sentence")
    alex.says("I feel like I want to die of embarrassment after that talk")
    await alex.sees("If I misread you, press Continue")
    await alex.presses("Continue where I was")
    await alex.sees("Put it in a sentence")
    alex.says("I feel embarrassed after that talk")
    await alex.sees("What would help")


async def test_start_and_help_say_this_is_not_therapy(rig: Rig) -> None:
    alex = rig.person("Alex")
    alex.says("/start")
    assert "not therapy" in (await alex.sees("Hi Alex")).text
    alex.says("/help")
    help_text = (await alex.sees("What I can do")).text
    assert "not therapy" in help_text and "/safe" in help_text
