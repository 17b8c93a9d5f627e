"""`us-coach worker`: the one clock (due nudges, reminders, breaks, follow-ups, retention)
and the one way out (the outbox sender), runnable as several processes.

The clock's work is safe to run in every worker at once: each due action claims itself
in the database (a unique claim, or an UPDATE ... WHERE on its state), so it happens once.
Sending is not: Telegram's limits hold for the bot token, not per process. So exactly one
worker sends at a time, the one holding a PostgreSQL session advisory lock; when it dies
its connection closes, PostgreSQL releases the lock, and another worker takes over within
seconds (messages in flight then wait out their lease). New outbox rows wake the sender
through PostgreSQL's LISTEN/NOTIFY. On SQLite there is one process, which simply sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.storage.db import Database
from bot.storage.outbox import OUTBOX_CHANNEL
from bot.telegram.main import learn_username, start_clock
from bot.telegram.sender import Sender
from bot.telegram.web import Health, process_application, quiet_server, release

log = logging.getLogger(__name__)

SENDER_LOCK = 0x75_73_63_6F_61_63_68_02  # "uscoach" + 2: this worker sends
TRY_EVERY = 1.0  # seconds between a waiting worker's tries for the sender lock
CHECK_EVERY = 5.0  # seconds between checks that the lock's connection is alive


class SenderLost(RuntimeError):
    """The connection holding the sender lock broke: another worker may send now."""


async def send_while_leader(sender: Sender, db: Database, halt: asyncio.Event) -> None:
    """Run the sender only while this process holds the sender lock (PostgreSQL)."""
    if db.engine.dialect.name != "postgresql":
        await sender.run(halt)
        return
    conn: Connection | None = None
    while not halt.is_set():
        conn = await asyncio.to_thread(db.engine.connect)
        got = await asyncio.to_thread(_try_lock, conn)
        if got:
            break
        await asyncio.to_thread(conn.close)
        conn = None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(halt.wait(), TRY_EVERY)
    if conn is None:
        return
    log.info("this worker holds the sender lock and sends for the bot")
    listener = Listener(db, sender)
    listener.start()
    sending = asyncio.create_task(sender.run(halt), name="sender")
    try:
        while not halt.is_set() and not sending.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(halt.wait()), CHECK_EVERY)
            try:
                await asyncio.to_thread(_ping, conn)
            except Exception as exc:
                # Without the lock another worker may already be sending: stop at once.
                halt.set()
                sender.abort()
                raise SenderLost("lost the sender lock's connection") from exc
        await sending
    finally:
        listener.stop()
        with contextlib.suppress(Exception):
            await asyncio.to_thread(_unlock_and_close, conn)


def _try_lock(conn: Connection) -> bool:
    got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": SENDER_LOCK}).scalar())
    conn.commit()  # a session lock outlives the transaction; no transaction stays open
    return got


def _ping(conn: Connection) -> None:
    conn.execute(text("SELECT 1"))
    conn.commit()


def _unlock_and_close(conn: Connection) -> None:
    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": SENDER_LOCK})
    conn.commit()
    conn.close()


class Listener:
    """LISTEN on the outbox channel in a thread; each NOTIFY wakes the sender at once."""

    def __init__(self, db: Database, sender: Sender) -> None:
        url = make_url(db.engine.url.render_as_string(hide_password=False))
        self.dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.sender = sender
        self.loop = asyncio.get_running_loop()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="listen", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _listen(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True) as conn:
                    conn.execute(f"LISTEN {OUTBOX_CHANNEL}")
                    while not self._stop.is_set():
                        for _note in conn.notifies(timeout=1.0):
                            self.loop.call_soon_threadsafe(self.sender.wake)
            except Exception:  # the sender's own scan still finds everything, only later
                log.warning("outbox listener lost its connection; reconnecting", exc_info=True)
                self._stop.wait(1.0)


async def serve_worker(
    settings: Settings,
    stop: asyncio.Event,
    *,
    host: str,
    port: int,
    ready: asyncio.Event | None = None,
) -> None:
    services, application = process_application(settings, sends=True)
    sender: Sender = application.bot_data["sender"]
    health = Health(services)
    server = quiet_server(health.routes(), host, port)
    halt = asyncio.Event()
    try:
        async with application:
            learn_username(application)
            await start_clock(application)
            await application.start()
            serving = asyncio.create_task(server.serve(), name="uvicorn")
            sending = asyncio.create_task(
                send_while_leader(sender, services.db, halt), name="sending"
            )
            hearing = asyncio.create_task(application.bot_data["hearing"].run(halt))
            health.up = True
            log.info("Us Coach worker is running (health on %s:%s)", host, port)
            if ready is not None:
                ready.set()
            stopped = asyncio.ensure_future(stop.wait())
            await asyncio.wait({stopped, sending}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            log.info("stopping")
            health.draining = True
            halt.set()
            results: list[Any] = list(
                await asyncio.gather(sending, hearing, return_exceptions=True)
            )
            await sender.drain()
            server.should_exit = True
            await asyncio.gather(serving, return_exceptions=True)
            await application.stop()
            for result in results:
                if isinstance(result, BaseException):
                    raise result
    finally:
        await release(application, services)
