"""Nudges through the running bot and the local Bot API server, in real time."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.storage.db import utcnow
from bot.storage.models import Couple, FlowRun, OutboxMessage, Partner
from tests.helpers import (
    Rig,
    linked_group,
    pair,
    passed,
    quiet_hours_off,
    schedule_in,
    until,
)


async def test_the_weekly_prompt_arrives_once_on_time(rig: Rig) -> None:
    alex, sam = await pair(rig)
    await quiet_hours_off(rig)
    slot = schedule_in(rig, 2)
    prompt = await alex.sees("weekly State of the Union", timeout=30)
    arrived = utcnow()
    await sam.sees("weekly State of the Union")
    assert arrived >= slot  # never early; how late depends on the machine, so it is not timed
    await rig.ticks(2)  # the clock had its chance to send it again
    await rig.talk.settle()
    for person in (alex, sam):
        assert sum("weekly State of the Union" in t for t in person.inbox()) == 1
    assert [b["text"] for b in prompt.buttons] == ["Start now", "Tomorrow, same time"]
    await alex.presses("Start now")
    await alex.sees("State of the Union", "appreciations")
    await sam.sees("State of the Union", "appreciations")
    with Session(rig.engine) as session:
        assert session.exec(select(FlowRun)).one().flow_id == "sotu"


async def test_tomorrow_same_time_snoozes_in_the_group(rig: Rig) -> None:
    alex, sam = await pair(rig)
    group = await linked_group(rig, alex, sam)
    slot = schedule_in(rig, 1)
    await sam.sees("weekly State of the Union", in_=group, timeout=30)
    await sam.presses("Tomorrow, same time", group)
    await alex.sees("I'll ask again tomorrow", in_=group)
    with Session(rig.engine) as session:
        couple = session.exec(select(Couple)).one()
    assert couple.snooze_at == slot + timedelta(days=1)
    eve = rig.person("Eve")
    query = await eve.presses("Start now", group)
    assert "couple" in await eve.toast_for(query)


async def test_a_prompt_due_while_the_bot_was_down_arrives_once_late(rig: Rig) -> None:
    alex, sam = await pair(rig)
    await quiet_hours_off(rig)
    await rig.bot.shutdown()
    await passed(schedule_in(rig, 0.5))  # due while nobody runs (checking now would prove nothing)
    await rig.restart()
    await alex.sees("weekly State of the Union", timeout=30)
    await sam.sees("weekly State of the Union", timeout=30)
    await rig.restart()  # and a second restart does not send it again
    await rig.ticks(2)
    await rig.talk.settle()
    assert sum("weekly State of the Union" in t for t in alex.inbox()) == 1


async def test_a_429_waits_retry_after_and_goes_on(rig: Rig) -> None:
    alex, sam = await pair(rig)
    group = await linked_group(rig, alex, sam)
    rig.server.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    schedule_in(rig, 0.5)
    started = time.monotonic()
    await alex.sees("weekly State of the Union", in_=group, timeout=30)
    assert time.monotonic() - started >= 1  # it waited for retry_after
    assert rig.server.rejected_429 == 1
    await rig.talk.settle()
    assert sum("weekly" in m.text for m in rig.server.bot_messages(group.id)) == 1


async def test_a_403_marks_the_partner_unreachable_and_tells_the_other_once(rig: Rig) -> None:
    alex, sam = await pair(rig)
    await quiet_hours_off(rig)
    sam.user.blocked_bot = True  # blocked, and we never got the update saying so
    schedule_in(rig, 0.5)
    await alex.sees("weekly State of the Union", timeout=30)
    await alex.sees("can't reach Sam")
    with Session(rig.engine) as session:
        partner = session.get(Partner, sam.id)
        assert partner is not None and partner.unreachable
    await passed(schedule_in(rig, 0.5))  # the next prompt skips Sam and says nothing more
    await alex.sees("weekly State of the Union", timeout=30)
    await rig.ticks(2)
    await rig.talk.settle()
    assert sum("can't reach" in t for t in alex.inbox()) == 1


async def test_a_message_telegram_refuses_for_good_is_logged_dropped_and_the_next_goes(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    """A 400 (say, markup Telegram cannot parse) will never be taken: it leaves the outbox
    once, logged with its chat, and the chat's next message is not held behind it."""
    alex, _sam = await pair(rig)
    await rig.talk.settle()
    caplog.set_level(logging.ERROR)
    rig.server.fail_next("sendMessage", 400, "Bad Request: can't parse entities")
    alex.says("/help")
    await rig.talk.settle()
    refused = [r for r in caplog.records if "refused a message" in r.getMessage()]
    assert len(refused) == 1 and str(alex.id) in refused[0].getMessage()
    before = len(alex.inbox())
    alex.says("/help")
    await alex.sees("/letgo")
    assert len(alex.inbox()) == before + 1

    def outbox_empty() -> bool:  # the sender deletes a row once Telegram took it: just after
        with Session(rig.engine) as session:
            return session.exec(select(OutboxMessage)).all() == []

    await until(outbox_empty, what="the delivered and the refused rows to leave the outbox")
