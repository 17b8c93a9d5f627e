"""The data layer on real SQLite files and real PostgreSQL databases, created by the
production migrations."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.storage.couples import Couples
from bot.storage.db import Database, make_engine, upgrade, utcnow
from bot.storage.inbox import Inbox, Stored
from bot.storage.models import Couple, Partner
from bot.storage.rows import CoupleRow, PartnerRow, RunRow
from bot.storage.tables import COUPLES, METADATA
from tests.backends import BOTH


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.mark.parametrize(
    ("row", "table"), [(CoupleRow, "couple"), (PartnerRow, "partner"), (RunRow, "flowrun")]
)
def test_the_rows_services_read_have_their_tables_columns(row: type, table: str) -> None:
    """A column added to a table (and read with `select(TABLE)`) must be a row field too, or
    reading it fails; a field the table lacks would never be filled."""
    columns = {c.name for c in METADATA.tables[table].columns}
    assert {f.name for f in fields(row)} == columns


def test_a_row_is_read_straight_from_the_table(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'rows.db'}")
    upgrade(engine)
    with engine.begin() as conn:
        made = Couples.create(conn, "Europe/Berlin", utcnow())
        row = conn.execute(select(COUPLES).where(COUPLES.c.id == made)).mappings().one()
        couple = CoupleRow(**row)
        assert (couple.id, couple.timezone, couple.paused) == (made, "Europe/Berlin", False)
        changed = Couples.change(conn, made, lambda c: setattr(c, "meeting_time", "19:30"))
        assert changed is not None and changed.meeting_time == "19:30"
        assert conn.execute(select(COUPLES.c.meeting_time)).scalar() == "19:30"
    engine.dispose()


@BOTH
def test_migrations_match_the_tables(engine: Engine) -> None:
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), METADATA) == []


def test_head_is_alembics_newest_migration(engine: Engine) -> None:
    """`HEAD` lets a start skip Alembic; a migration added without moving it fails here."""
    from alembic.script import ScriptDirectory

    from bot.storage.db import HEAD, alembic_config, current_revision

    config = alembic_config(str(engine.url))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD
    assert current_revision(engine) == HEAD


def test_a_start_on_a_current_database_loads_no_alembic(tmp_path: Path) -> None:
    """Migrated once; the next process only reads the version row (Alembic's 11 MB stay
    out of every process that finds nothing to do)."""
    url = f"sqlite:///{tmp_path / 'current.db'}"
    upgrade(make_engine(url))
    script = (
        "import sys; from bot.storage.db import make_engine, upgrade, pending_migrations; "
        f"e = make_engine({url!r}); print(upgrade(e), pending_migrations(e), "
        "any(m.startswith('alembic') for m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["[]", "[]", "False"]


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(engine: Engine) -> None:
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar_one() >= 5000


@BOTH
def test_upgrade_is_repeatable_and_keeps_data(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(Couple(timezone="UTC", created_at=utcnow()))
        session.commit()
    upgrade(engine)
    with Session(engine) as session:
        assert session.get(Couple, 1) is not None


def _couple_with(engine: Engine, *seats: int) -> int:
    with Session(engine) as session:
        couple = Couple(timezone="UTC", created_at=utcnow())
        session.add(couple)
        session.commit()
        assert couple.id is not None
        for n, seat in enumerate(seats):
            session.add(
                Partner(
                    id=couple.id * 100 + n,
                    first_name="P",
                    couple_id=couple.id,
                    seat=seat,
                    created_at=utcnow(),
                )
            )
        session.commit()
        return couple.id


@BOTH
def test_a_couple_has_at_most_two_partners(engine: Engine) -> None:
    _couple_with(engine, 1, 2)
    with pytest.raises(IntegrityError):
        _couple_with(engine, 1, 2, 2)
    with pytest.raises(IntegrityError):
        _couple_with(engine, 3)


@BOTH
def test_a_partner_in_a_couple_has_a_seat(engine: Engine) -> None:
    with Session(engine) as session:
        couple = Couple(timezone="UTC", created_at=utcnow())
        session.add(couple)
        session.commit()
        session.add(
            Partner(id=5, first_name="P", couple_id=couple.id, seat=None, created_at=utcnow())
        )
        with pytest.raises(IntegrityError):
            session.commit()


@BOTH
def test_a_group_belongs_to_one_couple(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(Couple(timezone="UTC", group_chat_id=-5, created_at=utcnow()))
        session.add(Couple(timezone="UTC", group_chat_id=-5, created_at=utcnow()))
        with pytest.raises(IntegrityError):
            session.commit()


@BOTH
def test_an_update_is_claimed_once(engine: Engine) -> None:
    inbox = Inbox(Database(engine))
    inbox.store([Stored(42, 7, {"update_id": 42, "message": {"text": "private words"}})])
    inbox.store([Stored(42, 7, {"update_id": 42})])  # redelivered: the first copy stays
    assert [s.update_id for s in inbox.pending()] == [42]
    with engine.begin() as conn:
        assert inbox.claim(conn, 42)
    with engine.begin() as conn:
        assert not inbox.claim(conn, 42)
        assert inbox.claim(conn, 43)  # never stored (handed over directly): claimed once too
    assert inbox.pending() == []
    assert inbox.next_offset() == 44
    with engine.connect() as conn:  # once handled, what the person wrote is gone
        payloads = conn.execute(text("SELECT payload FROM inboxupdate")).scalars().all()
    assert all("private words" not in str(p) for p in payloads)


@BOTH
def test_a_claim_rolled_back_with_its_work_leaves_the_update_to_do(engine: Engine) -> None:
    inbox = Inbox(Database(engine))
    inbox.store([Stored(5, 7, {"update_id": 5})])
    db = Database(engine)
    with pytest.raises(RuntimeError), db.unit() as conn:
        assert inbox.claim(conn, 5)
        raise RuntimeError("killed half-way through the step")
    assert [s.update_id for s in inbox.pending()] == [5]


def test_the_engines_bookkeeping_moves_out_of_older_runs_answers(tmp_path: Path) -> None:
    from alembic import command

    from bot.engine.marks import Marks
    from bot.storage.db import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = make_engine(url)
    config = alembic_config(url)
    with old.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0005")
    with old.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO couple (id, status, timezone, paused, created_at) "
                "VALUES (1, 'active', 'UTC', 0, '2026-01-01')"
            )
        )
        context = (
            '{"struggle": "tired", "_by": {"struggle": 7}, "_seen": [7, 8],'
            ' "_answered": {"8": "yes"}}'
        )
        conn.execute(
            text(
                "INSERT INTO flowrun (id, flow_id, flow_version, couple_id, started_by, state, "
                "step, version, status, roles, context, in_group, created_at, updated_at) VALUES "
                "(1, 'letgo', 1, 1, 7, 'preview', 3, 0, 'active', '{}', :context, 0, "
                "'2026-01-01', '2026-01-01')"
            ),
            {"context": context},
        )
    upgrade(old)
    with old.connect() as conn:
        row = conn.execute(text("SELECT context, marks FROM flowrun")).one()
    import json

    assert json.loads(row.context) == {"struggle": "tired"}
    marks = Marks.from_json(json.loads(row.marks))
    assert marks.seen == [7, 8] and marks.by == {"struggle": 7}
    assert marks.authored_by({"struggle": "tired"}, 7) == {"struggle": "tired"}
    assert marks.authored_by({"struggle": "tired"}, 8) == {"answered": "yes"}
    old.dispose()


def test_buttons_pressed_in_a_run_in_flight_are_still_said_in_each_language(
    tmp_path: Path,
) -> None:
    """Migration 0016 keeps a pressed button as a value (`<save>_label`: the button and its
    English) instead of English plus a hidden `_<save>_ref`; a run in flight across the
    upgrade still says its partner's choice in the reader's language, and it goes back."""
    import json

    from alembic import command

    from bot import PROJECT_ROOT
    from bot.engine.loading import load_flows
    from bot.engine.run import Member, Run
    from bot.engine.runner import FlowRunner
    from bot.storage.db import alembic_config
    from bot.words.texts import Renderer

    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = make_engine(url)
    config = alembic_config(url)
    with old.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0015")
    before = {
        "struggle": "tired",
        "support_kind": "listen",
        "support_kind_label": "Just listen",
        "_support_kind_ref": "letgo:choose_support.listen",
        "picked": ["listen", "space"],
        "_picked_refs": ["letgo:choose_support.listen", "letgo:choose_support.space"],
    }
    with old.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO couple (id, status, timezone, paused, created_at) "
                "VALUES (1, 'active', 'UTC', 0, '2026-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO flowrun (id, flow_id, flow_version, couple_id, started_by, state, "
                "step, version, status, roles, context, marks, in_group, created_at, "
                "updated_at) VALUES (1, 'leanin', 1, 1, 7, 'asked_for', 3, 0, 'active', "
                "'{}', :context, '{}', 0, '2026-01-01', '2026-01-01')"
            ),
            {"context": json.dumps(before)},
        )
    upgrade(old)
    with old.connect() as conn:
        after = json.loads(conn.execute(text("SELECT context FROM flowrun")).scalar_one())
    listen = {"button": "letgo:choose_support.listen", "label": "Just listen"}
    assert after == {
        "struggle": "tired",
        "support_kind": "listen",
        "support_kind_label": listen,
        "picked": ["listen", "space"],
        "picked_labels": [
            {"button": "letgo:choose_support.listen", "label": ""},
            {"button": "letgo:choose_support.space", "label": ""},
        ],
    }
    flows = load_flows(PROJECT_ROOT / "flows", PROJECT_ROOT / "prompts")
    runner = FlowRunner(flows, Renderer(PROJECT_ROOT / "prompts"))
    run = Run("leanin", "asked_for", 3, {}, after, in_group=False)
    said = runner._variables(flows["leanin"], run, {7: Member(7, "Alex")})
    assert said["support_kind_label"].in_("de") == "Einfach zuhören"
    assert [w.in_("es") for w in said["picked_labels"]][1] == "Un poco de espacio"
    with old.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0015")
    with old.connect() as conn:
        back = json.loads(conn.execute(text("SELECT context FROM flowrun")).scalar_one())
    assert back == before
    old.dispose()


@BOTH
def test_an_outbox_id_is_never_handed_out_twice(engine: Engine) -> None:
    """A sender may still hold the id of a message it sent; a new message (e.g. the goodbye
    after /forget deleted the rest) must not get that id, or it would be skipped."""
    from bot.core.outbox import Outgoing
    from bot.storage.outbox import Outbox

    db = Database(engine)
    outbox = Outbox(db)
    with db.unit() as conn:
        first = outbox.put(conn, [Outgoing(1, "first")])[0].id
    outbox.sent_many([first])
    with db.unit() as conn:
        second = outbox.put(conn, [Outgoing(1, "second")])[0].id
    assert second != first


@BOTH
async def test_database_work_runs_on_the_loop_on_sqlite_and_waits_for_our_threads_off_it(
    engine: Engine,
) -> None:
    """`Database.call`: on SQLite a step runs on the event loop (a hand-off to a thread cost
    more than the step). While a thread of ours holds the writer, the work waits without
    stopping the loop, then runs on it. On PostgreSQL it always runs in a thread (network
    round trips), side by side with other transactions."""
    import threading

    db = Database(engine)
    loop_thread = threading.get_ident()

    def where(_tag: str) -> bool:  # True: ran on the loop's own thread
        with db.unit() as conn:
            conn.execute(text("SELECT 1"))
        return threading.get_ident() == loop_thread

    sqlite = engine.dialect.name == "sqlite"
    assert await db.call(where, "free") is sqlite
    holding, release = threading.Event(), threading.Event()

    def hold_the_writer() -> None:
        with db.unit():
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold_the_writer)
    holder.start()
    assert holding.wait(10)
    try:
        waiting = asyncio.ensure_future(db.call(where, "held"))
        ticks = 0
        for _ in range(5):
            await asyncio.sleep(0.01)  # the loop runs meanwhile
            ticks += 1
        # SQLite: the work waits for the writer. PostgreSQL has no writer to wait for.
        assert ticks == 5 and waiting.done() is not sqlite
    finally:
        release.set()
    assert await waiting is sqlite  # once free, on the loop (SQLite)
    holder.join(10)


async def test_work_on_the_loop_never_waits_for_another_process_and_is_done_once(
    tmp_path: Path,
) -> None:
    """Another connection (as another process would) holds SQLite's writer: the work gives
    up at its first BEGIN, before doing anything, and is done once, in a thread."""
    import sqlite3
    import threading

    path = tmp_path / "coach.db"
    db = Database.at(f"sqlite:///{path}")
    upgrade(db.engine)
    inbox = Inbox(db)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    threads: list[int] = []

    def finish() -> None:
        threads.append(threading.get_ident())
        inbox.finish(7)

    done = asyncio.ensure_future(db.call(finish))
    await asyncio.sleep(0.05)  # the loop runs meanwhile: nothing here waits for the writer
    assert not done.done()
    other.execute("COMMIT")
    await done
    other.close()
    loop_thread = threading.get_ident()
    assert threads[0] == loop_thread and threads[-1] != loop_thread  # tried here, done there
    with db.connect() as conn:
        claimed = conn.execute(text("SELECT count(*) FROM inboxupdate WHERE update_id = 7"))
        assert claimed.scalar() == 1
    threads.clear()
    await db.call(finish)  # and, the writer free again, the work runs on the loop
    assert threads == [loop_thread]
    db.dispose()
