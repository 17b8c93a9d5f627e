"""Bad input gets a clear answer or deliberate silence, and nothing is lost."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from bot.storage.models import Couple, Partner
from tests.helpers import Rig, linked_group, pair
from tests.speech import needs_espeak, silence, spoken

STICKER: dict[str, Any] = {  # raw message fields, as Telegram sends them
    "sticker": {
        "file_id": "s1",
        "file_unique_id": "s1",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "type": "regular",
    }
}
PHOTO: dict[str, Any] = {
    "photo": [{"file_id": "p1", "file_unique_id": "p1", "width": 90, "height": 90}]
}


def snapshot(rig: Rig) -> list[tuple[object, ...]]:
    with Session(rig.engine) as session:
        couples = [
            (c.id, c.timezone, c.meeting_day, c.paused, c.group_chat_id)
            for c in session.exec(select(Couple))
        ]
        partners = [(p.id, p.couple_id, p.seat) for p in session.exec(select(Partner))]
    return [*couples, *partners]


async def test_bad_input_sweep_leaves_the_bot_answering(rig: Rig) -> None:
    alex, sam = await pair(rig)
    group = await linked_group(rig, alex, sam)
    before = snapshot(rig)

    alex.sends_raw(**STICKER)
    await alex.sees("only read text")
    alex.sends_raw(**PHOTO)
    await alex.sees("only read text")

    alex.says("x" * 20_000)
    await alex.sees("long message", "20000")

    query = alex.forges("definitely:not:ours")
    assert "doesn't work" in await alex.toast_for(query)
    query = alex.forges("9999999:1:send")
    assert "doesn't work" in await alex.toast_for(query)

    sent = alex.says("/help")
    await alex.sees("What I can do")
    rig.server.user_edits(alex.user, sent, "/invite")

    rig.server.push_update(
        "channel_post",
        {
            "message_id": 1,
            "date": 0,
            "chat": {"id": -1009, "type": "channel", "title": "News"},
            "text": "/help",
        },
    )
    rig.server.push_update(
        "message",
        {
            "message_id": 99,
            "date": 0,
            "chat": {"id": group.id, "type": "group", "title": "Us"},
            "sender_chat": {"id": group.id, "type": "group", "title": "Us"},
            "text": "/link",
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
        },
    )

    alex.says("/frobnicate")
    await alex.sees("don't know that command")
    alex.says("/help@SomeOtherBot")
    alex.sends_raw(**STICKER, in_=group)  # not aimed at us in the group: silence
    await rig.talk.settle()

    assert rig.talk.unread(alex.private) == []
    assert rig.talk.unread(group) == []
    assert snapshot(rig) == before

    alex.says("/help")
    await alex.sees("What I can do")


async def test_a_stranger_learns_nothing_from_commands(rig: Rig) -> None:
    alex, sam = await pair(rig)
    group = await linked_group(rig, alex, sam)
    eve = rig.person("Eve")
    for command in ("/schedule", "/timezone", "/cancel", "/link"):
        eve.says(command, group)
    answers = [
        await eve.sees("not paired yet", in_=group),  # /schedule
        await eve.sees("not paired yet", in_=group),  # /timezone
        # /cancel: quiet on purpose (what runs in their group is not Eve's to end)
        await eve.sees("Only a paired couple can link", in_=group),
    ]
    said = " ".join(m.text for m in answers)
    assert "Alex" not in said and "Sam" not in said


async def test_empty_and_whitespace_commands_are_handled(rig: Rig) -> None:
    alex, _ = await pair(rig)
    alex.says("/join")
    await alex.sees("open the invite link")
    alex.says("/schedule    ")
    await alex.sees("No weekly meeting")


async def test_unhandled_error_is_logged_with_context_and_apologised_for(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    alex = rig.person("Alex")
    alex.says("/start")
    await alex.sees("Hi Alex")
    with rig.engine.begin() as connection:  # break the database under the running bot
        connection.execute(text("DROP TABLE invite"))
    caplog.set_level(logging.INFO)
    alex.says("/invite secret words")
    apology = await alex.sees("Sorry, something went wrong")
    assert "Traceback" not in apology.text and "invite" not in apology.text.lower()
    errors = [r for r in caplog.records if r.name == "bot.telegram.handlers.errors"]
    assert errors and f"user={alex.id}" in errors[0].getMessage()
    assert all("secret words" not in r.getMessage() for r in caplog.records)


async def test_a_partner_who_blocked_the_bot_is_marked_unreachable_once(rig: Rig) -> None:
    alex, sam = await pair(rig)
    rig.server.block_bot(sam.user)
    await alex.sees("can't reach Sam")
    with Session(rig.engine) as session:
        partner = session.get(Partner, sam.id)
        assert partner is not None and partner.unreachable
    alex.says("/pause")  # would notify Sam: a 403 now, and no second note to Alex
    await alex.sees("paused")
    await rig.talk.settle()
    assert not any("can't reach" in m.text for m in rig.talk.unread(alex.private))
    sam.says("/start")  # writing to the bot again makes Sam reachable
    await sam.sees("Hi Sam")
    with Session(rig.engine) as session:
        partner = session.get(Partner, sam.id)
        assert partner is not None and not partner.unreachable


@needs_espeak
async def test_voice_notes_that_cannot_be_heard_get_a_clear_answer(rig: Rig) -> None:
    alex, _sam = await pair(rig)
    whole = spoken("I am worried about money and I need you to listen")
    alex.speaks(b"", 3)
    await alex.sees("couldn't play that recording")
    alex.speaks(whole[: len(whole) // 3], 3)  # cut off mid-page
    answer = await alex.sees("I")
    assert "couldn't play" in answer.text or "I heard" in answer.text
    alex.speaks(b"OggS" + bytes(range(256)) * 40, 3)  # looks like OGG, is noise
    await alex.sees("couldn't play that recording")
    alex.speaks(b"RIFF\x00\x00\x00\x00WAVEfmt " + bytes(500), 2, kind="audio", mime="audio/wav")
    await alex.sees("couldn't play that recording")
    alex.speaks(bytes(20 * 1024 * 1024 + 1), 60)  # over Telegram's 20 MB for bots
    await alex.sees("longer than 5 minutes")
    alex.speaks(whole, 301)  # over five minutes, by Telegram's word: never fetched
    await alex.sees("longer than 5 minutes")
    alex.speaks(silence(2.0), 2)
    await alex.sees("couldn't make out any words")
    await rig.talk.settle()
    with rig.engine.connect() as conn:  # nothing of them is kept
        assert conn.execute(text("SELECT count(*) FROM voicenote")).scalar() == 0
    alex.says("/help")
    await alex.sees("What I can do")
