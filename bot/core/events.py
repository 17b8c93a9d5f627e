"""What happened, independent of Telegram: the adapters build these from Updates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Person:
    id: int
    first_name: str
    language_code: str | None = None


@dataclass(frozen=True)
class Event:
    """A person did something in a chat: typed text, pressed a button, or sent a command."""

    person: Person
    chat_id: int
    in_group: bool
    at: datetime
    text: str | None = None
    button: str | None = None
    update_id: int | None = None
    # In groups under privacy mode we only see replies to the bot; this says it was one.
    replied_to_bot: bool = False
    # A shared location (latitude, longitude): used once, for the time zone, never stored.
    location: tuple[float, float] | None = None
