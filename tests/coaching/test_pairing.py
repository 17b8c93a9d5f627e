from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.core import clock
from bot.emulator import Human
from bot.storage.db import utcnow
from bot.storage.models import Couple, Invite, Partner
from tests.helpers import Rig, pair, until


async def test_start_says_what_the_bot_is_and_what_to_do(rig: Rig) -> None:
    alex = rig.person("Alex")
    alex.says("/start")
    welcome = await alex.sees("Hi Alex")
    assert "not therapy" in welcome.text
    assert "/invite" in welcome.text


async def test_help_lists_the_commands(rig: Rig) -> None:
    alex = rig.person("Alex")
    alex.says("/help")
    help_text = (await alex.sees("What I can do")).text
    for command in ("/invite", "/join", "/timezone", "/schedule", "/pause", "/resume", "/cancel"):
        assert command in help_text


async def test_command_menus_are_published(rig: Rig) -> None:
    # The menus are published beside the first conversations, right after start.
    await until(lambda: "all_group_chats" in rig.server.commands, what="the menus")
    private = [c["command"] for c in rig.server.commands["all_private_chats"]]
    groups = [c["command"] for c in rig.server.commands["all_group_chats"]]
    assert "invite" in private and "schedule" in private
    assert "link" in groups and "invite" not in groups


async def test_invite_link_pairs_two_people(rig: Rig) -> None:
    alex, sam = rig.person("Alex"), rig.person("Sam")
    alex.says("/start")
    await alex.sees("Hi Alex")
    alex.says("/invite")
    invite = await alex.sees("invite link")
    assert "https://t.me/UsCoachBot?start=" in invite.text
    assert invite.buttons[0]["url"].startswith("https://t.me/UsCoachBot?start=")
    code = invite.text.split("?start=")[1].split()[0]
    sam.says(f"/start {code}")
    paired = await sam.sees("now a couple", "which time zone")
    assert "Alex" in paired.text
    assert [b["text"].split(" · ")[0] for b in paired.buttons][:2] == ["London", "New York"]
    assert "Sam" in (await alex.sees("now a couple")).text
    for person in (alex, sam):  # a key to share a location, then the first onboarding card
        await person.sees("Share my location")
        await person.sees("1/3")
    with Session(rig.engine) as session:
        partners = session.exec(select(Partner)).all()
        assert {p.couple_id for p in partners} == {partners[0].couple_id}
        assert sorted(p.seat or 0 for p in partners) == [1, 2]


async def test_join_command_pairs_too(rig: Rig) -> None:
    alex, sam = rig.person("Alex"), rig.person("Sam")
    alex.says("/invite")
    code = (await alex.sees("invite link")).text.split("?start=")[1].split()[0]
    sam.says(f"/join {code}")
    await sam.sees("now a couple", "Alex")
    await alex.sees("now a couple", "Sam")
    for person in (alex, sam):
        await person.sees("Share my location")
        await person.sees("1/3")


async def test_used_code_is_refused_without_names(rig: Rig) -> None:
    alex, sam, eve = rig.person("Alex"), rig.person("Sam"), rig.person("Eve")
    alex.says("/invite")
    code = (await alex.sees("invite link")).text.split("?start=")[1].split()[0]
    sam.says(f"/start {code}")
    await sam.sees("now a couple")
    await alex.sees("now a couple")
    for person in (alex, sam):
        await person.sees("Share my location")
        await person.sees("1/3")
    eve.says(f"/start {code}")
    refusal = (await eve.sees("doesn't work")).text
    assert "Alex" not in refusal and "Sam" not in refusal
    await rig.talk.settle()
    assert not any("Eve" in text for text in alex.inbox() + sam.inbox())


async def test_expired_code_is_refused(rig: Rig) -> None:
    alex, sam = rig.person("Alex"), rig.person("Sam")
    alex.says("/invite")
    code = (await alex.sees("invite link")).text.split("?start=")[1].split()[0]
    with Session(rig.engine) as session:
        session.execute(
            update(Invite)
            .where(col(Invite.code) == code)
            .values(expires_at=utcnow() - timedelta(1))
        )
        session.commit()
    sam.says(f"/start {code}")
    assert "Alex" not in (await sam.sees("doesn't work")).text


