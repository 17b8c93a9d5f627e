"""Chaos: `us-coach run` is killed at random moments while couples pair and go through
Let go and Lean in, and restarted each time. Every action gets its answer, every message
whose sender was told "Sent" arrives, and a kill duplicates at most the messages Telegram had
taken and the outbox had not yet deleted (in flight at the kill)."""

from __future__ import annotations

import asyncio
import random
import signal
from collections import Counter
from pathlib import Path

import pytest

from bot.emulator import BotApiServer, Conversation
from tests.backends import BOTH
from tests.helpers import PATIENCE, couple_goes_through_let_go, in_flight, launch, wait_exit

pytestmark = pytest.mark.slow


def duplicates(server: BotApiServer) -> int:
    """Bot messages that arrived twice in the same chat (every text here is unique)."""
    extra = 0
    for chat_id in list(server.messages):
        counts = Counter(m.text for m in server.bot_messages(chat_id))
        extra += sum(c - 1 for c in counts.values())
    return extra


async def run_chaos(
    tmp_path: Path,
    couples: int,
    stops: int,
    how: signal.Signals,
    seed: int,
    database_url: str = "",
) -> tuple[list[str], int, int, int]:
    server = BotApiServer()
    await server.start()
    talk = Conversation(server, timeout=PATIENCE)
    database_url = database_url or f"sqlite:///{tmp_path / 'coach.db'}"
    env = {
        "OUTBOX_LEASE_SECONDS": "2",
        "POLL_TIMEOUT": "1",
        "DATABASE_URL": database_url,
        "VOICE_LOAD_AT_START": "false",  # no voice here: each restart need not load the model
    }
    polls = server.poll_count
    process = launch(server, tmp_path, env)
    rng = random.Random(seed)
    at_risk = 0  # sent but not yet deleted from the outbox, summed over the kills

    async def chaos() -> int:
        nonlocal process, at_risk, polls
        count = 0
        # Every kill happens, whether the couples are still going or done: how many kills a
        # run sees must not depend on how fast the machine is (a faster start once finished
        # the couples' work before the last one).
        while count < stops:
            await asyncio.sleep(rng.uniform(1, 4))
            if how == signal.SIGTERM:
                # A stop asked for while Python is still importing is the default action
                # (the process ends, like a kill): the SIGKILL test covers those moments.
                await running(server, polls)
            process.send_signal(how)
            code = await wait_exit(process, 20)
            assert how == signal.SIGKILL or code == 0, f"SIGTERM exit code {code}"
            at_risk += in_flight(server, database_url)
            count += 1
            await asyncio.sleep(rng.uniform(0, 0.5))
            polls = server.poll_count
            process = launch(server, tmp_path, env)
        return count

    try:
        killer = asyncio.create_task(chaos())
        results = await asyncio.gather(
            *(couple_goes_through_let_go(talk, n) for n in range(couples))
        )
        kills = await killer
        await talk.settle(quiet=2.5, timeout=60)  # anything late still arrives
        lost = [item for result in results for item in result]
        return lost, duplicates(server), kills, at_risk
    finally:
        process.kill()
        process.wait()
        await server.stop()


async def running(server: BotApiServer, polls_before: int, timeout: float = 60) -> None:
    """Wait until the process launched after `polls_before` polls has polled once."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while server.poll_count <= polls_before and loop.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)


@BOTH
async def test_sigkill_at_random_moments_loses_nothing(tmp_path: Path, database_url: str) -> None:
    lost, duplicated, kills, at_risk = await run_chaos(
        tmp_path, 10, 8, signal.SIGKILL, seed=9, database_url=database_url
    )
    log = (tmp_path / "bot.log").read_text()
    assert kills == 8
    assert lost == [], f"lost after {kills} kills: {lost}\n{log[-3000:]}"
    # Only what Telegram had taken and the outbox not yet forgotten may come twice.
    assert duplicated <= at_risk, f"{duplicated} duplicates, {at_risk} in flight at the kills"
    print(f"chaos: {kills} kills, 0 lost, {duplicated} duplicated, {at_risk} in flight")


async def test_sigterm_at_random_moments_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    lost, duplicated, stops, _at_risk = await run_chaos(tmp_path, 6, 4, signal.SIGTERM, seed=4)
    assert stops == 4
    assert lost == [], lost
    assert duplicated == 0
    assert "Traceback" not in (tmp_path / "bot.log").read_text()
