"""The one place a message leaves: outbox rows become Bot API calls, within one flood budget.

Rows of one chat go out in order, one lane per chat; lanes share the `FloodBudget`, which
serves replies before scheduled nudges. What Telegram could not take now (5xx, a timeout,
a lost connection, 429) stays in the outbox and is tried again; what it refused for good
(400, 403) leaves it and is handled once here.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot import metrics
from bot.coaching.charts import trend_chart
from bot.core.budget import FloodBudget
from bot.core.outbox import Outgoing
from bot.storage.db import utcnow
from bot.storage.outbox import Outbox, Queued
from bot.telegram.http import AiohttpRequest

log = logging.getLogger(__name__)

FIRST_RETRY, LAST_RETRY = 0.5, 30.0  # seconds of backoff after a 5xx or a timeout
SCAN_SECONDS = 1.0  # how often the sender looks for due rows it was not handed
# A backlog (10,000 prompts due at once) stays in the outbox rather than in our lanes:
# beyond this many held rows, claiming more only adds rows to renew on every scan.
MAX_HELD = 400
ACK_PASSES = 4  # passes of the event loop a sent-delete waits for company


# What the sender asks of the rest of the bot when a chat is lost or moved (one unit each).
LostChat = Callable[[int], list[Queued]]
MovedChat = Callable[[int, int], None]


Markup = dict[str, Any]
Files = dict[str, tuple[str, bytes]]  # field -> (file name, content)


def markup(message: Outgoing) -> Markup | None:
    """The message's keyboard as the Bot API reads it."""
    if message.buttons:
        return {
            "inline_keyboard": [
                [
                    {"text": b.label, "web_app": {"url": b.web_app}}
                    if b.web_app
                    else {"text": b.label, "url": b.url}
                    if b.url
                    else {"text": b.label, "callback_data": b.data}
                    for b in row
                ]
                for row in message.buttons
            ]
        }
    if message.force_reply:
        # selective: only the person mentioned in the text gets the reply box in a group.
        reply: Markup = {"force_reply": True, "selective": message.mention is not None}
        if message.placeholder:
            reply["input_field_placeholder"] = message.placeholder
        return reply
    if message.ask_location:  # only a reply keyboard can ask for a location (private chats)
        return {
            "keyboard": [[{"text": message.ask_location, "request_location": True}]],
            "resize_keyboard": True,
            "one_time_keyboard": True,
        }
    if message.remove_keyboard:
        return {"remove_keyboard": True}
    return None


class BotApi:
    """The Bot API methods the sender and the handlers call, as plain JSON over our HTTP
    session (bot/telegram/http.py says why not through PTB's objects)."""

    def __init__(self, request: AiohttpRequest, base_url: str) -> None:
        self.request, self.base_url = request, base_url

    @classmethod
    def of(cls, bot: Bot) -> BotApi:
        request = bot.request
        if not isinstance(request, AiohttpRequest):
            raise TypeError("the sender sends through AiohttpRequest (bot/telegram/http.py)")
        return cls(request, bot.base_url)

    async def __call__(
        self, method: str, payload: dict[str, Any], files: Files | None = None
    ) -> Any:
        return await self.request.call(f"{self.base_url}/{method}", payload, files)

    async def answer_press(self, query_id: str, text: str | None = None) -> None:
        """Stop a pressed button's spinner, with a toast when there is something to say."""
        payload: dict[str, Any] = {"callback_query_id": query_id}
        if text:
            payload["text"] = text
        await self("answerCallbackQuery", payload)


