"""The scheduler's side: one fixed-id repeating job finds due nudges in the database and
sends them within Telegram's flood limits; /quiet sets a person's quiet hours."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.context import CoachContext
from bot.handlers.adapt import command_argument, deliver, event_from, send_one
from bot.nudges import Delivery
from bot.storage.db import utcnow

log = logging.getLogger(__name__)

TICK_JOB = "nudges:tick"
IN_FLIGHT = 100  # messages awaiting the rate limiter at once; it paces them to the limits
BATCH = 50  # nudges claimed per database round
_running = asyncio.Lock()


async def quiet(update: Update, context: CoachContext) -> None:
    """Show or set the person's quiet hours."""
    event = event_from(update, context)
    if event is not None:
        await deliver(context, context.services.couples.set_quiet(event, command_argument(context)))


async def tick(context: CoachContext) -> None:
    """Send every nudge that is due; a tick still sending makes the next one a no-op."""
    if _running.locked():
        return
    async with _running:
        gate = asyncio.Semaphore(IN_FLIGHT)
        sending: list[asyncio.Task[None]] = []
        # Queue and claim in small batches, sending each at once: with many couples due in
        # one minute, the first prompts leave while later ones are still being queued.
        while True:
            # In a thread: queueing hundreds of nudges must not stall the sends in flight.
            batch = await asyncio.to_thread(context.services.nudges.collect, utcnow(), BATCH)
            sending += [asyncio.create_task(_send(context, d, gate)) for d in batch.deliveries]
            if not batch.deliveries and not batch.more:
                break
        if sending:
            log.info("sending nudges to %d chats", len(sending))
            await asyncio.gather(*sending)


async def _send(context: CoachContext, delivery: Delivery, gate: asyncio.Semaphore) -> None:
    """Send one chat's outbox messages in order; what can't go now stays for later."""
    nudges = context.services.nudges
    async with gate:
        for outbox_id, message in delivery.items:
            nudges.hold(outbox_id, utcnow())
            try:
                await send_one(context, message)
            except RetryAfter as exc:  # the rate limiter gave up retrying: later, then
                wait = exc.retry_after
                seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
                nudges.retry_at(outbox_id, utcnow() + timedelta(seconds=seconds))
                return
            except Forbidden:
                nudges.sent(outbox_id)  # blocked or removed: this one can never arrive
                await deliver(context, context.services.couples.lost_chat(message.chat_id))
                continue
            except BadRequest as exc:
                nudges.sent(outbox_id)
                log.error("a nudge to chat %s was refused: %s", message.chat_id, exc)
                continue
            except (NetworkError, TelegramError) as exc:
                log.warning(
                    "a nudge to chat %s failed, retrying in a minute: %s", message.chat_id, exc
                )
                nudges.retry_at(outbox_id, utcnow() + timedelta(minutes=1))
                return
            nudges.sent(outbox_id)
