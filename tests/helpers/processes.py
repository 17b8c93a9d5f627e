"""The bot as a process of its own (`us-coach run`): start it, wait for it to exit, and a
couple's let go through it while it keeps dying (the process, chaos, scale and voice tests)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import OperationalError, ProgrammingError

from bot.emulator import BotApiServer, Conversation, Human
from bot.storage.db import make_engine
from bot.words.texts import plain
from tests.helpers.rig import TOKEN


def launch(
    server: BotApiServer, workdir: Path, extra: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": server.base_url,
        "DATABASE_URL": f"sqlite:///{workdir / 'coach.db'}",
        "POLL_TIMEOUT": "2",
        "LOG_LEVEL": "INFO",
        **(extra or {}),
    }
    with (workdir / "bot.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run"],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


async def wait_exit(process: subprocess.Popen[bytes], timeout: float) -> int:
    for _ in range(int(timeout * 20)):
        code = process.poll()
        if code is not None:
            return code
        await asyncio.sleep(0.05)
    process.kill()
    raise AssertionError("the bot did not exit in time")


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


PATIENCE = 90.0  # seconds an answer may take while the bot keeps dying


async def couple_goes_through_let_go(talk: Conversation, n: int) -> list[str]:
    """One couple pairs, shares a struggle and is leaned in on; returns what never came."""
    alex, sam = talk.person(f"Alex{n}"), talk.person(f"Sam{n}")
    lost: list[str] = []

    async def expect(who: Human, *words: str) -> None:
        try:
            await who.sees(*words, timeout=PATIENCE)
        except AssertionError:
            lost.append(f"{who.name} never saw {words!r}")
            raise

    async def press(who: Human, label: str) -> None:
        try:
            await who.presses(label, timeout=PATIENCE)
        except AssertionError:
            lost.append(f"{who.name} never got the button {label!r}")
            raise

    try:
        alex.says("/start")
        await expect(alex, "/invite")
        alex.says("/invite")
        invite = await alex.sees("invite link", timeout=PATIENCE)
        code = invite.text.split("?start=")[1].split()[0]
        sam.says(f"/start {code}")
        await expect(sam, "now a couple")
        await expect(alex, "now a couple")
        for person in (alex, sam):
            await expect(person, "Share my location")
            await expect(person, "1/3")
        alex.says("/letgo")
        await expect(alex, "Start small")
        await press(alex, "I have something")
        await expect(alex, "Put it in a sentence")
        alex.says(f"Struggle number {n}")
        await expect(alex, "What would help")
        await press(alex, "Just listen")
        await expect(alex, "exactly what", "will get")
        await press(alex, "Send it")
        await expect(alex, "Sent to")
        await expect(sam, "Lean in", f"Struggle number {n}")  # the invitation "Sent" promised
        await press(sam, "I'm on it 💛")
        await expect(alex, "has read what you shared")
        await expect(sam, "In a few hours")
    except AssertionError:
        pass
    return lost


def in_flight(server: BotApiServer, database_url: str) -> int:
    """Messages Telegram already shows that are still in the outbox: sent, not yet deleted.
    A kill now sends exactly these again (the Bot API has no idempotency key)."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT chat_id, text FROM outboxmessage")).all()
    except (OperationalError, ProgrammingError):  # killed before its first start made tables
        return 0
    finally:
        engine.dispose()
    return sum(
        1
        for chat_id, message in rows
        if any(m.text == plain(message) for m in server.bot_messages(chat_id))
    )
