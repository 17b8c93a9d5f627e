"""Conversation-style client for the local Bot API server: tests read like chats.

    alex, sam = talk.person("Alex"), talk.person("Sam")
    alex.says("/invite")
    invite = await alex.sees("invite link")
    sam.says(f"/start {code}")
    await sam.sees("now a couple")

Strict by default: `sees` returns the oldest unread bot message in that chat that contains
the words, waiting for it if needed, and marks only that one read; pressing a button reads
its message. Whatever the bot said that nobody read is a failure at the end (`finish`): an
extra, duplicated or leaked message cannot pass unnoticed. A test that means to leave some
messages unread says which, by their words (`ignores`), or sets a chat aside (`mark_read`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
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

    def types(self, text: str, in_: SimChat | None = None) -> StoredMessage:
        """Just type, as on a phone: Telegram's app sends it as a reply when a bot message
        opened the reply box for this person since they last wrote (ForceReply; a selective
        one only for those it mentions), else as a plain message, which privacy mode keeps
        from the bot in a group."""
        chat = in_ or self.private
        return self.says(text, chat, reply_to=self._reply_box(chat))

    def speaks(
        self,
        audio: bytes,
        seconds: int,
        in_: SimChat | None = None,
        *,
        kind: str = "voice",
        mime: str = "audio/ogg",
    ) -> StoredMessage:
        """Hold the microphone and send a voice note (OGG/Opus bytes), as a reply where a
        bot message opened the reply box, like `types`."""
        chat = in_ or self.private
        box = self._reply_box(chat)
        return self.talk.server.user_sends_voice(
            self.user,
            chat,
            audio,
            seconds,
            kind=kind,
            mime=mime,
            reply_to=box.message_id if box else None,
        )

    def _reply_box(self, chat: SimChat) -> StoredMessage | None:
        for message in reversed(self.talk.server.messages.get(chat.id, [])):
            if not message.from_bot:
                if message.sender is not None and message.sender.id == self.user.id:
                    break  # the reply box closed when they last sent something
                continue
            if message.deleted or not message.force_reply:
                continue
            selective = bool((message.reply_markup or {}).get("selective"))
            mentioned = any(
                e.get("type") == "text_mention" and e.get("user", {}).get("id") == self.user.id
                for e in message.entities
            )
            if not selective or mentioned:
                return message
        return None

    def shares_location(self, latitude: float, longitude: float) -> StoredMessage:
        """Press a "share my location" key: Telegram sends the location as a message."""
        return self.sends_raw(location={"latitude": latitude, "longitude": longitude})

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
                        self.talk.read(message)
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
                self.talk.read(message)
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

    def ignores(self, *words: str, in_: SimChat | None = None) -> None:
        """Say that bot messages with all these words in this chat may stay unread."""
        self.talk.ignore(in_ or self.private, *words)

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

    def __init__(self, server: BotApiServer, timeout: float = 30.0) -> None:
        self.server = server
        self.timeout = timeout
        self.strict = True
        # Per chat: messages up to `floor` are set aside; `seen` are read one by one.
        self.floor: dict[int, int] = {}
        self.seen: dict[int, set[int]] = {}
        self.ignored: list[tuple[int, tuple[str, ...]]] = []
        # Extra "the bot is idle" condition (the rig's: every update handled, outbox empty).
        self.idle: Callable[[], bool] | None = None
        self.finished = False
        server.conversations.append(self)

    def person(self, name: str, *, language_code: str | None = "en") -> Human:
        return Human(self, self.server.add_user(name, language_code=language_code))

    def group(self, title: str, *members: Human) -> SimChat:
        return self.server.add_group(title, [m.user for m in members])

    def unread(self, chat: SimChat) -> list[StoredMessage]:
        return self._unread(chat.id)

    def _unread(self, chat_id: int) -> list[StoredMessage]:
        floor, seen = self.floor.get(chat_id, 0), self.seen.get(chat_id, set())
        return [
            m
            for m in self.server.bot_messages(chat_id)
            if m.message_id > floor and m.message_id not in seen
        ]

    def read(self, message: StoredMessage) -> None:
        self.seen.setdefault(message.chat_id, set()).add(message.message_id)

    def mark_read(self, chat: SimChat) -> None:
        """Set aside everything in the chat so far (a test that does not read it says so)."""
        messages = self.server.messages.get(chat.id, [])
        if messages:
            self.floor[chat.id] = messages[-1].message_id

    def ignore(self, chat: SimChat, *words: str) -> None:
        """Bot messages in `chat` containing all `words` may stay unread."""
        self.ignored.append((chat.id, tuple(w.lower() for w in words)))

    def unexpected(self) -> list[StoredMessage]:
        """Every unread bot message in every chat, but for those a test said it ignores."""
        left = []
        for chat_id in list(self.server.messages):
            for message in self._unread(chat_id):
                text = message.text.lower()
                if not any(
                    where == chat_id and all(w in text for w in words)
                    for where, words in self.ignored
                ):
                    left.append(message)
        return left

    async def next_message(
        self, chat: SimChat, *words: str, timeout: float | None = None
    ) -> StoredMessage:
        deadline = time.monotonic() + (timeout or self.timeout)
        lowered = [w.lower() for w in words]
        while True:
            for message in self.unread(chat):
                if all(w in message.text.lower() for w in lowered):
                    self.read(message)
                    return message
            if time.monotonic() > deadline:
                got = [m.text for m in self.unread(chat)]
                raise AssertionError(f"no message with {words!r} in chat {chat.id}; unread: {got}")
            await asyncio.sleep(0.01)

    async def settle(self, quiet: float = 0.3, timeout: float | None = None) -> None:
        """Wait until the bot has fetched every update, handled and sent everything it can
        (when the rig can tell), and made no API call for `quiet` s. A busy machine makes
        this slower, never wrong: the timeout is generous."""
        deadline = time.monotonic() + max(timeout or 0, self.timeout * 4)
        while time.monotonic() < deadline:
            idle = time.monotonic() - self.server.last_activity
            if (
                self.server.pending_updates == 0
                and idle >= quiet
                and (self.idle is None or self.idle())
            ):
                return
            await asyncio.sleep(0.02)
        raise AssertionError("the bot never went quiet")

    async def finish(self) -> None:
        """The end of a test: once the bot is quiet, nothing it said may be left unread."""
        if self.finished:
            return
        self.finished = True
        if not self.strict:
            return
        await self.settle()
        left = self.unexpected()
        if left:
            lines = "\n".join(f"  chat {m.chat_id}: {m.text[:160]!r}" for m in left)
            raise AssertionError(
                f"the bot said {len(left)} thing(s) the test never read:\n{lines}\n"
                "(read them with sees(), or say why not with ignores())"
            )
