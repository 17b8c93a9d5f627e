"""Everything that is not a known command: free text, buttons, and input we cannot use."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update

from bot.telegram.context import CoachContext
from bot.telegram.handlers.adapt import deliver, event_from

log = logging.getLogger(__name__)


async def text(update: Update, context: CoachContext) -> None:
    """Route free text to the running flow (in groups only replies to the bot get here)."""
    event = event_from(update, context)
    if event is None:
        return
    if event.in_group and not event.replied_to_bot:
        return  # ordinary chat between partners is none of our business
    # Screened before the unit of work: the write lock is never held while the classifiers read.
    screened = await asyncio.to_thread(context.services.safety.read, event)
    await deliver(context, update, lambda: context.services.text(event, screened))


async def button(update: Update, context: CoachContext) -> None:
    """Route a button press to the flow that made the button."""
    event = event_from(update, context)
    if event is None or update.callback_query is None:
        return
    await deliver(context, update, lambda: context.services.button(event))


async def unknown_command(update: Update, context: CoachContext) -> None:
    """Answer a command we don't know; stay quiet about commands meant for other bots."""
    event = event_from(update, context)
    message = update.effective_message
    if event is None or message is None or not message.text:
        return
    command = message.text.split()[0]
    if "@" in command and command.split("@", 1)[1].lower() != (context.bot.username or "").lower():
        return
    await deliver(context, update, lambda: context.services.couples.reply(event, "unknown_command"))


async def not_text(update: Update, context: CoachContext) -> None:
    """A sticker, photo, voice note...: say what we can read (in groups only when aimed at us)."""
    event = event_from(update, context)
    if event is None or (event.in_group and not event.replied_to_bot):
        return
    await deliver(context, update, lambda: context.services.couples.reply(event, "not_text"))
