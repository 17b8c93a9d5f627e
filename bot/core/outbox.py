"""What the bot wants to say, independent of Telegram: the adapters turn these into API calls.

Every `Outgoing` is written to the outbox table (bot/storage/outbox.py) in the transaction
of the change that produced it; only then is it sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.words.text import Text

# Who waits for a message: a person who just acted comes before scheduled nudges.
REPLY, SCHEDULED = 0, 1


@dataclass(frozen=True)
class Button:
    """An inline button: callback `data` (at most 64 bytes), a `url`, or a Mini App to open
    (`web_app`, its HTTPS address; private chats only)."""

    label: str | Text
    data: str | None = None
    url: str | None = None
    web_app: str | None = None


@dataclass(frozen=True)
class Outgoing:
    """One message to one chat. `text` is Telegram HTML, already escaped; its words (and
    the buttons') are `Text` values until the way out says them in the chat's voice."""

    chat_id: int
    text: str | Text
    buttons: tuple[tuple[Button, ...], ...] = ()
    # Ask the client to show a reply box; in groups it is aimed (selective) at `mention`.
    force_reply: bool = False
    placeholder: str | Text | None = None
    mention: tuple[int, str] | None = None  # (user id, first name) to address in a group
    reply_to_message_id: int | None = None
    document: tuple[str, bytes] | None = None  # (file name, content), sent with sendDocument
    # Check-in points for a trend chart: drawn as a PNG when it is sent, after the commit,
    # and sent with sendPhoto (`text` is its caption).
    chart: tuple[dict[str, Any], ...] | None = None
    # The chart's words, one per line (title, the three spectrum marks, the three needs, the
    # x axis), said in the chat's language like the text.
    chart_labels: str | Text | None = None
    # A private chat's "share my location" key (Telegram's reply keyboard): its label.
    ask_location: str | Text | None = None
    remove_keyboard: bool = False  # take such a key away again


@dataclass(frozen=True)
class Notice:
    """A short answer to a button press (answerCallbackQuery), shown as a toast."""

    text: str | Text


@dataclass
class Reply:
    """Everything one event produces: messages to send, and an optional toast."""

    messages: list[Outgoing] = field(default_factory=list)
    notice: Notice | None = None

    def add(self, *messages: Outgoing) -> Reply:
        self.messages.extend(messages)
        return self

    def extend(self, other: Reply) -> Reply:
        self.messages.extend(other.messages)
        if other.notice and not self.notice:
            self.notice = other.notice
        return self
