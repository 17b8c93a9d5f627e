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
