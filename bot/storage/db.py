"""Database engine, transactions and migrations. Any SQLAlchemy URL works; SQLite gets WAL,
a busy timeout and real transactions (BEGIN IMMEDIATE for writes, working savepoints).

`Database.unit()` is the one transaction in which a piece of work happens: an update's
step and its claim, a scheduled action and its messages. Services are handed it (as a `Tx`,
bot/core/work.py) and never open one; a transaction opened inside a unit is an error, not a
silent savepoint, so everything the work wrote commits together or not at all.
"""

from __future__ import annotations

import asyncio
import contextvars
import sqlite3 as raw_sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError

from bot.core import clock

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# The newest migration (tests/storage/test_storage.py holds it to Alembic's own head): a start that
# finds the database there needs no Alembic at all, which keeps 11 MB out of every process.
HEAD = "0016"
SQLITE_BUSY_TIMEOUT_MS = 10_000

# The connection of the unit of work running in this thread or task, if any.
_unit: contextvars.ContextVar[Connection | None] = contextvars.ContextVar("unit", default=None)
# Set while `Database.call` runs work on the event loop: its first write transaction must
# not wait for another process's writer (that would stop every chat), so it gives up at once.
_on_the_loop: contextvars.ContextVar[bool] = contextvars.ContextVar("on_the_loop", default=False)
P = ParamSpec("P")
T = TypeVar("T")


class WriterBusy(Exception):
    """Another process holds SQLite's writer: the work goes to a thread, which may wait."""


def _take_the_writer_or_give_up(conn: Connection) -> None:
    """BEGIN IMMEDIATE without waiting, once: a later transaction of the same work waits as
    usual (by then the work has done something, and must not be started again elsewhere)."""
    _on_the_loop.set(False)
    raw = conn.connection.driver_connection
    assert raw is not None
    raw.execute("PRAGMA busy_timeout=0")
    try:
        raw.execute("BEGIN IMMEDIATE")
    except raw_sqlite3.OperationalError as busy:
        raise WriterBusy from busy
    finally:
        raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def aware(moment: datetime) -> datetime:
    """Aware UTC: SQLite hands datetimes back without their zone (PostgreSQL with it)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def utcnow() -> datetime:
    """Aware UTC from the one clock (bot/core/clock.py): SQLModel's datetime columns store UTC."""
    return clock.now()


