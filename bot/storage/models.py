"""Tables, named for the couple's world.

Invariants live in the database as well as in code: a partner has one `couple_id`
column (so at most one couple), and `(couple_id, seat)` is unique with seat 1 or 2
(so a couple has at most two partners).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel


class Couple(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(default="active", max_length=16)
    timezone: str = Field(max_length=64)
    # 0 = Monday ... 6 = Sunday (Python's weekday()), not PTB's Sunday-first count.
    meeting_day: int | None = Field(default=None, ge=0, le=6)
    meeting_time: str | None = Field(default=None, max_length=5)  # "HH:MM", couple's local time
    paused: bool = Field(default=False)
    # When the next weekly prompt is due (UTC), derived from day, time and timezone;
    # the scheduler's source of truth. A one-off "tomorrow, same time" is `snooze_at`.
    next_prompt_at: datetime | None = Field(default=None, index=True)
    snooze_at: datetime | None = Field(default=None, index=True)
    group_chat_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, unique=True, nullable=True)
    )
    created_at: datetime
    # The group's language, set with /language in the group; None: the first partner's.
    language: str | None = Field(default=None, max_length=8)


class Partner(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("couple_id", "seat", name="uq_partner_couple_seat"),
        CheckConstraint("seat IS NULL OR seat IN (1, 2)", name="ck_partner_seat"),
        CheckConstraint("(couple_id IS NULL) = (seat IS NULL)", name="ck_partner_couple_seat"),
    )

    # The Telegram user id; private chats with the bot share this id.
    id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    first_name: str = Field(max_length=128)
    language_code: str | None = Field(default=None, max_length=16)  # Telegram's, as sent
    language: str | None = Field(default=None, max_length=8)  # their /language choice
    # The country whose help numbers they chose in /safe (else: timezone, language region).
    country: str | None = Field(default=None, max_length=2)
    # How they are addressed where grammar has gender (Spanish, Arabic): "m", "f" or "n"
    # (without gender); None until they chose (texts then use their neutral wording).
    form: str | None = Field(default=None, max_length=1)
    couple_id: int | None = Field(default=None, foreign_key="couple.id", index=True)
    seat: int | None = None
    unreachable: bool = Field(default=False)
    # No private nudge or reminder in this local window; they wait for its end.
    quiet_start: str = Field(default="22:00", max_length=5)
    quiet_end: str = Field(default="08:00", max_length=5)
    created_at: datetime
    # After a safety answer (bot/safety): when it was given, the one gentle check due the
    # next day, "pause all nudges quietly" (this person's private nudges only, the partner
    # sees no change), and "leave quietly" noted on the partner left behind, who learns the
    # couple ended only when they next use it.
    safety_at: datetime | None = None
    safety_check_at: datetime | None = Field(default=None, index=True)
    hushed: bool = Field(default=False)
    couple_ended: bool = Field(default=False)


class Invite(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=64)
    inviter_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    used_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    revoked: bool = Field(default=False)


class InboxUpdate(SQLModel, table=True):
    """Every update Telegram gave us, stored before Telegram is told we have it.

    `processed_at` is set in the same transaction as the work the update caused, so an
    update is handled exactly once: a crash before that commit leaves it to do again.
    """

    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    # The chat it belongs to: updates of one chat are handled in order.
    chat_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    received_at: datetime
    processed_at: datetime | None = Field(default=None, index=True)


class FlowRun(SQLModel, table=True):
    """One couple's (or one partner's) walk through a flow.

    `step` counts the states entered, so a button made at an earlier step is stale.
    `version` counts every write: each one is `UPDATE ... WHERE id = :id AND
    version = :seen`, so two answers at once can never advance a run twice.
    `active_key` is unique while the run is active and NULL afterwards, which lets
    the database enforce one active run per couple (group flows) or per person.
    """

    id: int | None = Field(default=None, primary_key=True)
    flow_id: str = Field(max_length=64, index=True)
    flow_version: int
    couple_id: int = Field(foreign_key="couple.id", index=True)
    started_by: int = Field(sa_column=Column(BigInteger, nullable=False))
    state: str = Field(max_length=64)
    step: int = Field(default=0)
    version: int = Field(default=0)
    status: str = Field(default="active", max_length=16)
    roles: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    context: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # The engine's bookkeeping (bot/engine/marks.py): who was addressed, answered, wrote what.
    marks: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    active_key: str | None = Field(default=None, max_length=64, unique=True)
    in_group: bool = Field(default=False)
    break_until: datetime | None = Field(default=None, index=True)
    # A `wait:` step moves on by itself at this moment (the one clock finds it).
    wake_at: datetime | None = Field(default=None, index=True)
    # One gentle reminder per step, then the run expires (both set on every new step).
    remind_at: datetime | None = Field(default=None, index=True)
    reminded_step: int | None = None
    expires_at: datetime | None = Field(default=None, index=True)
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None = None


class Agreement(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    couple_id: int = Field(foreign_key="couple.id", index=True)
    run_id: int | None = Field(default=None, foreign_key="flowrun.id")
    author_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    text: str = Field(max_length=4000)
    follow_up: date | None = None
    created_at: datetime
    # The promised check-in: when it is due (the follow-up day at the couple's meeting time),
    # when it went out, and what the couple said (open, working, again, let_go; `history`
    # keeps each answer with its time).
    follow_up_at: datetime | None = Field(default=None, index=True)
    followed_up_at: datetime | None = None
    status: str = Field(default="open", max_length=16)
    history: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )


class NudgeLog(SQLModel, table=True):
    """Every nudge, claimed before it is sent: the unique key makes it exactly once,
    even across restarts, clock changes, or two bot processes on one database."""

    __table_args__ = (UniqueConstraint("couple_id", "kind", "slot", name="uq_nudge_slot"),)

    id: int | None = Field(default=None, primary_key=True)
    couple_id: int = Field(index=True)
    kind: str = Field(max_length=32)  # weekly, snoozed, reminder, ...
    slot: str = Field(max_length=64)  # the scheduled moment (UTC ISO) or run:step
    status: str = Field(default="queued", max_length=16)  # queued (in the outbox), skipped
    claimed_at: datetime


class Timer(SQLModel, table=True):
    """A wake-up the clock owes: at `due_at` the handler of `kind` looks at `key` (a couple,
    or "daily"), does what is due and sets the next wake-up. A taken row carries a lease,
    so a second process skips it and a crash hands it on when the lease runs out."""

    __table_args__ = (UniqueConstraint("kind", "key", name="uq_timer_kind_key"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)  # recap, start_small, onboarding, retention
    key: str = Field(max_length=64)
    due_at: datetime = Field(index=True)
    lease_until: datetime | None = None


class OutboxMessage(SQLModel, table=True):
    """Every message the bot sends, written in the same transaction as the change that
    produced it and deleted once Telegram accepted it (or refused it for good): a crash
    in between means a late message, never a lost one. Quiet hours and flood limits
    simply set a later `deliver_at`; `priority` 0 is a reply to someone who just acted."""

    # An id is never used twice (SQLite would reuse the highest after a delete): a sender
    # that still holds an id must never mistake a new message for the one it sent.
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    couple_id: int | None = Field(default=None, index=True)
    text: str
    buttons: list[list[dict[str, str]]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    # force_reply, placeholder, mention, reply_to, chart: what else the message carries.
    extra: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    document_name: str | None = Field(default=None, max_length=128)
    document: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    priority: int = Field(default=1)
    deliver_at: datetime = Field(index=True)
    # A sender holds a message until then; if it dies meanwhile, another may take it.
    claimed_until: datetime | None = None
    attempts: int = Field(default=0)
    created_at: datetime


class CheckIn(SQLModel, table=True):
    """One private self-check: where the person stands on the spectrum, and their needs."""

    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    # -1 codependent ... 0 interdependent ... +1 hyper-independent
    spectrum: float
    leaning: str = Field(max_length=32)
    autonomy: int = Field(ge=1, le=5)
    competence: int = Field(ge=1, le=5)
    relatedness: int = Field(ge=1, le=5)
    shared: bool = Field(default=False)  # the person agreed to show this one to the partner
    created_at: datetime


class Appreciation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    couple_id: int | None = Field(default=None, index=True)
    author_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    recipient_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    text: str = Field(max_length=4000)
    created_at: datetime


class MeTime(SQLModel, table=True):
    """Planned "you" time, or time together (`together`): a reminder when it comes, a "how
    was it?" after, to the planner alone or to both."""

    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    couple_id: int | None = Field(default=None, index=True)
    what: str = Field(max_length=500)
    at: datetime = Field(index=True)
    tell_partner: bool = Field(default=False)
    together: bool = Field(default=False)
    status: str = Field(default="planned", max_length=16)  # planned, reminded, asked
    created_at: datetime


