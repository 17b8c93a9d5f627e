"""The one way in (polling mode): fetch a batch, store it, only then ask for the next.

Telegram confirms a batch of updates when the next getUpdates carries a higher offset, so
the batch is in the inbox table before that request leaves. The dispatcher hands stored
updates to python-telegram-bot's `Application.process_update`, one chat's updates in
order, different chats side by side; each handler claims its update in the transaction
of its work (bot/core/work.py). At start-up, what was stored but not processed goes first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from typing import Any

from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, TelegramError
from telegram.ext import Application

from bot import metrics
from bot.core.work import UnitOfWork
from bot.storage.inbox import Inbox, Stored
from bot.telegram.http import AiohttpRequest

log = logging.getLogger(__name__)

# What the handlers act on (main._handlers), asked of Telegram the same way by polling and by
# `us-coach webhook set`: messages (commands, text, voice, locations, a group's upgrade),
# button presses, and the bot's own membership of a group. Edits are left out on purpose: we
# act on what was sent.
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
RESCAN_SECONDS = 5.0  # a safety net: look for stored updates nobody handed over


def chat_of(update: Update) -> int | None:
    """The chat whose order this update keeps (the person's, for a private button press)."""
    if update.effective_chat is not None:
        return update.effective_chat.id
    return update.effective_user.id if update.effective_user is not None else None


class Dispatcher:
    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        inbox: Inbox,
        work: UnitOfWork,
        *,
        in_flight: int = 64,
        rescan_after: float = 0.0,
    ) -> None:
        self.application = application
        self.inbox = inbox
        self.work = work
        # Web processes share one inbox: the safety net takes only updates stored this long
        # ago, so it never races the process that is handling a fresh one.
        self.rescan_after = rescan_after
        self._done: dict[int, asyncio.Future[None]] = {}
        self._queues: dict[int | None, deque[tuple[Stored, Update | None]]] = {}
        self._workers: dict[int | None, asyncio.Task[None] | None] = {}  # None: starting
        self._known: set[int] = set()
        self._gate = asyncio.Semaphore(in_flight)
        self._stopping = False
        self._starting: deque[int | None] = deque()  # chats whose worker starts next pass

    def offer(self, stored: Stored, update: Update | None = None) -> asyncio.Future[None]:
        """Queue a stored update behind the others of its chat (once); the future is done
        when it has been handled (a webhook answers Telegram then)."""
        if stored.update_id in self._known:
            return self._done.setdefault(
                stored.update_id, asyncio.get_running_loop().create_future()
            )
        self._known.add(stored.update_id)
        done = self._done[stored.update_id] = asyncio.get_running_loop().create_future()
        self._queues.setdefault(stored.chat_id, deque()).append((stored, update))
        if not self._has_worker(stored.chat_id):
            self._workers[stored.chat_id] = None
            if not self._starting:
                asyncio.get_running_loop().call_soon(self._start_next)
            self._starting.append(stored.chat_id)
        return done

    def _has_worker(self, chat: int | None) -> bool:
        """A worker is running this chat's queue, or starts it on the loop's next pass."""
        if chat not in self._workers:
            return False
        worker = self._workers[chat]
        return worker is None or not worker.done()

    def _start_next(self) -> None:
        """Start one chat's worker, and the next one on the loop's next pass. On SQLite a
        unit runs on the loop without pausing: started all at once, the 50 chats waiting at
        a start would each run their unit before the first reply's send could begin. One a
        pass, the reply a unit queued goes out before the next chat's unit starts."""
        if self._stopping:
            self._starting.clear()
            return
        chat = self._starting.popleft()
        self._workers[chat] = asyncio.create_task(self._chat(chat))
        if self._starting:
            asyncio.get_running_loop().call_soon(self._start_next)

    async def resume(self) -> int:
        """Queue what was stored but not processed (at start-up, before polling begins, so
        each chat's older updates go first)."""
        pending = await self.inbox.db.call(self.inbox.pending, 100_000)
        for stored in pending:
            self.offer(stored)
        if pending:
            log.info("handling %d updates stored before a restart", len(pending))
        return len(pending)

    async def run(self, stop: asyncio.Event) -> None:
        """Now and then, pick up stored updates nobody handed over (a safety net)."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RESCAN_SECONDS)
            if stop.is_set():
                break
            try:
                pending = await self.inbox.db.call(self.inbox.pending, 500, self.rescan_after)
                for stored in pending:
                    self.offer(stored)
            except Exception:
                log.exception("could not read the inbox; trying again")

    async def drain(self, timeout: float = 10.0) -> None:
        """Let the updates being handled finish (what is queued waits for the next start)."""
        self._stopping = True
        workers = [w for w in self._workers.values() if w is not None and not w.done()]
        if workers:
            await asyncio.wait(workers, timeout=timeout)

    def abort(self) -> None:
        self._stopping = True
        for worker in self._workers.values():
            if worker is not None:
                worker.cancel()

    async def _chat(self, chat: int | None) -> None:
        queue = self._queues[chat]
        try:
            while queue and not self._stopping:
                stored, update = queue[0]
                async with self._gate:
                    await self._handle(stored, update)
                queue.popleft()
                self._known.discard(stored.update_id)
                done = self._done.pop(stored.update_id, None)
                if done is not None and not done.done():
                    done.set_result(None)
        finally:
            if not queue or self._stopping:
                self._queues.pop(chat, None)
                self._workers.pop(chat, None)

    async def _handle(self, stored: Stored, update: Update | None) -> None:
        began = time.perf_counter()
        try:
            if update is None:
                update = Update.de_json(stored.payload, self.application.bot)
            await self.application.process_update(update)
        except Exception:  # the error handler has logged it; the update is not retried
            metrics.ERRORS.labels(kind="update").inc()
            log.exception("update %s could not be handled", stored.update_id)
        metrics.UPDATES.inc()
        metrics.STEP_SECONDS.observe(time.perf_counter() - began)
        if stored.update_id in self.work.claimed:
            self.work.claimed.discard(stored.update_id)
        else:  # nothing claimed it (ignored on purpose, or it failed): done all the same
            await self.inbox.db.call(self.inbox.finish, stored.update_id)


class Poller:
    """Fetch, store, then confirm (by asking for the next batch)."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        inbox: Inbox,
        dispatcher: Dispatcher,
        *,
        timeout: int,
        raw: AiohttpRequest | None = None,
    ) -> None:
        self.raw = raw  # the getUpdates connection, which keeps Telegram's own JSON
        self.application = application
        self.inbox = inbox
        self.dispatcher = dispatcher
        self.timeout = timeout
        # Set once the first getUpdates has answered and its batch is handed over: start-up
        # work nobody waits for (the slot fill) lets the people waiting at a start go first.
        self.polled = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        offset = await self.inbox.db.call(self.inbox.next_offset)
        backoff = 0.5
        while not stop.is_set():
            fetch = asyncio.ensure_future(
                self.application.bot.get_updates(
                    offset=offset, timeout=self.timeout, allowed_updates=ALLOWED_UPDATES
                )
            )
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({fetch, stopping}, return_when="FIRST_COMPLETED")
            stopping.cancel()
            if not fetch.done():
                fetch.cancel()  # stopping: what it would have fetched stays with Telegram
                break
            updates: list[Update] | None
            try:
                updates = list(fetch.result())
            except InvalidToken:
                raise
            except (Conflict, NetworkError, TelegramError) as exc:
                log.warning("polling failed, retrying in %.1f s: %s", backoff, exc)
                updates = None
            if updates:
                offset = await self._hand_over(updates)
            self.polled.set()  # the first answer, whatever it held, is handed over
            if updates is None:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
            else:
                backoff = 0.5

    async def _hand_over(self, updates: list[Update]) -> int:
        """Store the batch, then offer it to the dispatcher; the next offset."""
        sent = self._as_sent()
        batch = [
            (Stored(u.update_id, chat_of(u), sent.get(u.update_id) or u.to_dict()), u)
            for u in updates
        ]
        # Stored before the next getUpdates confirms them: a crash now loses nothing.
        await self.inbox.db.call(self.inbox.store, [s for s, _u in batch])
        for stored, update in batch:
            self.dispatcher.offer(stored, update)
        return updates[-1].update_id + 1

    def _as_sent(self) -> dict[int, dict[str, Any]]:
        """The batch as Telegram sent it, by update id (cheaper and truer than to_dict)."""
        body = self.raw.last_body if self.raw is not None else None
        if not body:
            return {}
        try:
            result = json.loads(body).get("result") or []
        except ValueError:
            return {}
        return {u["update_id"]: u for u in result if isinstance(u, dict) and "update_id" in u}
