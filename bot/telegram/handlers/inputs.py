"""Everything that is not a known command: free text, buttons, and input we cannot use."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from telegram import Update

from bot.coaching.voice_notes import Clip
from bot.telegram.context import CoachContext
from bot.telegram.handlers.adapt import deliver, event_from

log = logging.getLogger(__name__)
# Longer words are screened in a thread: reading 4,096 characters of danger signs takes about
# 0.1 s (20,000: 0.5 s), which on the event loop would stop every other chat meanwhile.
SCREEN_ON_THE_LOOP_CHARS = 1000


async def text(update: Update, context: CoachContext) -> None:
    """Route free text to the running flow (in groups only replies to the bot get here)."""
    event = event_from(update, context)
    if event is None:
        return
    if event.in_group and not event.replied_to_bot:
        return  # ordinary chat between partners is none of our business
    # Screened before the unit of work: the write lock is never held while the classifiers read.
    if len(event.text or "") <= SCREEN_ON_THE_LOOP_CHARS:
        screened = await context.services.db.call(context.services.read, event)
    else:
        screened = await asyncio.to_thread(context.services.read, event)
    await deliver(context, update, lambda tx: context.services.text(tx, event, screened))


async def button(update: Update, context: CoachContext) -> None:
    """Route a button press to the flow that made the button."""
    event = event_from(update, context)
    if event is None or update.callback_query is None:
        return
    await deliver(context, update, lambda tx: context.services.button(tx, event))


async def voice(update: Update, context: CoachContext) -> None:
    """A voice note, round video or audio file: queued to be heard (bot/telegram/hearing.py)."""
    event = event_from(update, context)
    message = update.effective_message
    if event is None or message is None or (event.in_group and not event.replied_to_bot):
        return
    media = message.voice or message.video_note or message.audio
    if media is None:
        return
    length = media.duration or 0  # seconds (a timedelta when PTB_TIMEDELTA is set)
    seconds = length.total_seconds() if isinstance(length, timedelta) else length
    clip = Clip(media.file_id, int(seconds), media.file_size, message.message_id)
    await deliver(context, update, lambda tx: context.services.voice.received(tx, event, clip))
    hearing = context.application.bot_data.get("hearing")
    if hearing is not None:  # web processes only queue: a worker hears
        hearing.wake()


async def unknown_command(update: Update, context: CoachContext) -> None:
    """Answer a command we don't know; stay quiet about commands meant for other bots."""
    event = event_from(update, context)
    message = update.effective_message
    if event is None or message is None or not message.text:
        return
    command = message.text.split()[0]
    if "@" in command and command.split("@", 1)[1].lower() != (context.bot.username or "").lower():
        return
    await deliver(
        context, update, lambda _tx: context.services.couples.reply(event, "unknown_command")
    )


async def not_text(update: Update, context: CoachContext) -> None:
    """A sticker, photo, voice note...: say what we can read (in groups only when aimed at us)."""
    event = event_from(update, context)
    if event is None or (event.in_group and not event.replied_to_bot):
        return
    voice = context.services.settings.voice_enabled
    await deliver(
        context, update, lambda _tx: context.services.couples.reply(event, "not_text", voice=voice)
    )
