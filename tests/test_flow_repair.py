"""Repair after a fight, through the real bot: five steps in the group or both private chats,
feelings picked privately and shown together, apologies accepted or not, and a break."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.storage.models import FlowRun
from tests.helpers import Rig, linked_group, pair


def repair_run(rig: Rig) -> FlowRun:
    with Session(rig.engine) as session:
        return session.exec(select(FlowRun).where(FlowRun.flow_id == "repair")).one()


async def test_a_repair_in_the_group_goes_through_the_five_steps(rig: Rig) -> None:
    alex, sam = await pair(rig)
    group = await linked_group(rig, alex, sam)
    alex.says("/repair", group)
    await alex.sees("Repair after a fight", "five short steps", in_=group)
    await alex.presses("We're both calm enough", group)
    await rig.talk.settle()
    assert repair_run(rig).state == "welcome"  # both must be calm
    await sam.presses("We're both calm enough", group)

    await alex.sees("Alex, how did you feel", in_=group)
    await alex.presses("Hurt", group)
    asked = await sam.sees("Sam, how did you feel", in_=group)
    assert "Hurt" not in asked.text and "hurt" not in asked.text.split("feel")[1]  # not shown yet
    await sam.presses("Misunderstood", group)
    await alex.sees("Alex felt hurt and Sam felt misunderstood", in_=group)

    realities = await alex.sees("What each of you experienced", in_=group)
    alex.replies(realities, "I heard my plans dismissed")
    await alex.sees("Got it", "Waiting for Sam", in_=group)
    sam.replies(realities, "I felt blamed for being late")
    shown = await sam.sees("Two realities, both real", in_=group)
    assert "plans dismissed" in shown.text and "blamed for being late" in shown.text

    triggers = await alex.sees("What it touched", in_=group)
    alex.replies(triggers, "Being ignored at home as a kid")
    await alex.sees("Got it", "Waiting for Sam", in_=group)
    sam.replies(triggers, "My old boss shouting")
    regrets = await alex.sees("Your part", "I was wrong about", in_=group)
    alex.replies(regrets, "I was wrong about raising my voice. I'm sorry.")
    await alex.sees("Got it", "Waiting for Sam", in_=group)
    sam.replies(regrets, "I regret walking away. I'm sorry for that.")
    await sam.sees("do you accept Alex's apology", in_=group)
    await sam.presses("I accept the apology", group)
    await alex.sees("Sam: I accept the apology", "do you accept Sam's apology", in_=group)
    await alex.presses("I'm not ready yet", group)
    plans = await alex.sees("Alex: I'm not ready yet", "Next time", in_=group)
    alex.replies(plans, "I'll ask for a break before I raise my voice")
    await alex.sees("Got it", "Waiting for Sam", in_=group)
    sam.replies(plans, "I'll say when I need to step out")
    done = await sam.sees("That's a repair", in_=group)
    assert "ask for a break" in done.text and "step out" in done.text
    run = repair_run(rig)
    assert run.status == "done"
    assert run.context["accepted_by_second"] == "accept"
    assert run.context["accepted_by_first"] == "not_yet"


async def test_a_repair_in_private_chats_can_take_a_break(rig: Rig) -> None:
    alex, sam = await pair(rig)
    sam.says("/repair")
    welcome = await alex.sees("Repair after a fight", "five short steps")
    assert "shown to each other" in welcome.text  # said before anyone types
    await alex.presses("We're both calm enough")
    await sam.presses("We're both calm enough")
    await sam.sees("Sam, how did you feel")
    await sam.presses("We need a break")
    await alex.sees("Sam asked for a break", "20 minutes")
    await sam.sees("Sam asked for a break", "20 minutes")  # both get the break and its button
    await rig.talk.settle()
    assert repair_run(rig).break_until is not None
    await rig.talk.settle()
    assert not any("Alex, how did you feel" in t for t in alex.inbox())  # Alex is second


async def test_not_yet_ends_it_kindly(rig: Rig) -> None:
    alex, sam = await pair(rig)
    alex.says("/repair")
    await alex.sees("Repair after a fight", "five short steps")
    await sam.sees("Repair after a fight", "five short steps")  # no group: both private chats
    await alex.presses("Not yet")
    await alex.sees("Give it time")
    await sam.sees("Give it time")  # Sam saw it start, so Sam hears it ended
    assert repair_run(rig).status == "done"
