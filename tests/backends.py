"""The databases a test can run on: a fresh SQLite file, or a fresh PostgreSQL database.

PostgreSQL comes from TEST_POSTGRES_URL (default: the role and database that
`scripts/postgres` makes; `.ci/run` runs it). Each test gets a database of its own, made
from that connection and dropped afterwards, so tests on every core never meet. When the
server cannot be reached, the PostgreSQL half of each test skips with a loud message
naming the reason, as the browser tests do.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

DEFAULT_POSTGRES = "postgresql+psycopg://uscoach:uscoach@127.0.0.1:5432/uscoach"


@cache
def postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used for tests, or None when it can."""
    url = os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed"
    try:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # the reason is what we report
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        where = make_url(url).render_as_string()
        return f"PostgreSQL at {where} unreachable ({first}); run scripts/postgres"
    return None


def _skip_loudly(reason: str) -> None:
    print(f"\n*** POSTGRESQL TESTS SKIPPED: {reason} ***\n", file=sys.stderr)
    pytest.skip(f"POSTGRESQL TESTS SKIPPED: {reason}")


@contextmanager
def fresh_postgres() -> Iterator[str]:
    """A new, empty database on the test server; its URL; dropped afterwards."""
    problem = postgres_problem()
    if problem:
        _skip_loudly(problem)
    base = make_url(os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES))
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        _drop(admin, name)
        admin.dispose()


def _drop(admin: Engine, name: str) -> None:
    """Drop a test's database. FORCE cannot end a session of another role (an autovacuum
    worker that just started on it), so try again briefly, then leave it: a leftover in a
    throwaway cluster costs nothing, a failed teardown costs a red run."""
    for attempt in range(10):
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        except DBAPIError:
            time.sleep(0.5 * (attempt + 1))
    print(f"could not drop the test database {name}; left behind", file=sys.stderr)


BACKENDS = ["sqlite", "postgres"]
# A test marked @BOTH runs once on each (its fixtures take `database_url`, which follows it).
BOTH = pytest.mark.parametrize("backend", BACKENDS, indirect=True)
