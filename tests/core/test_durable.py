"""The durable core's failure windows, each shut: an input is never lost once Telegram gave it
to us, a message never once its change was committed, and Telegram's bad minutes only make
messages late."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.core.outbox import Outgoing
from bot.core.work import UnitOfWork
from bot.emulator import Human
from bot.storage.db import Database, upgrade, utcnow
from bot.storage.inbox import Inbox, Stored
from bot.storage.outbox import Outbox
from bot.storage.tables import INBOX, OUTBOX
from tests.helpers import Rig, engine_for, pair, send_letgo, start_bot, until


async def _lean_in_invitation_waits(rig: Rig) -> tuple[Human, Human]:
    alex, sam = await pair(rig)
    await send_letgo(alex, "Work was a lot today")
    return alex, sam


@pytest.mark.parametrize("kind", ["502", "hang"])
async def test_a_reply_sent_into_an_outage_arrives_after_it(rig: Rig, kind: str) -> None:
    alex, sam = await _lean_in_invitation_waits(rig)
    rig.server.outage(3, kind)
    started = time.monotonic()
    await alex.presses("Send it")
    await alex.sees("Sent to Sam")
    invitation = await sam.sees("Lean in", "Alex shared something")
    assert "Work was a lot today" in invitation.text
    assert time.monotonic() - started >= 2.5  # it did wait out the outage
    assert rig.server.outage_failures >= 1
    await rig.talk.settle()
    assert sum("Alex shared something" in t for t in sam.inbox()) == 1  # once, not twice
    with rig.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(OUTBOX)).scalar() == 0


async def test_an_update_stored_but_not_handled_is_handled_after_a_restart(rig: Rig) -> None:
    """The window between "Telegram confirmed the batch" and "the step ran": the update is in
    the inbox first, and a restart handles what it holds."""
    alex, _sam = await pair(rig)
    await rig.bot.shutdown()
    alex.says("/help")
    update = rig.server.take_pending_update()  # as if fetched and confirmed, then killed
    with rig.engine.begin() as conn:  # what the poller had stored before the kill
        conn.execute(
            INBOX.insert().values(
                update_id=update["update_id"],
                chat_id=alex.id,
                payload=update,
                received_at=utcnow(),
            )
        )
    await rig.restart()
    await alex.sees("/letgo")  # /help's answer, from the inbox alone


async def test_a_claim_is_part_of_the_step_so_a_failed_step_is_not_skipped(
    tmp_path: Path,
) -> None:
    """The window between "marked as handled" and "the step ran" no longer exists: a step
    that fails rolls back its claim with it, and the person is not left waiting. (Its own
    database: a running bot would take update 900 itself, and wait 20 s to reach chat 1.)"""
    engine = engine_for(tmp_path / "claims.db")
    upgrade(engine)
    db = Database(engine)
    inbox, outbox = Inbox(db), Outbox(db)
    work = UnitOfWork(db, inbox, outbox)
    inbox.store([Stored(900, 1, {"update_id": 900})])

    def crashes(_tx: object) -> None:
        raise RuntimeError("killed in the middle of the step")

    with pytest.raises(RuntimeError):
        work.run(crashes, update_id=900)  # type: ignore[arg-type]
    assert [s.update_id for s in inbox.pending()] == [900]  # still to do
    from bot.core.outbox import Reply

    done = work.run(lambda _tx: Reply().add(Outgoing(1, "hello")), update_id=900)
    assert done is not None and [q.message.text for q in done.queued] == ["hello"]
    assert work.run(lambda _tx: Reply().add(Outgoing(1, "again")), update_id=900) is None
    engine.dispose()


async def test_messages_are_committed_with_the_step_and_sent_after_a_crash(rig: Rig) -> None:
    """The window between commit and send: the partner's invitation is in the outbox in the
    step's own transaction; a process that dies before sending leaves it for the next."""
    alex, sam = await _lean_in_invitation_waits(rig)
    rig.server.outage(60, "502")  # nothing leaves while we "kill" the bot
    await alex.presses("Send it")

    def waiting() -> bool:
        with rig.engine.connect() as conn:
            return bool(
                conn.execute(
                    select(func.count()).select_from(OUTBOX).where(OUTBOX.c.chat_id == sam.id)
                ).scalar()
            )

    await until(waiting, what="the invitation in the outbox after the step")
    rig.bot.task.cancel()  # the process dies: no drain, no goodbye
    await asyncio.wait([rig.bot.task])
    rig.server.outage(0)
    rig.bot = await start_bot(rig.bot.settings)
    await sam.sees("Lean in", "Alex shared something")  # after the lease ran out
    await alex.sees("Sent to Sam")
