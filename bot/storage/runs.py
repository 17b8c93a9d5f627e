"""Flow runs in the database, on SQLAlchemy Core: every step of every flow goes through here.

Core rather than ORM sessions because this is the hot path (see bench/flow_steps.py):
a step reads its run and the couple in one query and writes in one statement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.engine.marks import Marks
from bot.engine.runner import Member, Run
from bot.storage.rows import RunRow
from bot.storage.tables import COUPLES, PARTNERS, RUNS
from bot.words.languages import pick

# When a run's step gets its one reminder, and when the run expires.
Timers = tuple[datetime | None, datetime | None, datetime | None]  # remind, expire, wake


@dataclass
class CoupleView:
    """A couple as a flow step needs it: who is in it, where they meet, their active runs."""

    id: int
    group_chat_id: int | None
    members: dict[int, Member]
    runs: list[RunRow] = field(default_factory=list)


def run_view(row: RunRow) -> Run:
    return Run(
        flow_id=row.flow_id,
        state=row.state,
        step=row.step,
        roles=dict(row.roles),
        context=dict(row.context),
        in_group=row.in_group,
        status=row.status,
        break_until=row.break_until,
        marks=Marks.from_json(row.marks),
    )


# The hot path's statements, built once: building a statement costs several times more
# than running it (bench/flow_steps.py), so each step only binds its values.
_COUPLE = (
    select(
        COUPLES.c.group_chat_id,
        PARTNERS.c.id,
        PARTNERS.c.first_name,
        PARTNERS.c.language,
        PARTNERS.c.language_code,
    )
    .select_from(COUPLES.outerjoin(PARTNERS, PARTNERS.c.couple_id == COUPLES.c.id))
    .where(COUPLES.c.id == bindparam("couple"))
    .order_by(PARTNERS.c.seat)
)
_COUPLE_OF = select(PARTNERS.c.couple_id).where(PARTNERS.c.id == bindparam("person"))
_ACTIVE_RUNS = (
    select(RUNS)
    .where(RUNS.c.couple_id == bindparam("couple"), RUNS.c.status == "active")
    .order_by(RUNS.c.updated_at.desc(), RUNS.c.id.desc())
)
_RUN = select(RUNS).where(RUNS.c.id == bindparam("run"))
_STEP_FIELDS = (
    "state",
    "step",
    "roles",
    "context",
    "marks",
    "status",
    "break_until",
    "updated_at",
)
_WRITE = (
    update(RUNS)
    .where(RUNS.c.id == bindparam("run"), RUNS.c.version == bindparam("seen"))
    .values(
        {name: bindparam(name) for name in _STEP_FIELDS}
        | {
            "version": bindparam("next_version"),
            "active_key": bindparam("key"),
            "ended_at": bindparam("ended"),
        }
    )
)
_END = (
    update(RUNS)
    .where(RUNS.c.id == bindparam("run"), RUNS.c.status == "active")
    .values(
        status=bindparam("status"),
        active_key=None,
        ended_at=bindparam("now"),
        updated_at=bindparam("now"),
        version=RUNS.c.version + 1,
    )
)
_INSERT = insert(RUNS)
_WRITE_NEW_STEP = _WRITE.values(
    remind_at=bindparam("remind"),
    expires_at=bindparam("expires"),
    wake_at=bindparam("wake"),
    reminded_step=None,
)


class RunStore:
    """The flow runs' store: every method works in the connection of the unit it is given."""

    @staticmethod
    def couple(conn: Connection, couple_id: int) -> CoupleView | None:
        rows = conn.execute(_COUPLE, {"couple": couple_id}).all()
        if not rows:
            return None
        members = {
            r.id: Member(r.id, r.first_name, pick(r.language, r.language_code))
            for r in rows
            if r.id is not None
        }
        return CoupleView(couple_id, rows[0].group_chat_id, members)

    @classmethod
    def couple_of(cls, conn: Connection, person_id: int) -> CoupleView | None:
        """The person's couple with its active runs (newest first)."""
        couple_id = conn.execute(_COUPLE_OF, {"person": person_id}).scalar()
        if couple_id is None:
            return None
        view = cls.couple(conn, couple_id)
        if view is None:
            return None
        view.runs = [
            RunRow(**row) for row in conn.execute(_ACTIVE_RUNS, {"couple": couple_id}).mappings()
        ]
        return view

    @classmethod
    def load(cls, conn: Connection, run_id: int) -> tuple[RunRow, CoupleView] | None:
        row = conn.execute(_RUN, {"run": run_id}).mappings().first()
        if row is None:
            return None
        run = RunRow(**row)
        view = cls.couple(conn, run.couple_id)
        return (run, view) if view is not None else None

    @staticmethod
    def insert(
        conn: Connection,
        *,
        flow_id: str,
        flow_version: int,
        couple_id: int,
        starter: int,
        run: Run,
        key: str | None,
        now: datetime,
        timers: Timers = (None, None, None),
    ) -> RunRow | None:
        """Insert a run; None when `key` is already active (someone started one just now)."""
        values: dict[str, Any] = dict(
            flow_id=flow_id,
            flow_version=flow_version,
            couple_id=couple_id,
            started_by=starter,
            state=run.state,
            step=run.step,
            version=0,
            status=run.status,
            roles=run.roles,
            context=run.context,
            marks=run.marks.to_json(),
            active_key=key if run.status == "active" else None,
            in_group=run.in_group,
            break_until=run.break_until,
            created_at=now,
            updated_at=now,
            ended_at=now if run.status != "active" else None,
            remind_at=timers[0],
            expires_at=timers[1],
            wake_at=timers[2],
            reminded_step=None,
        )
        try:
            with conn.begin_nested():
                result = conn.execute(_INSERT, values)
        except IntegrityError:
            return None
        return RunRow(id=result.inserted_primary_key[0], **values)  # type: ignore[index]

    @staticmethod
    def write(
        conn: Connection, row: RunRow, run: Run, now: datetime, timers: Timers | None = None
    ) -> bool:
        """Store the run's next version if nobody changed it since `row` was read.

        `timers` (reminder, expiry) are given when the run entered a new step.
        """
        done = run.status != "active"
        values: dict[str, Any] = {
            "run": row.id,
            "seen": row.version,
            "state": run.state,
            "step": run.step,
            "roles": run.roles,
            "context": run.context,
            "marks": run.marks.to_json(),
            "status": run.status,
            "break_until": run.break_until,
            "updated_at": now,
            "next_version": row.version + 1,
            "key": None if done else row.active_key,
            "ended": now if done else None,
        }
        if timers is None:
            return bool(conn.execute(_WRITE, values).rowcount)
        values |= {"remind": timers[0], "expires": timers[1], "wake": timers[2]}
        return bool(conn.execute(_WRITE_NEW_STEP, values).rowcount)

    @staticmethod
    def mark_reminded(conn: Connection, run: int, step: int) -> bool:
        """Note the reminder for this step, only if the run is still on it."""
        marked = conn.execute(
            update(RUNS).where(RUNS.c.id == run, RUNS.c.step == step).values(reminded_step=step)
        )
        return bool(marked.rowcount)

    @staticmethod
    def scrub(conn: Connection, run: int, **values: Any) -> None:
        """Erasure: what a run keeps once one of its people is forgotten."""
        conn.execute(update(RUNS).where(RUNS.c.id == run).values(**values))

    @staticmethod
    def forget(conn: Connection, runs: list[int]) -> None:
        """Erasure and retention: the transcripts go (agreements detach first)."""
        conn.execute(delete(RUNS).where(RUNS.c.id.in_(runs)))

    @staticmethod
    def clear_reminder(conn: Connection, row: RunRow) -> None:
        conn.execute(update(RUNS).where(RUNS.c.id == row.id).values(remind_at=None))

    @staticmethod
    def end(conn: Connection, row: RunRow, status: str, now: datetime) -> bool:
        """Close an active run (cancelled, expired); False if it had already ended."""
        values = {"run": row.id, "status": status, "now": now}
        return bool(conn.execute(_END, values).rowcount)

    @staticmethod
    def breaks_due(conn: Connection, now: datetime, limit: int) -> list[int]:
        """Runs whose break is over: the one clock's query for breaks."""
        return _due(conn, RUNS.c.break_until, now, limit)

    @staticmethod
    def wakes_due(conn: Connection, now: datetime, limit: int) -> list[int]:
        """Runs whose `wait:` step is over: the one clock's query for waits."""
        return _due(conn, RUNS.c.wake_at, now, limit)


def _due(conn: Connection, moment: Any, now: datetime, limit: int) -> list[int]:
    """Active runs whose `moment` column has come, the earliest first."""
    query = select(RUNS.c.id).where(moment <= now, RUNS.c.status == "active")
    return list(conn.execute(query.order_by(moment).limit(limit)).scalars())
