"""The SQLAlchemy Core tables behind the models, for the hot paths that skip the ORM."""

from __future__ import annotations

from sqlalchemy import Table

from bot.storage.models import (
    Agreement,
    Appreciation,
    CheckIn,
    Couple,
    FlowRun,
    InboxUpdate,
    Invite,
    MeTime,
    NudgeLog,
    OutboxMessage,
    Partner,
    Timer,
    VoiceNote,
)


def _table(model: type) -> Table:
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


AGREEMENTS = _table(Agreement)
APPRECIATIONS = _table(Appreciation)
CHECKINS = _table(CheckIn)
COUPLES = _table(Couple)
INVITES = _table(Invite)
METIMES = _table(MeTime)
NUDGES = _table(NudgeLog)
OUTBOX = _table(OutboxMessage)
PARTNERS = _table(Partner)
RUNS = _table(FlowRun)
INBOX = _table(InboxUpdate)
VOICE_NOTES = _table(VoiceNote)
TIMERS = _table(Timer)
