"""The queue of voice notes to hear: kept before the note counts as received, claimed with a
lease by the process that listens to it (a process that dies gives it back when the lease
runs out), and done in the same transaction as the answer it caused."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, insert, or_, select, update

from bot.storage.db import Database, aware
from bot.storage.tables import VOICE_NOTES

WAITING, HEARD = "waiting", "heard"  # a note that is done is deleted
# Long enough for a five-minute note on a slow machine; a dead listener's note comes back then.
LEASE = timedelta(minutes=3)
# A heard note whose speaker never chose "Use this" or "Type it instead" is forgotten then.
KEEP_HEARD = timedelta(days=1)


@dataclass(frozen=True)
class Note:
    id: int
    update_id: int
    person_id: int
    first_name: str
    language_code: str | None
    chat_id: int
    message_id: int
    couple_id: int | None
    in_group: bool
    file_id: str
    seconds: int
    status: str
    attempts: int
    transcript: str | None


def _note(row: object) -> Note:
    return Note(**{name: getattr(row, name) for name in Note.__dataclass_fields__})


class VoiceNotes:
    def __init__(self, db: Database, lease: timedelta = LEASE) -> None:
        self.db = db
        self.lease = lease

    def add(self, conn: Connection, note: Note, now: datetime) -> int:
        """Queue a note. Its turn comes after its couple's (or person's) notes still waiting,
        by their length: a fair queue between couples, in order within one."""
        owner = (
            VOICE_NOTES.c.couple_id == note.couple_id
            if note.couple_id is not None
            else VOICE_NOTES.c.person_id == note.person_id
        )
        last = conn.execute(
            select(VOICE_NOTES.c.turn, VOICE_NOTES.c.seconds)
            .where(owner, VOICE_NOTES.c.status == WAITING)
            .order_by(VOICE_NOTES.c.turn.desc())
            .limit(1)
        ).first()
        turn = now
        if last is not None:
            previous = aware(last.turn) + timedelta(seconds=max(last.seconds, 1))
            turn = max(now, previous)
        values = {name: getattr(note, name) for name in Note.__dataclass_fields__ if name != "id"}
        values.update(status=WAITING, turn=turn, attempts=0, transcript=None, created_at=now)
        result = conn.execute(insert(VOICE_NOTES).values(**values))
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def claim(self, now: datetime) -> Note | None:
        """The waiting note whose turn is first, held for this process for a lease."""
        with self.db.begin() as conn:
            for row in conn.execute(
                select(VOICE_NOTES)
                .where(
                    VOICE_NOTES.c.status == WAITING,
                    or_(VOICE_NOTES.c.claimed_until.is_(None), VOICE_NOTES.c.claimed_until < now),
                )
                .order_by(VOICE_NOTES.c.turn, VOICE_NOTES.c.id)
                .limit(5)
            ):
                took = conn.execute(
                    update(VOICE_NOTES)
                    .where(
                        VOICE_NOTES.c.id == row.id,
                        VOICE_NOTES.c.status == WAITING,
                        or_(
                            VOICE_NOTES.c.claimed_until.is_(None),
                            VOICE_NOTES.c.claimed_until < now,
                        ),
                    )
                    .values(claimed_until=now + self.lease, attempts=VOICE_NOTES.c.attempts + 1)
                )
                if took.rowcount == 1:
                    return replace(_note(row), attempts=row.attempts + 1)
        return None

    def get(self, conn: Connection, note_id: int) -> Note | None:
        row = conn.execute(select(VOICE_NOTES).where(VOICE_NOTES.c.id == note_id)).first()
        return _note(row) if row is not None else None

    def hear(self, conn: Connection, note_id: int, transcript: str | None) -> bool:
        """A waiting note was heard: kept with its transcript for the speaker's choice, or,
        with None, done (nothing to choose). False when another process already answered it
        (this one must not answer again)."""
        mine = (VOICE_NOTES.c.id == note_id) & (VOICE_NOTES.c.status == WAITING)
        if transcript is None:
            return conn.execute(delete(VOICE_NOTES).where(mine)).rowcount == 1
        done = conn.execute(
            update(VOICE_NOTES)
            .where(mine)
            .values(status=HEARD, transcript=transcript, claimed_until=None)
        )
        return done.rowcount == 1

    def choose(self, conn: Connection, note_id: int) -> bool:
        """The speaker chose: the note and its transcript are gone (once)."""
        done = conn.execute(
            delete(VOICE_NOTES).where(VOICE_NOTES.c.id == note_id, VOICE_NOTES.c.status == HEARD)
        )
        return done.rowcount == 1

    def release(self, note_id: int, retry_at: datetime) -> None:
        """Give a note back (a failed fetch): it is tried again at `retry_at`."""
        with self.db.begin() as conn:
            conn.execute(
                update(VOICE_NOTES)
                .where(VOICE_NOTES.c.id == note_id, VOICE_NOTES.c.status == WAITING)
                .values(claimed_until=retry_at)
            )

    @staticmethod
    def forget(conn: Connection, person: int) -> None:
        conn.execute(delete(VOICE_NOTES).where(VOICE_NOTES.c.person_id == person))

    def reclaim(self) -> int:
        """Clear every claim (a lone process at start-up: the claims were its own)."""
        with self.db.begin() as conn:
            done = conn.execute(
                update(VOICE_NOTES)
                .where(VOICE_NOTES.c.status == WAITING, VOICE_NOTES.c.claimed_until.is_not(None))
                .values(claimed_until=None)
            )
        return int(done.rowcount or 0)

    @staticmethod
    def purge(conn: Connection, now: datetime) -> int:
        """Heard notes nobody chose for a day leave no trace."""
        gone = conn.execute(
            delete(VOICE_NOTES).where(
                VOICE_NOTES.c.status == HEARD, VOICE_NOTES.c.created_at < now - KEEP_HEARD
            )
        )
        return int(gone.rowcount or 0)
