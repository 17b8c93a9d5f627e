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
        # Claim in small batches and start sending each batch at once: with many couples
        # due in one minute, the first prompts leave while later ones are still claimed.
        while batch := context.services.nudges.collect(utcnow(), limit=BATCH):
            sending += [asyncio.create_task(_send(context, d, gate)) for d in batch]
            await asyncio.sleep(0)
        if sending:
            log.info("sending %d nudges", len(sending))
            await asyncio.gather(*sending)


async def _send(context: CoachContext, delivery: Delivery, gate: asyncio.Semaphore) -> None:
    """Send one nudge's messages. Nothing is dropped: what can't go now is held for later."""
    nudges = context.services.nudges
    async with gate:
        for message in delivery.messages:
            try:
                await send_one(context, message)
            except RetryAfter as exc:  # the rate limiter gave up retrying: try again later
                wait = exc.retry_after
                seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
                nudges.defer_later(message, utcnow() + timedelta(seconds=seconds), utcnow())
            except Forbidden:
                if message.chat_id > 0:
                    await deliver(
                        context, context.services.couples.mark_unreachable(message.chat_id)
                    )
                else:
                    await deliver(context, context.services.couples.bot_removed(message.chat_id))
            except BadRequest as exc:
                log.error("a nudge to chat %s was refused: %s", message.chat_id, exc)
            except (NetworkError, TelegramError) as exc:
                log.warning(
                    "a nudge to chat %s failed, retrying in a minute: %s", message.chat_id, exc
                )
                nudges.defer_later(message, utcnow() + timedelta(minutes=1), utcnow())
    if delivery.log_id is not None:
        nudges.mark_sent(delivery.log_id, utcnow())
