"""One budget for Telegram's flood limits, shared by every message the bot sends.

Telegram allows about 30 messages a second overall, 20 a minute per group and about one
a second per chat (short bursts tolerated). Every send takes its chat's turn, then a slot
of the overall rate; waiting slots go to the most urgent first (a reply to someone who
just acted before a scheduled nudge), so a crowded minute of prompts never makes a
conversation wait. Telegram-free and clock-driven by the event loop.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import deque
from dataclasses import dataclass, field


@dataclass
class _Chat:
    tokens: float
    refreshed: float
    sent: deque[float] = field(default_factory=deque)  # groups: send times in the last minute
    hold_until: float = 0.0


HEADROOM = 0.99  # of the overall rate
CATCH_UP = 0.005  # seconds of lateness a slot may make up (more is lost, never bunched)


class FloodBudget:
    def __init__(
        self,
        overall_per_second: float = 30,
        group_per_minute: float = 20,
        chat_per_second: float = 1,
        chat_burst: int = 3,
    ) -> None:
        # Slots keep to a grid a hair under Telegram's rate: a late wake-up (the event loop
        # was busy) is made up from the grid, not lost, while the 1 % headroom keeps any
        # 31 sends more than a second apart despite the clock's jitter.
        self.interval = 1 / (overall_per_second * HEADROOM)
        self.group_per_minute = group_per_minute
        self.chat_per_second = chat_per_second
        self.chat_burst = chat_burst
        self._chats: dict[int, _Chat] = {}
        self._next = 0.0
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._pump: asyncio.Task[None] | None = None

    def hold(self, chat_id: int, seconds: float) -> None:
        """Telegram said 429 for this chat: nothing more to it until then."""
        chat = self._chat(chat_id, asyncio.get_running_loop().time())
        chat.hold_until = max(chat.hold_until, asyncio.get_running_loop().time() + seconds)

    async def take(self, chat_id: int, priority: int) -> None:
        """Wait for this chat's turn, then for a slot of the overall rate."""
        await self._chat_turn(chat_id)
        await self._overall(priority)

    def _chat(self, chat_id: int, now: float) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            if len(self._chats) > 10_000:  # forget chats idle for a minute
                self._chats = {
                    k: v for k, v in self._chats.items() if now - v.refreshed < 60 or v.sent
                }
            chat = self._chats[chat_id] = _Chat(tokens=self.chat_burst, refreshed=now)
        return chat

    async def _chat_turn(self, chat_id: int) -> None:
        loop = asyncio.get_running_loop()
        group = chat_id < 0
        while True:
            now = loop.time()
            chat = self._chat(chat_id, now)
            chat.tokens = min(
                self.chat_burst, chat.tokens + (now - chat.refreshed) * self.chat_per_second
            )
            chat.refreshed = now
            while chat.sent and now - chat.sent[0] >= 60:
                chat.sent.popleft()
            waits = [chat.hold_until - now]
            if chat.tokens < 1:
                waits.append((1 - chat.tokens) / self.chat_per_second)
            if group and len(chat.sent) >= self.group_per_minute:
                waits.append(60 - (now - chat.sent[0]))
            wait = max(waits)
            if wait <= 0:
                chat.tokens -= 1
                if group:
                    chat.sent.append(now)
                return
            await asyncio.sleep(wait)

    async def _overall(self, priority: int) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        if not self._waiters and now >= self._next:
            self._next = now + self.interval
            return
        turn: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._waiters, (priority, next(self._order), turn))
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._hand_out())
        await turn

    async def _hand_out(self) -> None:
        """Give each overall slot to the most urgent waiter, one slot per interval."""
        loop = asyncio.get_running_loop()
        while self._waiters:
            wait = self._next - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            _priority, _order, turn = heapq.heappop(self._waiters)
            if turn.done():  # its sender gave up (stopping)
                continue
            turn.set_result(None)
            now = loop.time()
            self._next = max(self._next + self.interval, now + self.interval - CATCH_UP)
