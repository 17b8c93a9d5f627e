"""The emulator's webhook mode: updates pushed to a URL the way Telegram's Bot API server
delivers them. One update at a time per chat, the next only after a 2xx; on an error or a
timeout the same update again, with growing backoff; the secret token in the
`X-Telegram-Bot-Api-Secret-Token` header; at most `max_connections` requests at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bot.core import clock

FIRST_RETRY, LAST_RETRY = 0.05, 2.0  # Telegram waits longer; tests should not
TIMEOUT = 30.0


def update_chat(update: dict[str, Any]) -> int | None:
    """The chat whose updates go one at a time (the person's, for a private button press)."""
    for kind in ("message", "edited_message", "channel_post", "my_chat_member", "chat_member"):
        if isinstance(update.get(kind), dict):
            return int(update[kind]["chat"]["id"])
    query = update.get("callback_query")
    if isinstance(query, dict):
        message = query.get("message")
        if isinstance(message, dict):
            return int(message["chat"]["id"])
        return int(query["from"]["id"])
    return None


@dataclass
class WebhookTarget:
    url: str
    secret: str
    max_connections: int
    delivered: int = 0
    failed_attempts: int = 0
    last_error: str = ""
    last_error_at: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)


class WebhookPusher:
    """Pushes a server's queued updates to its webhook until the webhook is deleted."""

    def __init__(self, server: Any, target: WebhookTarget) -> None:
        self.server = server
        self.target = target
        self._busy: set[int | None] = set()
        self._sending: set[int] = set()
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="webhook-pusher")
        self._stopped = False

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        self._stopped = True
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=TIMEOUT)
        gate = asyncio.Semaphore(self.target.max_connections)
        tasks: set[asyncio.Task[None]] = set()
        async with aiohttp.ClientSession(timeout=timeout) as session:
            try:
                while not self._stopped:
                    self._wake.clear()
                    seen: set[int | None] = set()
                    for update in list(self.server._updates):
                        chat = update_chat(update)
                        if chat in seen or chat in self._busy:
                            seen.add(chat)  # an older one of this chat goes first
                            continue
                        seen.add(chat)
                        if update["update_id"] in self._sending:
                            continue
                        self._busy.add(chat)
                        self._sending.add(update["update_id"])
                        task = asyncio.create_task(self._deliver(session, gate, update, chat))
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
                    await self._wake.wait()
            finally:
                for task in tasks:
                    task.cancel()

    async def _deliver(
        self,
        session: aiohttp.ClientSession,
        gate: asyncio.Semaphore,
        update: dict[str, Any],
        chat: int | None,
    ) -> None:
        backoff = FIRST_RETRY
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.target.secret}
        try:
            while not self._stopped:
                status, error = 0, ""
                async with gate:
                    try:
                        async with session.post(
                            self.target.url, json=update, headers=headers
                        ) as response:
                            status = response.status
                            await response.read()
                    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                        error = f"{type(exc).__name__}: {exc}"
                self.target.statuses[status] = self.target.statuses.get(status, 0) + 1
                if 200 <= status < 300:
                    self.target.delivered += 1
                    self.server._webhook_delivered(update)
                    return
                self.target.failed_attempts += 1
                self.target.last_error = error or f"Wrong response from the webhook: {status}"
                self.target.last_error_at = clock.now().timestamp()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, LAST_RETRY)
        finally:
            self._busy.discard(chat)
            self._sending.discard(update["update_id"])
            self._wake.set()
