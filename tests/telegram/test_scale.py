"""Scale out: PostgreSQL, migrations under a lock, web processes behind a load balancer fed
by the emulator's webhook mode, a worker that sends, and what an operator watches."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from bot import metrics
from bot.emulator import BotApiServer, Conversation
from bot.emulator.cluster import SECRET, Cluster, free_port
from bot.storage.db import make_engine, upgrade
from bot.storage.tables import INBOX
from tests.helpers import TOKEN, couple_goes_through_let_go, settings_for, until
from tests.speech import needs_espeak, seconds_of, spoken


class LogWatch(logging.Handler):
    """Notices a log line: the one sign that a process reached a point in its shutdown."""

    def __init__(self, words: str) -> None:
        super().__init__()
        self.words, self.said = words, False

    def emit(self, record: logging.LogRecord) -> None:
        self.said = self.said or self.words in record.getMessage()


pytestmark = pytest.mark.slow

POSTGRES = pytest.mark.parametrize("backend", ["postgres"], indirect=True)


def a_message(update_id: int, user_id: int, text: str) -> dict[str, Any]:
    user = {"id": user_id, "is_bot": False, "first_name": "Robin"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_790_000_000,
            "chat": {"id": user_id, "type": "private", "first_name": "Robin"},
            "from": user,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}]
            if text.startswith("/")
            else [],
        },
    }


async def post(url: str, body: dict[str, Any], secret: str = SECRET) -> tuple[int, dict[str, str]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=body, headers={"X-Telegram-Bot-Api-Secret-Token": secret}) as r,
    ):
        return r.status, dict(r.headers)


def inbox_count(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(INBOX)).scalar() or 0)
    finally:
        engine.dispose()


@POSTGRES
def test_three_concurrent_upgrades_exactly_one_applies(database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "TELEGRAM_BOT_TOKEN": TOKEN}
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "db", "upgrade"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], outputs
    assert sum("applied migrations 0001" in out for out in outputs) == 1, outputs
    assert sum("already up to date" in out for out in outputs) == 2, outputs


@POSTGRES
async def test_web_processes_and_a_worker_carry_couples_through_kills(
    server: BotApiServer, database_url: str, tmp_path: Path
) -> None:
    cluster = Cluster(server, database_url, tmp_path, extra={"LOG_FORMAT": "json"})
    await cluster.start(webs=2, workers=2)
    try:
        # A wrong secret: 403, and nothing is stored.
        before = inbox_count(database_url)
        status, _ = await post(cluster.webs[0].url + "/telegram", a_message(10**6, 5, "/help"), "x")
        assert status == 403
        assert inbox_count(database_url) == before
        # The right secret but no update (a probe, a truncated body): 400, nothing stored.
        for body in ({"hello": "world"}, {"update_id": "not a number"}, [1, 2]):
            status, _ = await post(cluster.webs[1].url + "/telegram", body)  # type: ignore[arg-type]
            assert status == 400
        assert inbox_count(database_url) == before

        talk = Conversation(server, timeout=60)
        rng = random.Random(3)

        async def kill_webs() -> int:
            kills = 0
            for _ in range(3):
                await asyncio.sleep(rng.uniform(1.0, 2.5))
                victim = rng.choice(cluster.webs)
                victim.signal(signal.SIGKILL)
                await victim.exited(10)
                kills += 1
                victim.start()
                await victim.ready()
            return kills

        killer = asyncio.create_task(kill_webs())
        results = await asyncio.gather(*(couple_goes_through_let_go(talk, n) for n in range(8)))
        kills = await killer
        lost = [item for result in results for item in result]
        assert kills == 3
        assert lost == [], f"{lost}\n{cluster.logs()}"
        # Each chat's replies came in the order the flow sends them (checked step by step
        # above); the balancer spread the updates over both web processes.
        handled = []
        async with aiohttp.ClientSession() as session:
            for web in cluster.webs:
                async with session.get(web.url + "/metrics") as answer:
                    text = await answer.text()
                handled.append(text)
            async with session.get(cluster.workers[0].url + "/metrics") as answer:
                worker_metrics = await answer.text()
            async with session.get(cluster.workers[0].url + "/healthz") as answer:
                assert answer.status == 200
        assert all("uscoach_updates_handled_total" in t for t in handled)
        assert "uscoach_outbox_depth" in worker_metrics
        assert "uscoach_nudges_due" in worker_metrics
        senders = ["holds the sender lock" in w.log.read_text() for w in cluster.workers]
        assert senders.count(True) == 1, cluster.logs()  # one sender for the bot token
    finally:
        await cluster.stop()
    assert all(p.popen is not None and p.popen.returncode == 0 for p in cluster.workers)
    # JSON logs, one object per line, and nothing anyone wrote in them.
    for process in (*cluster.webs, *cluster.workers):
        for line in process.log.read_text().splitlines():
            record = json.loads(line)
            assert {"time", "level", "logger", "message"} <= set(record)
            assert "Struggle number" not in line and "A walk together" not in line


async def test_sigterm_answers_new_requests_503_and_finishes_the_one_in_flight(
    tmp_path: Path,
) -> None:
    from bot.telegram.web import serve_web

    db = tmp_path / "web.db"
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    engine.dispose()
    api = BotApiServer(TOKEN)
    await api.start()
    settings = settings_for(db, api.base_url, webhook_secret=SECRET)
    port = free_port()
    stop, ready = asyncio.Event(), asyncio.Event()
    serving = asyncio.create_task(
        serve_web(settings, stop, host="127.0.0.1", port=port, ready=ready)
    )
    url = f"http://127.0.0.1:{port}"
    draining = LogWatch("stopping: new requests get 503")
    web_log = logging.getLogger("bot.telegram.web")
    level = web_log.level
    web_log.setLevel(logging.INFO)
    web_log.addHandler(draining)
    try:
        await asyncio.wait_for(ready.wait(), 60)
        # Another writer holds the database: the first update waits to be stored.
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        waiting = metrics.WEBHOOK_IN_FLIGHT._value.get()
        in_flight = asyncio.create_task(post(url + "/telegram", a_message(1, 77, "/help")))
        await until(lambda: metrics.WEBHOOK_IN_FLIGHT._value.get() > waiting, what="in flight")
        stop.set()  # what SIGTERM does
        await until(lambda: draining.said, what="the web process to start draining")
        status, headers = await post(url + "/telegram", a_message(2, 77, "/help"))
        assert status == 503 and headers.get("Retry-After") == "5"
        async with aiohttp.ClientSession() as session, session.get(url + "/readyz") as answer:
            assert answer.status == 503
        holder.execute("ROLLBACK")
        holder.close()
        assert (await in_flight)[0] == 200
        await asyncio.wait_for(serving, 60)
    finally:
        web_log.removeHandler(draining)
        web_log.setLevel(level)
        stop.set()
        await api.stop()
    with sqlite3.connect(db) as conn:
        query = "SELECT update_id, processed_at IS NOT NULL FROM inboxupdate"
        stored = conn.execute(query).fetchall()
    assert stored == [(1, 1)]  # the one in flight was stored and handled; the 503 was not


@POSTGRES
@needs_espeak
async def test_a_voice_note_through_a_web_process_is_heard_by_a_worker(
    server: BotApiServer, database_url: str, tmp_path: Path
) -> None:
    """Web processes only queue a note; a worker, which loads the model, hears it."""
    cluster = Cluster(server, database_url, tmp_path)
    await cluster.start(webs=1, workers=1)
    try:
        talk = Conversation(server, timeout=90)
        robin = talk.person("Robin")
        robin.says("/start")
        await robin.sees("/invite")
        note = spoken("I am worried about money and I need you to listen")
        robin.speaks(note, seconds_of(note))
        heard = await robin.sees("I heard", "money")
        assert heard.chat_id == robin.id
        talk.mark_read(robin.private)
    finally:
        await cluster.stop()
    assert "speech model" not in cluster.webs[0].log.read_text()
    assert "voice note 1 heard" in cluster.workers[0].log.read_text(), cluster.logs()
