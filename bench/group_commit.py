"""What group commit would gain: one unit of work per update, against units grouped by N with
a savepoint each (so one failing update still rolls back alone), on SQLite and PostgreSQL.

    python bench/group_commit.py [--works 2000] [--group 20] [--postgres URL]

Each work is one small write (an UPDATE of a partner row, as remembering a Telegram language
is). Printed: microseconds per work, right after start (the first round) and warm. PostgreSQL
is skipped when it cannot be reached (`scripts/postgres` starts a local one).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Connection, text

from bot.storage.db import Database, upgrade

POSTGRES = "postgresql+psycopg://uscoach:uscoach@127.0.0.1:5432/uscoach"
WORK = text("UPDATE partner SET hushed = hushed WHERE id = 1")


def work(conn: Connection) -> None:
    conn.execute(WORK)


def alone(db: Database, works: int) -> float:
    began = time.perf_counter()
    for _ in range(works):
        with db.unit() as conn:
            work(conn)
    return (time.perf_counter() - began) / works * 1e6


def grouped(db: Database, works: int, group: int, savepoints: bool) -> float:
    began = time.perf_counter()
    for _ in range(works // group):
        with db.unit() as conn:
            for _ in range(group):
                if savepoints:
                    with conn.begin_nested():
                        work(conn)
                else:
                    work(conn)
    return (time.perf_counter() - began) / works * 1e6


def measure(name: str, db: Database, works: int, group: int) -> None:
    for round_ in ("first", "warm"):
        each = alone(db, works)
        saved = grouped(db, works, group, True)
        bare = grouped(db, works, group, False)
        print(
            f"{name:<11} {round_:<6} unit each {each:7.0f} us | grouped by {group} with "
            f"savepoints {saved:7.0f} us ({saved / each:.2f}x) | without {bare:7.0f} us "
            f"({bare / each:.2f}x)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--works", type=int, default=2000)
    parser.add_argument("--group", type=int, default=20)
    parser.add_argument("--postgres", default=POSTGRES)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database.at(f"sqlite:///{tmp}/bench.db")
        upgrade(db.engine)
        measure("sqlite", db, args.works, args.group)
        db.dispose()
    try:
        db = Database.at(args.postgres)
        upgrade(db.engine)
    except Exception as exc:  # no server here: say so, measure the rest
        print(f"postgresql  skipped ({type(exc).__name__})")
        return
    measure("postgresql", db, args.works, args.group)
    db.dispose()


if __name__ == "__main__":
    main()
