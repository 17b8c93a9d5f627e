"""The `partner` table's one writer: every change to a person's row is a method here.

Each method takes the caller's connection (its unit of work) and writes nothing else, so
what a person's row can become is read in one place; `tests/test_layers.py` checks that
no other module writes the table.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, func, insert, update

from bot.storage.tables import PARTNERS

_ME = PARTNERS.c.id == bindparam("person")

# Writing to us means they can be reached; a name or a Telegram language they no longer
# send is kept as it was.
_REFRESH = (
    update(PARTNERS)
    .where(_ME)
    .values(
        first_name=func.coalesce(func.nullif(bindparam("name"), ""), PARTNERS.c.first_name),
        language_code=func.coalesce(bindparam("telegram_language"), PARTNERS.c.language_code),
        unreachable=False,
    )
)
_REMEMBER = (
    update(PARTNERS)
    .where(_ME, PARTNERS.c.language_code.is_distinct_from(bindparam("code")))
    .values(language_code=bindparam("code"))
)


def _set(conn: Connection, person: int, **values: object) -> int:
    """Set columns of one person's row; how many rows changed (0: no such person)."""
    return conn.execute(update(PARTNERS).where(PARTNERS.c.id == person).values(**values)).rowcount


def _flip(conn: Connection, person: int, flag: str, to: bool) -> bool:
    """Turn a flag to `to` if it was the other way; whether it was."""
    column = PARTNERS.c[flag]
    changed = conn.execute(
        update(PARTNERS).where(PARTNERS.c.id == person, column.is_(not to)).values({flag: to})
    )
    return bool(changed.rowcount)


class Partners:
    @staticmethod
    def register(
        conn: Connection, person: int, name: str, language_code: str | None, now: datetime
    ) -> bool:
        """Create or refresh the person's row; True when the person is new."""
        values = {"person": person, "name": name[:128], "telegram_language": language_code}
        if conn.execute(_REFRESH, values).rowcount:
            return False
        conn.execute(
            insert(PARTNERS).values(
                id=person,
                first_name=name[:128] or "Partner",
                language_code=language_code,
                unreachable=False,
                quiet_start="22:00",
                quiet_end="08:00",
                created_at=now,
            )
        )
        return True

    @staticmethod
    def remember_language(conn: Connection, person: int, code: str) -> None:
        """Keep a person's Telegram language as Telegram last said it (they may change it)."""
        conn.execute(_REMEMBER, {"person": person, "code": code[:16]})

    @staticmethod
    def set_language(conn: Connection, person: int, language: str | None) -> None:
        _set(conn, person, language=language)

    @staticmethod
    def set_form(conn: Connection, person: int, form: str) -> bool:
        """How a gendered language addresses them; False when they have no row."""
        return bool(_set(conn, person, form=form))

    @staticmethod
    def set_country(conn: Connection, person: int, country: str) -> None:
        _set(conn, person, country=country)

    @staticmethod
    def set_quiet_hours(conn: Connection, person: int, start: str, end: str) -> None:
        _set(conn, person, quiet_start=start, quiet_end=end)

    @staticmethod
    def hush(conn: Connection, person: int) -> None:
        """Pause the person's private nudges quietly (after a safety answer)."""
        _set(conn, person, hushed=True)

    @staticmethod
    def unhush(conn: Connection, person: int) -> bool:
        """Lift a quiet pause; whether there was one."""
        return _flip(conn, person, "hushed", False)

    @staticmethod
    def note_safety_answer(
        conn: Connection, person: int, now: datetime, check_at: datetime
    ) -> None:
        """A safety answer was given now; one gentle check is due at `check_at` (a check
        already planned stays: one per answer, not one per message)."""
        _set(conn, person, safety_at=now)
        conn.execute(
            update(PARTNERS)
            .where(PARTNERS.c.id == person, PARTNERS.c.safety_check_at.is_(None))
            .values(safety_check_at=check_at)
        )

    @staticmethod
    def take_safety_check(conn: Connection, person: int, due_at: datetime) -> bool:
        """Claim the check due at `due_at`; False when another process took it."""
        taken = conn.execute(
            update(PARTNERS)
            .where(PARTNERS.c.id == person, PARTNERS.c.safety_check_at == due_at)
            .values(safety_check_at=None)
        )
        return bool(taken.rowcount)

    @staticmethod
    def mark_unreachable(conn: Connection, person: int) -> bool:
        """They blocked us; True the first time."""
        return _flip(conn, person, "unreachable", True)

    @staticmethod
    def seat(conn: Connection, person: int, couple: int, seat: int) -> bool:
        """Seat a person not in a couple yet; False when they are in one (or unknown)."""
        seated = conn.execute(
            update(PARTNERS)
            .where(PARTNERS.c.id == person, PARTNERS.c.couple_id.is_(None))
            .values(couple_id=couple, seat=seat)
        )
        return bool(seated.rowcount)

    @staticmethod
    def unseat_couple(conn: Connection, couple: int) -> None:
        conn.execute(
            update(PARTNERS).where(PARTNERS.c.couple_id == couple).values(couple_id=None, seat=None)
        )

    @staticmethod
    def mark_couple_ended(conn: Connection, person: int) -> None:
        """Their partner left quietly: they learn it once, when they next ask for something."""
        _set(conn, person, couple_ended=True)

    @staticmethod
    def clear_couple_ended(conn: Connection, person: int) -> bool:
        """True when there was an ended couple to tell them about."""
        return _flip(conn, person, "couple_ended", False)

    @staticmethod
    def forget(conn: Connection, person: int) -> None:
        conn.execute(delete(PARTNERS).where(PARTNERS.c.id == person))
