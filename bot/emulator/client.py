"""Conversation-style client for the local Bot API server: tests read like chats.

    alex, sam = talk.person("Alex"), talk.person("Sam")
    alex.says("/invite")
    invite = await alex.sees("invite link")
    sam.says(f"/start {code}")
    await sam.sees("now a couple")

Every chat has a read cursor: `sees` returns the next unread bot message in that
chat that contains the words (skipping older ones), waiting for it if needed.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bot.emulator.server import BotApiServer, SimChat, SimUser, StoredMessage


class Human:
    """One simulated person: their private chat with the bot is `self.private`."""

    def __init__(self, talk: Conversation, user: SimUser) -> None:
        self.talk = talk
        self.user = user
        self.private = talk.server.chats[user.id]

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def name(self) -> str:
        return self.user.first_name

    def says(
        self, text: str, in_: SimChat | None = None, *, reply_to: StoredMessage | None = None
    ) -> StoredMessage:
        """Send text (a command or an answer) in a chat; private by default."""
        chat = in_ or self.private
        return self.talk.server.user_sends(
            self.user, chat, text, reply_to=reply_to.message_id if reply_to else None
        )

    def replies(self, to: StoredMessage, text: str) -> StoredMessage:
        """Answer a bot message with Telegram's reply (what ForceReply asks for)."""
        return self.says(text, self.talk.server.chats[to.chat_id], reply_to=to)

    def sends_raw(self, in_: SimChat | None = None, **fields: Any) -> StoredMessage:
        """Send a message with raw fields (a sticker, a photo) and no text."""
        chat = in_ or self.private
        return self.talk.server.user_sends(self.user, chat, "", extra=fields)

    async def presses(
        self, label: str, in_: SimChat | None = None, *, timeout: float | None = None
    ) -> str:
        """Press the button `label` on the newest bot message showing it (waiting for one)."""
        chat = in_ or self.private
        deadline = time.monotonic() + (timeout or self.talk.timeout)
        while True:
            for message in reversed(self.talk.server.bot_messages(chat.id)):
                for button in message.buttons:
                    if button.get("text") == label and "callback_data" in button:
                        return self.talk.server.user_presses(
                            self.user, message, button["callback_data"]
                        )
            if time.monotonic() > deadline:
                shown = [
                    b.get("text") for m in self.talk.server.bot_messages(chat.id) for b in m.buttons
                ]
                raise AssertionError(f"{self.name} sees no button {label!r}; there are {shown}")
            await asyncio.sleep(0.01)

    def presses_on(self, message: StoredMessage, label: str) -> str:
        """Press a button on one particular message (e.g. an old one)."""
        for button in message.buttons:
            if button.get("text") == label:
                return self.talk.server.user_presses(self.user, message, button["callback_data"])
        raise AssertionError(f"no button {label!r} on message {message.message_id}")

    def forges(self, data: str, in_: SimChat | None = None) -> str:
        """Press a button with made-up callback data, as a modified client could."""
        chat = in_ or self.private
        messages = self.talk.server.bot_messages(chat.id)
        target = messages[-1] if messages else self.talk.server._new_message(chat, None, "x")
        return self.talk.server.user_presses(self.user, target, data)

    async def sees(
        self, *words: str, in_: SimChat | None = None, timeout: float | None = None
    ) -> StoredMessage:
        """Wait for the next bot message in the chat that contains all `words`."""
        return await self.talk.next_message(in_ or self.private, *words, timeout=timeout)

    def inbox(self, in_: SimChat | None = None) -> list[str]:
        chat = in_ or self.private
        return [m.text for m in self.talk.server.bot_messages(chat.id)]

    def toast(self, query_id: str) -> str | None:
        answer = self.talk.server.callback_answers.get(query_id)
        return None if answer is None else (answer.get("text") or "")

    async def toast_for(self, query_id: str, timeout: float | None = None) -> str:
        """Wait for the bot to answer the button press `query_id`; return its toast text."""
        deadline = time.monotonic() + (timeout or self.talk.timeout)
        while time.monotonic() < deadline:
            answer = self.toast(query_id)
            if answer is not None:
                return answer
            await asyncio.sleep(0.01)
        raise AssertionError(f"button press {query_id} was never answered")


class Conversation:
    """The simulated world around the bot: people, their chats and what they read."""

    def __init__(self, server: BotApiServer, timeout: float = 8.0) -> None:
        self.server = server
        self.timeout = timeout
        self.cursor: dict[int, int] = {}

    def person(self, name: str, *, language_code: str | None = "en") -> Human:
        return Human(self, self.server.add_user(name, language_code=language_code))

    def group(self, title: str, *members: Human) -> SimChat:
        return self.server.add_group(title, [m.user for m in members])

    def unread(self, chat: SimChat) -> list[StoredMessage]:
        messages = self.server.bot_messages(chat.id)
        start = self.cursor.get(chat.id, 0)
        return [m for m in messages if m.message_id > start]

    def mark_read(self, chat: SimChat) -> None:
        messages = self.server.messages.get(chat.id, [])
        if messages:
            self.cursor[chat.id] = messages[-1].message_id

    async def next_message(
        self, chat: SimChat, *words: str, timeout: float | None = None
    ) -> StoredMessage:
        deadline = time.monotonic() + (timeout or self.timeout)
        lowered = [w.lower() for w in words]
        while True:
            for message in self.unread(chat):
                if all(w in message.text.lower() for w in lowered):
                    self.cursor[chat.id] = message.message_id
                    return message
            if time.monotonic() > deadline:
                got = [m.text for m in self.unread(chat)]
                raise AssertionError(f"no message with {words!r} in chat {chat.id}; unread: {got}")
            await asyncio.sleep(0.01)

    async def settle(self, quiet: float = 0.3, timeout: float | None = None) -> None:
        """Wait until the bot has fetched every update and made no API call for `quiet` s."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while time.monotonic() < deadline:
            idle = time.monotonic() - self.server.last_activity
            if self.server.pending_updates == 0 and idle >= quiet:
                return
            await asyncio.sleep(0.02)
        raise AssertionError("the bot never went quiet")
