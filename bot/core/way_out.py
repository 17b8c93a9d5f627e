"""The one way out: each message is said in its chat's voice, then stored in the outbox.

Services hand over messages whose words are still `Text` values (bot/words/text.py). Here,
inside the transaction that queues them, each chat's language and grammatical form is read
once (bot/storage/voices.py) and every Text is said in it, once per recipient. The outbox
stores what was said and never translates.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Connection

from bot.core.outbox import Notice, Outgoing
from bot.storage.outbox import Outbox, Queued
from bot.storage.voices import Hint, voices
from bot.words.languages import Voice
from bot.words.text import Text, said_in


def said(message: Outgoing, voice: Voice) -> Outgoing:
    """The message with every word said in `voice`: its text, its buttons, its reply box's
    placeholder, its location key and its chart's labels."""
    return replace(
        message,
        text=said_in(message.text, voice),
        placeholder=said_in(message.placeholder, voice),
        ask_location=said_in(message.ask_location, voice),
        chart_labels=said_in(message.chart_labels, voice),
        buttons=tuple(
            tuple(replace(b, label=said_in(b.label, voice)) for b in row) for row in message.buttons
        ),
    )


def said_notice(notice: Notice, voice: Voice) -> str:
    return str(said_in(notice.text, voice))


def _words(text: str | Text) -> bool:
    return isinstance(text, str) and bool(text.strip())


class WayOut:
    """Says and stores: the only caller of `Outbox.put` (tests/test_layers.py)."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    def put(
        self,
        conn: Connection,
        messages: list[Outgoing],
        *,
        hint: Hint | None = None,
        heard: dict[int, Voice] | None = None,
        **where: Any,
    ) -> list[Queued]:
        """Say each message in its chat's voice (`heard`, or read here in this transaction)
        and store it; `where`: the outbox's priority, couple, delivery time and lease."""
        if not messages:
            return []
        if heard is None:
            heard = voices(conn, [m.chat_id for m in messages], hint)
        spoken = [said(m, heard[m.chat_id]) for m in messages]
        # A template may say nothing to some readers (a flow's words on expiry to one role):
        # Telegram refuses an empty message, so none is stored.
        kept = [m for m in spoken if m.document or m.chart is not None or _words(m.text)]
        return self.outbox.put(conn, kept, **where)