async def send_one(api: BotApi, message: Outgoing) -> Any:
    """One Bot API call for one message."""
    payload: dict[str, Any] = {"chat_id": message.chat_id, "parse_mode": ParseMode.HTML.value}
    keyboard = markup(message)
    if keyboard is not None:
        payload["reply_markup"] = keyboard
    if message.chart is not None:
        said = message.chart_labels
        labels = said.splitlines() if isinstance(said, str) else None
        png = await asyncio.to_thread(trend_chart, list(message.chart), labels)
        if message.text:
            payload["caption"] = message.text
        return await api("sendPhoto", payload, {"photo": ("trend.png", png)})
    if message.document is not None:
        name, content = message.document
        payload.pop("reply_markup", None)
        if message.text:
            payload["caption"] = message.text
        return await api("sendDocument", payload, {"document": (name, content)})
    payload["text"] = message.text
    payload["link_preview_options"] = {"is_disabled": True}
    if message.reply_to_message_id:
        payload["reply_parameters"] = {
            "message_id": message.reply_to_message_id,
            "allow_sending_without_reply": True,
        }
    return await api("sendMessage", payload)


class Sender:
    def __init__(
        self,
        api: BotApi,
        outbox: Outbox,
        budget: FloodBudget,
        *,
        lost_chat: LostChat,
        moved_chat: MovedChat,
    ) -> None:
        self.api = api
        self.outbox = outbox
        self.budget = budget
        self.lost_chat = lost_chat
        self.moved_chat = moved_chat
        self._lanes: dict[int, deque[Queued]] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}
        # Outbox ids this sender holds (in a lane, or sent and not yet deleted): a scan does
        # not add them twice, and their leases are renewed while they wait.
        self._held: set[int] = set()
        self._wake = asyncio.Event()
        self._stopping = False
        self._acks: list[int] = []
        self._acking: asyncio.Task[None] | None = None

    # ----- feeding the lanes ---------------------------------------------------------------

    def hand_over(self, queued: list[Queued]) -> None:
        """Send these (already leased to us) as soon as the budget allows."""
        for item in queued:
            if item.id in self._held:
                continue
            self._held.add(item.id)
            chat = item.message.chat_id
            self._lanes.setdefault(chat, deque()).append(item)
            worker = self._workers.get(chat)
            if worker is None or worker.done():
                self._workers[chat] = asyncio.create_task(self._lane(chat))

    def wake(self) -> None:
        """Something became due (a nudge was queued): look now rather than at the next scan."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Send what is due until `stop`; then finish what is in flight and give back the rest."""
        loop = asyncio.get_running_loop()
        renew_every = self.outbox.lease.total_seconds() / 3
        renewed = loop.time()
        while not stop.is_set():
            try:
                # A crowded minute can keep a message waiting past its lease: renew, but
                # only as often as the lease needs (wakes come with every new row).
                if self._held and loop.time() - renewed >= renew_every:
                    await self.outbox.db.call(self.outbox.renew, list(self._held), utcnow())
                    renewed = loop.time()
                room = MAX_HELD - len(self._held)
                if room > 0:
                    due = await self.outbox.db.call(self.outbox.claim_due, utcnow(), min(room, 200))
                    self.hand_over(due)
            except Exception:  # a database hiccup must not end sending for good
                log.exception("could not read the outbox; trying again")
            self._wake.clear()
            stop_waiter = asyncio.ensure_future(stop.wait())
            wake_waiter = asyncio.ensure_future(self._wake.wait())
            await asyncio.wait(
                {stop_waiter, wake_waiter}, timeout=SCAN_SECONDS, return_when="FIRST_COMPLETED"
            )
            stop_waiter.cancel()
            wake_waiter.cancel()

    async def drain(self, timeout: float = 10.0) -> None:
        """Stop starting sends; wait for those in flight; release the rest to the next sender."""
        self._stopping = True
        workers = [w for w in self._workers.values() if not w.done()]
        if workers:
            await asyncio.wait(workers, timeout=timeout)
        for worker in workers:
            worker.cancel()
        await self._write_acks()
        left = [item.id for lane in self._lanes.values() for item in lane]
        if left:
            await self.outbox.db.call(self.outbox.release, left)

    def _ack(self, outbox_id: int) -> None:
        """Telegram took it (or refused it for good): it leaves the outbox with the next batch."""
        self._acks.append(outbox_id)
        if self._acking is None or self._acking.done():
            self._acking = asyncio.create_task(self._write_acks())

    async def _write_acks(self) -> None:
        """Delete what was sent within a few passes of the loop; what is sent meanwhile goes
        in the next batch, so a busy minute costs one write per batch and a quiet one leaves a
        window of microseconds. (A kill
        between Telegram's answer and this write can send those again: the honest limit,
        as the Bot API has no idempotency key.)"""
        while self._acks:
            # At a start or in a busy minute, sends finish about one a pass of the loop (chats
            # start one a pass, bot/telegram/intake.py): a few passes gather them into one
            # write instead of one each, and a quiet moment waits microseconds, not a clock.
            for _ in range(ACK_PASSES):
                await asyncio.sleep(0)
            done, self._acks = self._acks, []
            await self.outbox.db.call(self.outbox.sent_many, done)
            self._held.difference_update(done)

    def abort(self) -> None:
        """End every lane at once (the process is going away without stopping)."""
        self._stopping = True
        for worker in self._workers.values():
            worker.cancel()

    # ----- one chat ------------------------------------------------------------------------

    async def _lane(self, chat: int) -> None:
        lane = self._lanes[chat]
        try:
            while lane and not self._stopping:
                item = lane[0]
                outcome = await self._deliver(item)
                if outcome == "stopped":
                    break  # drain() gives it back to the outbox
                if outcome == "lost":
                    for rest in lane:
                        self._held.discard(rest.id)
                    lane.clear()  # the chat is gone: the outbox dropped its rows
                    break
                lane.popleft()
                if outcome == "dropped":
                    self._held.discard(item.id)  # (a sent one is let go once it is deleted)
        finally:
            if not lane:
                self._lanes.pop(chat, None)
                self._workers.pop(chat, None)

    async def _deliver(self, item: Queued) -> str:
        """Send one row until Telegram takes it or refuses it for good: "sent" (deleted with
        the next batch), "dropped" (refused for good, deleted), "lost" (the chat is gone) or
        "stopped" (the sender is stopping and it is not sent)."""
        backoff = FIRST_RETRY
        message = item.message
        while True:
            await self.budget.take(message.chat_id, item.priority)
            try:
                await send_one(self.api, message)
            except RetryAfter as exc:
                metrics.RATE_LIMITED.inc()
                wait = exc.retry_after
                seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
                log.warning(
                    "Telegram asked to wait %.0f s before chat %s", seconds, message.chat_id
                )
                self.budget.hold(message.chat_id, seconds)
                await self.outbox.db.call(
                    self.outbox.hold, item.id, utcnow() + timedelta(seconds=seconds)
                )
                continue
            except ChatMigrated as exc:
                new_chat = int(exc.new_chat_id)
                log.info("group %s moved to %s; following it", message.chat_id, new_chat)
                await self.outbox.db.call(self.moved_chat, message.chat_id, new_chat)
                message = replace(message, chat_id=new_chat)
                continue
            except Forbidden:
                lost = await self.outbox.db.call(self.lost_chat, message.chat_id)
                self.hand_over(lost)
                return "lost"
            except BadRequest as exc:  # a message Telegram will never take: log, let it go
                metrics.ERRORS.labels(kind="send_refused").inc()
                log.error("Telegram refused a message to chat %s: %s", message.chat_id, exc)
                await self.outbox.db.call(self.outbox.sent, item.id)
                return "dropped"
            except NetworkError as exc:  # 5xx, timeouts, lost connections: keep it, try again
                metrics.ERRORS.labels(kind="send_retried").inc()
                log.warning(
                    "sending to chat %s failed (%s); again in %.1f s", message.chat_id, exc, backoff
                )
                await self.outbox.db.call(
                    self.outbox.hold, item.id, utcnow() + timedelta(seconds=backoff)
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, LAST_RETRY)
                if self._stopping:
                    return "stopped"
                continue
            except TelegramError as exc:
                metrics.ERRORS.labels(kind="send_failed").inc()
                log.error("sending to chat %s failed for good: %s", message.chat_id, exc)
                await self.outbox.db.call(self.outbox.sent, item.id)
                return "dropped"
            metrics.SENT.inc()
            self._ack(item.id)
            return "sent"
