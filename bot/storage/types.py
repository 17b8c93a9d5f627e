"""The one column type of our own: a moment in time, stored in UTC, read back aware."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import types
from sqlalchemy.engine.interfaces import Dialect


class UtcDateTime(types.TypeDecorator[datetime]):
    """An aware datetime in, UTC out, on every database (SQLite keeps no offset: what it
    returns is UTC without one). A naive datetime is refused: a moment without a zone is a
    bug. The same behaviour as SQLModel 0.0.50's `UTCDateTime`, which these columns had;
    importing it would import SQLModel and SQLAlchemy's ORM into every start."""

    impl = types.DateTime
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def coerce_compared_value(self, op: Any, value: Any) -> types.TypeEngine[Any]:
        if isinstance(value, timedelta):
            return types.Interval()
        return self

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError("a moment needs its timezone: use bot.storage.db.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