def make_engine(url: str) -> Engine:
    """Create an engine; on SQLite, every connection gets WAL, a busy timeout and foreign keys."""
    connect_args: dict[str, Any] = {}
    if url.startswith("sqlite"):
        connect_args = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    engine = create_engine(url, connect_args=connect_args)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # pysqlite's own transaction handling breaks savepoints; we emit BEGIN ourselves.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:
            # A writer takes the lock up front: a deferred transaction that read first would
            # fail at once (SQLITE_BUSY_SNAPSHOT) instead of waiting when another wrote
            # meanwhile. Only `Database.connect()`, which never writes, reads without it.
            if conn.info.get("reads_only"):
                conn.exec_driver_sql("BEGIN")
            elif _on_the_loop.get():
                _take_the_writer_or_give_up(conn)
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Database:
    """The engine, and the one way to open a transaction on it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # SQLite has one writer at a time, and a writer that finds the lock taken polls for
        # it with sleeps of up to 100 ms. Our own threads queue on a mutex instead, which
        # hands the lock over at once; other processes still meet the busy timeout.
        # Reentrant: `call` holds it around work that opens the unit in the same thread.
        self._lock = threading.RLock() if engine.dialect.name == "sqlite" else None
        self._writer: AbstractContextManager[Any] = self._lock or nullcontext()

    async def call(self, work: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Database work asked for by the event loop: the one way the loop reaches the database.

        On SQLite it runs right here: a step is about a millisecond of work on a local file,
        and handing it to a thread and back cost more than the work itself (Let go's steps
        26 % faster, bench/flow_steps.py). The loop never waits for a writer, though:
        - a thread of ours holds it (the schedule's fill, a nudge tick): a thread waits for
          it to be free, then the work runs here. (Sent to a thread instead, the work would
          hold the writer whenever the loop next looked, and every chat's work after it
          would follow it into the thread.)
        - another process holds it (found by a BEGIN IMMEDIATE that does not wait): the
          work runs in a thread, which waits for it.
        On PostgreSQL (round trips over the network) it always runs in a thread.
        Off this path on purpose: long work with a thread of its own (the schedule's fill,
        the nudge tick), the readiness probe (it must answer while the database hangs) and
        the worker's PostgreSQL lock, which keeps its own connection.
        """
        while self._lock is not None:
            if not self._lock.acquire(blocking=False):
                await asyncio.to_thread(self._wait_for_the_writer)
                continue
            token = _on_the_loop.set(True)
            try:
                return work(*args, **kwargs)
            except WriterBusy:
                break
            finally:
                _on_the_loop.reset(token)
                self._lock.release()
        return await asyncio.to_thread(work, *args, **kwargs)

    def _wait_for_the_writer(self) -> None:
        assert self._lock is not None
        with self._lock:
            pass

    @classmethod
    def at(cls, url: str) -> Database:
        return cls(make_engine(url))

    @contextmanager
    def unit(self) -> Iterator[Connection]:
        """One transaction for one piece of work (bot/core/work.py hands it to services)."""
        self._alone("a unit of work")
        with self._writer, self.engine.connect() as conn, conn.begin():
            token = _unit.set(conn)
            try:
                yield conn
            finally:
                _unit.reset(token)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A write transaction of a store's own, for the edge (the intake, the sender)."""
        with self.unit() as conn:
            yield conn

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for reading, outside any unit."""
        self._alone("a read")
        with self.engine.connect() as conn:
            conn.info["reads_only"] = True
            try:
                yield conn
            finally:
                conn.info.pop("reads_only", None)

    @staticmethod
    def _alone(what: str) -> None:
        """Work inside a unit is handed the unit's connection; opening another here would
        commit apart from it (or, on SQLite, wait forever for the writer this thread holds)."""
        if _unit.get() is not None:
            raise RuntimeError(f"{what} opened inside a unit of work: pass the unit's `tx`")

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


# PostgreSQL advisory lock keys (one bigint namespace; chat ids never reach these).
MIGRATION_LOCK = 0x75_73_63_6F_61_63_68_01  # "uscoach" + 1: a migration is running


def upgrade(engine: Engine) -> list[str]:
    """Bring the schema to the newest migration; returns the revisions this call applied.

    On PostgreSQL it holds an advisory lock for the whole transaction, so several processes
    may run it at once: the first applies, the others wait and then find nothing to do.
    (SQLite's BEGIN IMMEDIATE serialises the same way.)
    """
    if current_revision(engine) == HEAD:
        return []
    from alembic import command
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = alembic_config(str(engine.url.render_as_string(hide_password=False)))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        before = MigrationContext.configure(connection).get_current_revision()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        after = MigrationContext.configure(connection).get_current_revision()
    if before == after:
        return []
    scripts = ScriptDirectory.from_config(config)
    return [s.revision for s in scripts.iterate_revisions(after, before)][::-1]


def pending_migrations(engine: Engine) -> list[str]:
    """Migrations the database still lacks (web and worker refuse to start until none)."""
    current = current_revision(engine)
    if current == HEAD:
        return []
    from alembic.script import ScriptDirectory

    config = alembic_config(str(engine.url.render_as_string(hide_password=False)))
    head = ScriptDirectory.from_config(config).get_current_head()
    if current == head:
        return []
    scripts = ScriptDirectory.from_config(config)
    return [s.revision for s in scripts.iterate_revisions(head, current)][::-1]


def current_revision(engine: Engine) -> str | None:
    """The database's migration, read from Alembic's own table (None: a new database)."""
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:  # no table yet
        return None
