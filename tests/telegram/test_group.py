from __future__ import annotations

from sqlmodel import Session, select

from bot.storage.models import Couple
from tests.helpers import Rig, linked_group, pair


def group_of(rig: Rig) -> int | None:
    with Session(rig.engine) as session:
        return session.exec(select(Couple)).one().group_chat_id


async def test_adding_the_bot_explains_and_link_connects_the_group(rig: Rig) -> None:
    alex, sam = await pair(rig)
    group = rig.talk.group("Us", alex, sam)
    rig.server.add_bot_to_group(group, alex.user)
    hello = await alex.sees("send /link", in_=group)
    assert "Us Coach" in hello.text
    sam.says("/link", group)
    linked = await sam.sees("shared space", in_=group)
    assert "Sam" in linked.text and "Alex" in linked.text
    assert group_of(rig) == group.id
    await rig.talk.settle()
    assert len(rig.server.bot_messages(group.id)) == 2  # one hello, not two


async def test_link_by_a_stranger_is_refused(rig: Rig) -> None:
    alex, sam = await pair(rig)
    eve = rig.person("Eve")
    group = rig.talk.group("Party", alex, sam, eve)
    rig.server.add_bot_to_group(group, eve.user)
    await eve.sees("Hi both", "send /link", in_=group)
    eve.says("/link", group)
    refusal = (await eve.sees("Only a paired couple", in_=group)).text
    assert "Alex" not in refusal and "Sam" not in refusal
    assert group_of(rig) is None


async def test_a_couple_cannot_take_another_couples_group(rig: Rig) -> None:
    alex, sam = await pair(rig)
    group = await linked_group(rig, alex, sam)
    kim, _lee = await pair(rig, "Kim", "Lee")
    kim.says("/link", group)
    await kim.sees("Only a paired couple", in_=group)
    assert group_of_couple_of(rig, alex.id) == group.id


def group_of_couple_of(rig: Rig, person_id: int) -> int | None:
    with Session(rig.engine) as session:
        from bot.storage.models import Partner

        partner = session.get(Partner, person_id)
        assert partner is not None and partner.couple_id is not None
        couple = session.get(Couple, partner.couple_id)
        assert couple is not None
        return couple.group_chat_id


async def test_linking_a_second_group_moves_the_space_and_says_so_in_both(rig: Rig) -> None:
    alex, sam = await pair(rig)
    first = await linked_group(rig, alex, sam, "First")
    second = rig.talk.group("Second", alex, sam)
    rig.server.add_bot_to_group(second, sam.user)
    await sam.sees("/link", in_=second)
    sam.says("/link", second)
    await sam.sees("shared space", "moved", in_=second)
    await alex.sees("moved their shared space", in_=first)
    assert group_of(rig) == second.id


async def test_removing_the_bot_unlinks_and_tells_both_privately(rig: Rig) -> None:
    alex, sam = await pair(rig)
    group = await linked_group(rig, alex, sam)
    rig.server.remove_bot_from_group(group, alex.user)
    await alex.sees("removed", "unlinked")
    await sam.sees("removed", "unlinked")
    assert group_of(rig) is None


async def test_supergroup_upgrade_keeps_the_link(rig: Rig) -> None:
    alex, sam = await pair(rig)
    group = await linked_group(rig, alex, sam)
    supergroup = rig.server.migrate_to_supergroup(group, alex.user)
    await rig.talk.settle()
    assert group_of(rig) == supergroup.id
    alex.says("/link", supergroup)
    await alex.sees("already your shared space", in_=supergroup)


async def test_group_privacy_mode_hides_ordinary_chat_from_the_bot(rig: Rig) -> None:
    alex, sam = await pair(rig)
    group = await linked_group(rig, alex, sam)
    before = len(rig.server.delivered_log)
    sam.says("just chatting between us", group)
    await rig.talk.settle()
    assert len(rig.server.delivered_log) == before
    assert rig.talk.unread(group) == []


async def test_private_commands_in_a_group_point_to_the_private_chat(rig: Rig) -> None:
    alex, sam = await pair(rig)
    group = await linked_group(rig, alex, sam)
    alex.says("/invite", group)
    await alex.sees("in private", in_=group)


async def test_link_in_private_explains_where_it_works(rig: Rig) -> None:
    alex, _ = await pair(rig)
    alex.says("/link")
    await alex.sees("works in a group")


async def test_in_the_group_a_partner_who_just_types_is_heard(rig: Rig) -> None:
    """Privacy mode (the emulator's default, as on Telegram): in a group the bot gets only
    commands and replies to its own messages. Every text step opens the reply box of whoever
    should answer (ForceReply, aimed by a mention), so a partner who just types is heard; a
    step's buttons come above it, and a break button alone never takes the reply box's place
    (an earlier one still works)."""
    alex, sam = await pair(rig)
    group = await linked_group(rig, alex, sam)
    assert rig.server.privacy_mode
    alex.says("/sotu", group)
    await alex.sees("State of the Union", in_=group)
    await sam.presses("We're ready", group)
    await alex.sees("Up to five, one per message", in_=group)
    box = await alex.sees("✍️ Reply here.", in_=group)
    assert box.force_reply and not (box.reply_markup or {}).get("selective")  # both may answer
    alex.types("Sam cooked on Tuesday", group)
    noted = await alex.sees("Noted", in_=group)
    assert noted.force_reply and not noted.buttons  # the box stays open for the next one
    alex.types("We laughed on Sunday", group)
    await alex.sees("Noted", in_=group)
    sam.types("Alex listened on Friday", group)
    await sam.sees("Noted", in_=group)
    await alex.presses("That's all for now", group)
    await sam.presses("That's all for now", group)
    await sam.sees("one issue for today", in_=group)
    alex.types("Weekend plans", group)
    await alex.sees("Today's issue", "Weekend plans", in_=group)
    await alex.presses("Yes, this one", group)
    await sam.presses("Yes, this one", group)
    await alex.presses("Alex first", group)
    await sam.presses("Alex first", group)
    await sam.sees("Sam, you listen first", in_=group)
    turn = await alex.sees("Alex, you speak first", in_=group)
    assert turn.buttons  # "I'm done" and the break, then Alex's own reply box
    aimed = await alex.sees("✍️ Alex, reply here.", in_=group)
    assert aimed.force_reply and (aimed.reply_markup or {}).get("selective")
    assert [e["user"]["id"] for e in aimed.entities if e["type"] == "text_mention"] == [alex.id]
    alex.types("I feel tired on Saturdays", group)
    await alex.presses("I'm done", group)
    ask = await sam.sees("Sam, sum up what you heard", in_=group)
    assert ask.force_reply and not ask.buttons  # nothing but the break: the box instead
    sam.types("So what I'm hearing you say is you want to rest", group)
    await alex.sees("Alex, is that what you meant?", "want to rest", in_=group)

    # A plain message nobody asked for stays invisible to the bot, as on Telegram.
    before = len(rig.server.delivered_log)
    alex.says("just chatting", group)
    await rig.talk.settle()
    assert len(rig.server.delivered_log) == before
    # And the break button under an earlier step still pauses the meeting.
    sam.presses_on(turn, "We need a break")
    await sam.sees("Sam asked for a break", in_=group)
