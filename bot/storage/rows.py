"""Rows as the services read them: plain dataclasses with the tables' columns.

The SQLModel classes (models.py) define the tables and serve the migrations and the tests'
ORM queries. Building one from a row costs 60 to 80 microseconds (SQLAlchemy's
instrumentation and pydantic's set-up), several times per step on the hot path; these cost
under one. tests/storage/test_storage.py holds their fields to the tables' columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(slots=True)
class CoupleRow:
    id: int
    timezone: str
    created_at: datetime
    status: str = "active"
    meeting_day: int | None = None  # 0 = Monday ... 6 = Sunday
    meeting_time: str | None = None  # "HH:MM", the couple's local time
    paused: bool = False
    next_prompt_at: datetime | None = None
    snooze_at: datetime | None = None
    group_chat_id: int | None = None
    language: str | None = None


@dataclass(slots=True)
class PartnerRow:
    id: int
    first_name: str
    created_at: datetime
    language_code: str | None = None
    language: str | None = None
    country: str | None = None
    form: str | None = None
    couple_id: int | None = None
    seat: int | None = None
    unreachable: bool = False
    quiet_start: str = "22:00"
    quiet_end: str = "08:00"
    safety_at: datetime | None = None
    safety_check_at: datetime | None = None
    hushed: bool = False
    couple_ended: bool = False


@dataclass(slots=True)
class RunRow:
    flow_id: str
    flow_version: int
    couple_id: int
    started_by: int
    state: str
    created_at: datetime
    updated_at: datetime
    id: int | None = None
    step: int = 0
    version: int = 0
    status: str = "active"
    roles: dict[str, int] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    marks: dict[str, Any] = field(default_factory=dict)
    active_key: str | None = None
    in_group: bool = False
    break_until: datetime | None = None
    wake_at: datetime | None = None
    remind_at: datetime | None = None
    reminded_step: int | None = None
    expires_at: datetime | None = None
    ended_at: datetime | None = None
