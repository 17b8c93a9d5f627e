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

    # 1. Up to three feelings each, from a longer list; nobody sees them until both picked.
    await alex.sees("Alex, how did you feel", "up to three", in_=group)
    await alex.presses("Hurt", group)
    await alex.presses("Flooded", group)
    await alex.presses("That's all", group)
    asked = await sam.sees("Sam, your turn", in_=group)
    assert "hurt" not in asked.text.lower() and "flooded" not in asked.text.lower()
    await sam.presses("Misunderstood", group)
    await sam.presses("Defensive", group)
    await sam.presses("Not listened to", group)  # the third moves on by itself
    await alex.sees(
        "Alex felt hurt and flooded",
        "Sam felt misunderstood, defensive, and not listened to",
        "asked you each in your private chat",
        in_=group,
    )

    # 2. Realities, written in private and shown together: neither answers the other's.
    await alex.sees("What you experienced", "once you've both written")
    await sam.sees("What you experienced")
    alex.says("I heard my plans dismissed")
    await alex.sees("Waiting for Sam")
    await rig.talk.settle()
    group_texts = [m.text for m in rig.server.bot_messages(group.id)]
    assert not any("plans dismissed" in t for t in group_texts + sam.inbox())
    sam.says("I felt blamed for being late")
    shown = await sam.sees("Two realities, both real", in_=group)
    assert "plans dismissed" in shown.text and "blamed for being late" in shown.text

    # Each is summed up and validated by the other, until they feel understood; then swap.
    ask = await sam.sees("Sam, sum up how Alex saw it", "It makes sense you felt", in_=group)
    sam.replies(ask, "So you saw it as me dismissing your plans. It makes sense you felt hurt.")
    await alex.sees("Alex, do you feel understood?", in_=group)
    await alex.presses("Not quite", group)
    missed = await alex.sees("What did Sam miss?", in_=group)
    alex.replies(missed, "It was in front of our friends")
    again = await sam.sees("Sam, try once more", in_=group)
    sam.replies(again, "So it hurt more because our friends were there. That makes sense.")
    await alex.sees("Alex, do you feel understood?", in_=group)
    await alex.presses("Yes, I feel understood", group)
    other = await alex.sees("Now the other way round", "Alex, sum up how Sam saw it", in_=group)
    alex.replies(other, "So you felt blamed for being late. It makes sense, you'd had a long day.")
    await sam.sees("Sam, do you feel understood?", in_=group)
    await sam.presses("Yes, I feel understood", group)
    await sam.sees("the heart of a repair", "What it touched", in_=group)

    # 3. and 4. in private: "Nothing comes to mind" and "I was tired" are answers too.
    await alex.sees("What it touched", "Nothing comes to mind")
    await sam.sees("What it touched")
    await alex.presses("Nothing comes to mind")
    await alex.sees("Waiting for Sam")
    sam.says("My old boss shouting")
    await alex.sees("what set you up")
    await sam.sees("what set you up")
    await alex.presses("I was tired")
    await alex.sees("Waiting for Sam")
    sam.says("A long week, and I didn't say so")
    await alex.sees("what do you regret", "I was wrong about")
    await sam.sees("what do you regret")
    alex.says("I was wrong about raising my voice. I'm sorry.")
    await alex.sees("Waiting for Sam")
    sam.says("I regret walking away. I'm sorry for that.")
    owned = await sam.sees("what you each wrote", in_=group)
    await sam.sees("do you accept Alex's apology", in_=group)
    for words in ("Nothing comes to mind", "My old boss", "I was tired", "A long week"):
        assert words in owned.text
    await sam.presses("I accept the apology", group)
    await alex.sees("Sam: I accept the apology", "do you accept Sam's apology", in_=group)

    # "I need more time" is met with "what would help?", and a different ending.
    await alex.presses("I need more time", group)
    helps = await alex.sees("Alex, needing more time is honest", "What would help", in_=group)
    alex.replies(helps, "A quiet evening, then a hug tomorrow")
    plans = await alex.sees("Next time", in_=group)
    alex.replies(plans, "I'll ask for a break before I get loud")
    await alex.sees("Got it", "Waiting for Sam", in_=group)
    sam.replies(plans, "I'll say when I need to step out")
    done = await sam.sees("Not everything heals in one evening", in_=group)
    assert "ask for a break" in done.text and "step out" in done.text
    assert "That's a repair" not in done.text
    run = repair_run(rig)
    assert run.status == "done"
    assert run.context["accepted_by_second"] == "accept"
    assert run.context["accepted_by_first"] == "not_yet"
    assert run.context["feeling_first"] == ["hurt", "flooded"]


async def test_that_is_a_repair_only_when_both_accept(rig: Rig) -> None:
    """In private chats (no group): the same steps, and both accepting ends with a repair."""
    alex, sam = await pair(rig)
    for person in (alex, sam):  # each step's "waiting for" note and echoes need no reading
        person.ignores("Waiting for")
    alex.says("/repair")
    for person in (alex, sam):
        await person.sees("Repair after a fight")
        await person.presses("We're both calm enough")
    await alex.presses("Sad")
    await alex.presses("That's all")
    await sam.presses("Frustrated")
    await sam.presses("That's all")
    for person in (alex, sam):
        await person.sees("Alex felt sad", "Sam felt frustrated", "write it below")
        await person.sees("What you experienced")
    alex.says("I waited all evening")
    sam.says("I lost track of time")
    for person in (alex, sam):
        await person.sees("Two realities", "waited all evening", "lost track of time")
    await sam.sees("Sam, sum up how Alex saw it", "Alex will read it")
    sam.says("So you waited and felt forgotten. That makes sense.")
    await alex.sees("So you waited and felt forgotten")  # the summary reaches Alex
    await alex.presses("Yes, I feel understood")
    await alex.sees("Now the other way round", "Alex, sum up how Sam saw it")
    alex.says("So the time slipped away from you. It makes sense, the project was due.")
    await sam.sees("the project was due")
    await sam.presses("Yes, I feel understood")
    for person in (alex, sam):
        await person.sees("the heart of a repair")
    for step, label in (
        ("What it touched", "Nothing comes to mind"),
        ("set you up", "I was stressed"),
    ):
        for person in (alex, sam):
            await person.sees(step)
            await person.presses(label)
    for person in (alex, sam):
        await person.sees("what do you regret")
    alex.says("I'm sorry I sulked.")
    sam.says("I was wrong not to call. I'm sorry.")
    for person in (alex, sam):
        await person.sees("what you each wrote", "I was wrong not to call", "I sulked")
    await sam.sees("do you accept Alex's apology")
    await sam.presses("I accept the apology")
    await alex.sees("Sam: I accept the apology", "do you accept Sam's apology")
    await alex.presses("I accept the apology")
    for person in (alex, sam):
        await person.sees("Alex: I accept the apology", "Next time")
    alex.says("I'll say how I feel sooner")
    sam.says("I'll set an alarm and call")
    for person in (alex, sam):
        done = await person.sees("That's a repair 💛")
        assert "set an alarm" in done.text
    assert repair_run(rig).status == "done"


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
