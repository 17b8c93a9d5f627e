"""The scheduler's side: one fixed-id repeating job queues what is due (the one clock);
the sender delivers it. /quiet sets a person's quiet hours."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from telegram import Update

from bot import metrics
from bot.storage.db import utcnow
from bot.telegram.context import CoachContext
from bot.telegram.handlers.adapt import command_argument, deliver, event_from

log = logging.getLogger(__name__)

TICK_JOB = "nudges:tick"
BATCH = 20  # due actions of each kind per round; each action is its own short transaction
MAX_ROUNDS = 1000  # per tick; what is left waits for the next tick


async def quiet(update: Update, context: CoachContext) -> None:
    """Show or set the person's quiet hours."""
    event = event_from(update, context)
    if event is not None:
        argument = command_argument(context)
        await deliver(
            context, update, lambda tx: context.services.couples.set_quiet(tx, event, argument)
        )


class Ticker:
    """The one clock's job, which APScheduler only wakes: the schedule is in the database.

    It owns what a tick needs: a lock, so that a tick still queueing makes the next ones
    return at once, and its own thread, so a crowded minute of prompts never queues in front
    of the database work of a reply (they take turns per transaction, on the writer mutex).
    """

    def __init__(self) -> None:
        self._running = asyncio.Lock()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clock")

    async def tick(self, context: CoachContext) -> None:
        """Queue everything that is due."""
        if self._running.locked():
            return
        async with self._running:
            # In small batches, so the sender starts on the first ones at once; a bounded
            # number of rounds, so an action that keeps coming back due cannot hold the
            # clock forever.
            for _round in range(MAX_ROUNDS):
                queued = await asyncio.get_running_loop().run_in_executor(
                    self._thread, context.services.nudges.queue_due, utcnow(), BATCH
                )
                if not queued:
                    break
                metrics.NUDGES.inc(queued)
                context.sender.wake()
            metrics.TICKS.inc()

    def close(self) -> None:
        self._thread.shutdown(wait=False)
