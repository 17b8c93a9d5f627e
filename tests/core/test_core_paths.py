"""One way in, one way out, one clock: the paths the durable core put in one place."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from bot import PROJECT_ROOT
from bot.coaching.practices import names
from bot.core.budget import FloodBudget
from bot.emulator import BotApiServer, Conversation
from bot.engine.check import check_flows
from bot.storage.models import Couple, FlowRun
from bot.storage.tables import INBOX, OUTBOX
from tests.helpers import (
    Rig,
    copy_flows,
    engine_for,
    linked_group,
    pair,
    quiet_hours_off,
    schedule_in,
    settings_for,
    start_bot,
    until,
)


async def test_a_reply_goes_before_a_crowd_of_scheduled_messages() -> None:
    budget = FloodBudget(overall_per_second=50, chat_per_second=100)
    order: list[str] = []

    async def send(name: str, chat: int, priority: int) -> None:
        await budget.take(chat, priority)
        order.append(name)

    crowd = [asyncio.create_task(send(f"nudge{i}", 1000 + i, 1)) for i in range(30)]
    await until(lambda: len(order) >= 1, what="the crowd to start")  # the rest wait their turn
    served_before = len(order)
    reply = asyncio.create_task(send("reply", 1, 0))
    await asyncio.gather(reply, *crowd)
    # Served at the next slot or the one after, not behind the rest of the crowd.
    assert served_before < len(crowd) and order.index("reply") <= served_before + 1, order


async def test_the_per_group_limit_spaces_a_burst() -> None:
    budget = FloodBudget(overall_per_second=1000, group_per_minute=3, chat_per_second=1000)
    for _ in range(3):  # the burst goes at once (a minute's wait would time out here)
        await asyncio.wait_for(budget.take(-5, 1), 30)
    waiter = asyncio.create_task(budget.take(-5, 1))
    await asyncio.sleep(0.2)  # not a limit: only gives the fourth a chance to go wrongly
    assert not waiter.done()  # the fourth waits for the minute
    waiter.cancel()


async def test_the_event_loop_stays_free_while_the_database_is_busy(rig: Rig) -> None:
    """Another writer holds SQLite's lock until this test's own coroutine has run while the
    bot is waiting for that lock. Were the bot's database work on the event loop, the test
    could not run, the lock would be held until the holder gives up, and the test fails:
    an event, not a stopwatch, so a slow machine cannot fail it."""
    alex, _sam = await pair(rig)
    await rig.talk.settle()
    locked, loop_ran = threading.Event(), threading.Event()
    gave_up: list[bool] = []

    def hold_the_lock() -> None:
        conn = sqlite3.connect(rig.db_path, timeout=10)
        conn.isolation_level = None
        conn.execute("BEGIN IMMEDIATE")
        locked.set()
        gave_up.append(not loop_ran.wait(60))
        conn.execute("COMMIT")
        conn.close()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    locked.wait()
    alex.says("/help")
    # The bot has fetched the update, so it is now storing it: waiting for the lock.
    await until(lambda: rig.server.pending_updates == 0, what="the bot to fetch /help")
    for _ in range(3):
        await asyncio.sleep(0.05)  # timers fire: the loop is free
    loop_ran.set()
    await asyncio.to_thread(holder.join)
    assert gave_up == [False], "the event loop was blocked while the database was locked"
    await alex.sees("/letgo")  # answered once the lock was gone


async def test_after_a_start_the_first_reply_leaves_before_every_waiting_chat_has_run(
    rig: Rig,
) -> None:
    """After a deploy, sixty people's messages wait. On SQLite a unit runs on the loop without
    pausing, so had every chat started at once, no reply could leave before all sixty had run;
    chats start one per pass of the loop, and the first reply leaves after the first few (ten
    here, where the Bot API server shares the bot's loop; all sixty before)."""
    await rig.bot.shutdown()
    people = [rig.person(f"Waiting{i}") for i in range(60)]
    for person in people:
        person.says("/help")
    handled_at_first_reply: list[int] = []

    waiting = {person.id for person in people}

    def on(kind: str, payload: Any) -> None:
        if kind == "bot_message" and payload.chat_id in waiting and not handled_at_first_reply:
            # All sixty are stored before any is handled; handling one clears its chat.
            with sqlite3.connect(rig.db_path) as conn:
                waits = conn.execute(
                    f"SELECT count(*) FROM {INBOX.name} WHERE processed_at IS NULL AND chat_id IN "
                    f"({','.join(map(str, waiting))})"
                ).fetchone()[0]
            handled_at_first_reply.append(len(people) - waits)

    rig.server.listeners.append(on)
    await rig.restart()
    for person in people:
        await person.sees("/letgo")
    assert handled_at_first_reply and handled_at_first_reply[0] < 30, handled_at_first_reply


async def test_sent_messages_leave_the_outbox_in_batches_not_one_write_each(rig: Rig) -> None:
    """Forty replies after a start go out about one a pass of the loop; the sender waits a few
    passes before deleting what was sent, so they leave the outbox in a handful of writes."""
    from sqlalchemy import Engine, event

    await rig.bot.shutdown()
    people = [rig.person(f"Burst{i}") for i in range(40)]
    for person in people:
        person.says("/help")
    deletes: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith(f"DELETE FROM {OUTBOX.name}"):
            deletes.append(statement)

    event.listen(Engine, "before_cursor_execute", seen)
    try:
        await rig.restart()
        for person in people:
            await person.sees("/letgo")
        await until(lambda: _outbox_rows(rig) == 0, what="the outbox to empty")
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
    assert 0 < len(deletes) <= len(people) // 2, len(deletes)


def _outbox_rows(rig: Rig) -> int:
    with sqlite3.connect(rig.db_path) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {OUTBOX.name}").fetchone()[0])


async def test_a_message_for_a_group_that_became_a_supergroup_follows_it(rig: Rig) -> None:
    alex, sam = await pair(rig)
    group = await linked_group(rig, alex, sam)
    await quiet_hours_off(rig)
    await rig.talk.settle()
    await rig.bot.shutdown()
    supergroup = rig.server.migrate_to_supergroup(group, alex.user)
    rig.server.take_pending_update()  # the bot never hears of the upgrade:
    rig.server.take_pending_update()  # it learns it from Telegram's answer when sending
    await rig.restart()
    schedule_in(rig, 0.5)
    await alex.sees("weekly State of the Union", in_=supergroup, timeout=30)
    with Session(rig.engine) as session:
        assert session.exec(select(Couple)).one().group_chat_id == supergroup.id


async def test_a_renamed_meeting_flow_still_starts_from_the_weekly_prompt(
    server: BotApiServer, tmp_path: Path
) -> None:
    flows, prompts = copy_flows(tmp_path)
    text = (flows / "sotu.yaml").read_text().replace("id: sotu", "id: meeting", 1)
    (flows / "sotu.yaml").unlink()
    (flows / "meeting.yaml").write_text(text)
    for language in (p for p in prompts.iterdir() if p.is_dir()):  # its words move with it
        (language / "sotu").rename(language / "meeting")
    db_path = tmp_path / "coach.db"
    bot = await start_bot(
        settings_for(db_path, server.base_url, flows_dir=flows, prompts_dir=prompts)
    )
    rig = Rig(server, Conversation(server), db_path, bot, engine_for(db_path))
    try:
        alex, _sam = await pair(rig)
        await quiet_hours_off(rig)
        schedule_in(rig, 0.5)
        await alex.sees("weekly State of the Union", timeout=30)
        await _sam.sees("weekly State of the Union", timeout=30)
        await alex.presses("Start now")
        await alex.sees("State of the Union", "appreciations")
        await _sam.sees("State of the Union", "appreciations")
        with Session(rig.engine) as session:
            assert session.exec(select(FlowRun)).one().flow_id == "meeting"
    finally:
        await rig.bot.shutdown()
        rig.engine.dispose()


def test_flows_check_fails_without_a_meeting_flow(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    shutil.copytree(PROJECT_ROOT / "flows", flows)
    text = (flows / "sotu.yaml").read_text()
    (flows / "sotu.yaml").write_text(text.replace("fills: [weekly_meeting]\n", ""))
    _, problems = check_flows(flows, PROJECT_ROOT / "prompts", names())
    assert [p.kind for p in problems] == ["role"]
    assert "weekly_meeting" in problems[0].message
    (flows / "sotu.yaml").unlink()
    _, problems = check_flows(flows, PROJECT_ROOT / "prompts", names())
    assert "weekly_meeting" in " ".join(p.message for p in problems)


def test_flows_check_fails_on_two_meeting_flows_and_a_shadowed_command(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    shutil.copytree(PROJECT_ROOT / "flows", flows)
    text = (flows / "letgo.yaml").read_text()
    text = text.replace("fills: [start_small]", "fills: [start_small, weekly_meeting]")
    text = text.replace("command: letgo", "command: help")
    (flows / "letgo.yaml").write_text(text)
    _, problems = check_flows(flows, PROJECT_ROOT / "prompts", names())
    messages = " ".join(p.message for p in problems)
    assert "also filled" in messages and "/help is one of the bot's own commands" in messages


def test_flows_check_fails_when_a_common_template_is_missing(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts"
    shutil.copytree(PROJECT_ROOT / "prompts", prompts)
    (prompts / "en" / "common" / "snoozed.j2").unlink()
    (prompts / "en" / "common" / "sorry.j2").write_text("{% if %}")
    _, problems = check_flows(PROJECT_ROOT / "flows", prompts, names())
    found = {(p.kind, p.message.split(".j2")[0].split("/")[-1]) for p in problems}
    assert ("missing-template", "snoozed") in found
    assert ("render", "sorry") in found


async def test_button_labels_are_shown_as_written_not_html_escaped(rig: Rig) -> None:
    alex, _sam = await pair(rig)
    alex.says("/letgo")
    await alex.sees("Start small")
    alex.says("/metime")
    ask = await alex.sees("Leave")
    labels = [b["text"] for b in ask.buttons]
    assert 'Leave it, start "You" time' in labels, labels
    assert not any("&" in label for label in labels)


async def test_polling_and_the_webhook_ask_telegram_for_the_same_updates(rig: Rig) -> None:
    """One definition of what comes in: the polling bot and `us-coach webhook set` ask for the
    same update types, and those carry everything the handlers act on."""
    import argparse

    from bot.cli import cmd_webhook
    from bot.telegram.intake import ALLOWED_UPDATES

    await pair(rig)  # the bot has polled, and answered
    assert rig.server.allowed_updates == ALLOWED_UPDATES
    assert {"message", "callback_query", "my_chat_member"} <= set(ALLOWED_UPDATES)

    other = BotApiServer(rig.server.token)
    base_url = await other.start()
    try:
        settings = settings_for(
            rig.db_path, base_url, database_url=rig.database_url, webhook_secret="s3cret_for_tests"
        )
        args = argparse.Namespace(action="set", url="https://coach.example/hook", max_connections=8)
        assert await asyncio.to_thread(cmd_webhook, args, settings) == 0
        assert other.webhook is not None and other.webhook.url == "https://coach.example/hook"
        assert other.allowed_updates == ALLOWED_UPDATES
    finally:
        await other.stop()