async def test_unknown_code_is_refused(rig: Rig) -> None:
    sam = rig.person("Sam")
    sam.says("/join not-a-real-code")
    await sam.sees("doesn't work")


async def test_someone_already_in_a_couple_cannot_join_another(rig: Rig) -> None:
    alex, sam = await pair(rig)
    kim = rig.person("Kim")
    kim.says("/invite")
    code = (await kim.sees("invite link")).text.split("?start=")[1].split()[0]
    sam.says(f"/start {code}")
    refusal = (await sam.sees("already in a couple")).text
    assert "Kim" not in refusal
    alex.says("/invite")
    await alex.sees("already paired", "Sam")
    with Session(rig.engine) as session:
        assert len(session.exec(select(Couple)).all()) == 1


async def test_own_invite_does_not_pair_with_yourself(rig: Rig) -> None:
    alex = rig.person("Alex")
    alex.says("/invite")
    code = (await alex.sees("invite link")).text.split("?start=")[1].split()[0]
    alex.says(f"/start {code}")
    await alex.sees("your own invite")


async def test_a_new_invite_retires_the_old_link(rig: Rig) -> None:
    alex, sam = rig.person("Alex"), rig.person("Sam")
    alex.says("/invite")
    old = (await alex.sees("invite link")).text.split("?start=")[1].split()[0]
    alex.says("/invite")
    await alex.sees("invite link")
    sam.says(f"/start {old}")
    await sam.sees("doesn't work")


async def test_after_pairing_the_first_card_and_a_first_check_in(rig: Rig) -> None:
    alex, sam = await pair(rig)
    for person, partner in ((alex, "Sam"), (sam, "Alex")):
        [card] = [m for m in rig.server.bot_messages(person.id) if "1/3" in m.text]
        assert "interdependence" in card.text and partner in card.text
        assert "2/3" not in card.text and "3/3" not in card.text  # one idea at a time
        assert [b["text"] for b in card.buttons] == ["Start my check-in"]
    await sam.presses("Start my check-in")
    await sam.sees("Check-in")
    await rig.talk.settle()
    assert not any("Check-in" in t for t in alex.inbox())  # only the one who pressed


async def test_the_onboarding_cards_come_one_idea_at_a_time(rig: Rig) -> None:
    """Card 1 (the spectrum) at pairing, card 2 (the three needs) right after the first
    check-in, and never again after later ones."""
    from tests.helpers import check_in

    alex, sam = await pair_in_english(rig)
    await check_in(alex, "team", (4, 4, 4))
    await alex.sees("healthy middle")
    needs = await alex.sees("2/3 · Three needs")
    assert "autonomy" in needs.text and "3/3" not in needs.text
    await alex.presses("Done")
    await alex.sees("Thanks for checking in")
    await check_in(alex, "team", (4, 4, 4))
    await alex.sees("healthy middle")
    await rig.talk.settle()
    assert sum("2/3" in text for text in alex.inbox()) == 1
    assert not any("2/3" in text for text in sam.inbox())  # Sam has not checked in yet


async def pair_in_english(rig: Rig) -> tuple[Human, Human]:
    alex, sam = rig.person("Alex"), rig.person("Sam")
    alex.says("/invite")
    code = (await alex.sees("invite link")).text.split("?start=")[1].split()[0]
    sam.says(f"/start {code}")
    for person in (alex, sam):
        await person.sees("now a couple")
        await person.sees("Share my location")
        first = await person.sees("1/3")
        assert "2/3" not in first.text and "two-minute check-in" in first.text
    return alex, sam


async def test_the_practices_card_arrives_on_the_first_wednesday(rig: Rig) -> None:
    """Paired on a Tuesday (the tests' day): on Wednesday at noon (UTC here) the third card
    comes to both, hours before the start-small invitation."""
    alex, sam = await pair_in_english(rig)
    await rig.ticks(2)
    await rig.talk.settle()
    assert not any("3/3" in t for t in alex.inbox())  # not on Tuesday
    clock.start_at(datetime(2026, 6, 10, 12, 0, 1, tzinfo=UTC))
    for person in (alex, sam):
        card = await person.sees("3/3 · Small practices", timeout=30)
        assert "/letgo" in card.text and "/sotu" in card.text
