"""The tables as ORM classes, for tests and scripts that like objects.

bot/storage/tables.py is the one definition of the schema; these classes are mapped onto it
and add nothing. The bot itself never imports this module: it reads and writes the Core
tables, and a start does not pay for SQLAlchemy's ORM (tests/test_layers.py keeps it so).
The annotations are for the type checker; the columns come from the tables.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import DeclarativeBase, Mapped

from bot.storage import tables


class Base(DeclarativeBase):
    metadata = tables.METADATA


class Couple(Base):
    __table__ = tables.COUPLES

    id: Mapped[int]  # None until the row is flushed
    status: Mapped[str]
    timezone: Mapped[str]
    meeting_day: Mapped[int | None]
    meeting_time: Mapped[str | None]
    paused: Mapped[bool]
    next_prompt_at: Mapped[datetime | None]
    snooze_at: Mapped[datetime | None]
    group_chat_id: Mapped[int | None]
    created_at: Mapped[datetime]
    language: Mapped[str | None]


class Partner(Base):
    __table__ = tables.PARTNERS

    id: Mapped[int]
    first_name: Mapped[str]
    language_code: Mapped[str | None]
    language: Mapped[str | None]
    country: Mapped[str | None]
    form: Mapped[str | None]
    couple_id: Mapped[int | None]
    seat: Mapped[int | None]
    unreachable: Mapped[bool]
    quiet_start: Mapped[str]
    quiet_end: Mapped[str]
    created_at: Mapped[datetime]
    safety_at: Mapped[datetime | None]
    safety_check_at: Mapped[datetime | None]
    hushed: Mapped[bool]
    couple_ended: Mapped[bool]


class Invite(Base):
    __table__ = tables.INVITES

    code: Mapped[str]
    inviter_id: Mapped[int]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by: Mapped[int | None]
    revoked: Mapped[bool]


class InboxUpdate(Base):
    __table__ = tables.INBOX

    update_id: Mapped[int]
    chat_id: Mapped[int | None]
    payload: Mapped[dict[str, Any]]
    received_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]


class FlowRun(Base):
    __table__ = tables.RUNS

    id: Mapped[int]  # None until the row is flushed
    flow_id: Mapped[str]
    flow_version: Mapped[int]
    couple_id: Mapped[int]
    started_by: Mapped[int]
    state: Mapped[str]
    step: Mapped[int]
    version: Mapped[int]
    status: Mapped[str]
    roles: Mapped[dict[str, int]]
    context: Mapped[dict[str, Any]]
    marks: Mapped[dict[str, Any]]
    active_key: Mapped[str | None]
    in_group: Mapped[bool]
    break_until: Mapped[datetime | None]
    wake_at: Mapped[datetime | None]
    remind_at: Mapped[datetime | None]
    reminded_step: Mapped[int | None]
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class Agreement(Base):
    __table__ = tables.AGREEMENTS

    id: Mapped[int]  # None until the row is flushed
    couple_id: Mapped[int]
    run_id: Mapped[int | None]
    author_id: Mapped[int | None]
    text: Mapped[str]
    follow_up: Mapped[date | None]
    created_at: Mapped[datetime]
    follow_up_at: Mapped[datetime | None]
    followed_up_at: Mapped[datetime | None]
    status: Mapped[str]
    history: Mapped[list[dict[str, Any]]]


class NudgeLog(Base):
    __table__ = tables.NUDGES

    id: Mapped[int]  # None until the row is flushed
    couple_id: Mapped[int]
    kind: Mapped[str]
    slot: Mapped[str]
    status: Mapped[str]
    claimed_at: Mapped[datetime]


class Timer(Base):
    __table__ = tables.TIMERS

    id: Mapped[int]  # None until the row is flushed
    kind: Mapped[str]
    key: Mapped[str]
    due_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]


class OutboxMessage(Base):
    __table__ = tables.OUTBOX

    id: Mapped[int]  # None until the row is flushed
    chat_id: Mapped[int]
    couple_id: Mapped[int | None]
    text: Mapped[str]
    buttons: Mapped[list[list[dict[str, str]]]]
    extra: Mapped[dict[str, Any]]
    document_name: Mapped[str | None]
    document: Mapped[bytes | None]
    priority: Mapped[int]
    deliver_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    attempts: Mapped[int]
    created_at: Mapped[datetime]


class CheckIn(Base):
    __table__ = tables.CHECKINS

    id: Mapped[int]  # None until the row is flushed
    partner_id: Mapped[int]
    spectrum: Mapped[float]
    leaning: Mapped[str]
    autonomy: Mapped[int]
    competence: Mapped[int]
    relatedness: Mapped[int]
    shared: Mapped[bool]
    created_at: Mapped[datetime]


class Appreciation(Base):
    __table__ = tables.APPRECIATIONS

    id: Mapped[int]  # None until the row is flushed
    couple_id: Mapped[int | None]
    author_id: Mapped[int]
    recipient_id: Mapped[int | None]
    text: Mapped[str]
    created_at: Mapped[datetime]


class MeTime(Base):
    __table__ = tables.METIMES

    id: Mapped[int]  # None until the row is flushed
    partner_id: Mapped[int]
    couple_id: Mapped[int | None]
    what: Mapped[str]
    at: Mapped[datetime]
    tell_partner: Mapped[bool]
    together: Mapped[bool]
    status: Mapped[str]
    created_at: Mapped[datetime]


class VoiceNote(Base):
    __table__ = tables.VOICE_NOTES

    id: Mapped[int]  # None until the row is flushed
    update_id: Mapped[int]
    person_id: Mapped[int]
    first_name: Mapped[str]
    language_code: Mapped[str | None]
    chat_id: Mapped[int]
    message_id: Mapped[int]
    couple_id: Mapped[int | None]
    in_group: Mapped[bool]
    file_id: Mapped[str]
    seconds: Mapped[int]
    status: Mapped[str]
    turn: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    attempts: Mapped[int]
    transcript: Mapped[str | None]
    created_at: Mapped[datetime]