class VoiceNote(SQLModel, table=True):
    """A voice note waiting to be heard, or heard and waiting for its speaker's "Use this".

    The audio is never kept: `file_id` fetches it from Telegram when its turn comes. The
    transcript is here only between "I heard: ..." and the speaker's choice; then it goes
    where typed words would (or nowhere) and the row is done. `turn` orders the queue fairly:
    a note's turn is its couple's previous waiting note's turn plus that note's length, so
    ten notes from one couple do not hold back another couple's one."""

    __table_args__ = (UniqueConstraint("update_id"),)

    id: int | None = Field(default=None, primary_key=True)
    update_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    person_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    first_name: str = Field(default="", max_length=64)
    language_code: str | None = Field(default=None, max_length=16)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    message_id: int = Field(default=0)  # the note's own message: answers reply to it
    couple_id: int | None = Field(default=None)
    in_group: bool = Field(default=False)
    file_id: str = Field(max_length=256)
    seconds: int = Field(default=0)
    status: str = Field(default="waiting", max_length=16)  # waiting, heard, done
    turn: datetime = Field(index=True)
    # A process listening to the note holds it until then; if it dies, another takes it.
    claimed_until: datetime | None = None
    attempts: int = Field(default=0)
    transcript: str | None = None
    created_at: datetime
