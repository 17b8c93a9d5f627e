"""Turning Updates into Events, and a service's Reply into stored, then sent, messages."""

from __future__ import annotations

import logging
from collections.abc import Callable

from telegram import CallbackQuery, Update
from telegram.error import TelegramError

from bot.core.events import Event, Person
from bot.core.outbox import Reply
from bot.core.work import Tx
from bot.storage.db import utcnow
from bot.telegram.context import CoachContext
from bot.words.texts import plain

log = logging.getLogger(__name__)


def event_from(update: Update, context: CoachContext, *, text: str | None = None) -> Event | None:
    """Build an Event from a message or button press; None when there is no person behind it."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None or user.is_bot:
        return None
    message = update.effective_message
    replied_to_bot = bool(
        message is not None
        and message.reply_to_message is not None
        and message.reply_to_message.from_user is not None
        and message.reply_to_message.from_user.id == context.bot.id
    )
    query = update.callback_query
    return Event(
        person=Person(id=user.id, first_name=user.first_name, language_code=user.language_code),
        chat_id=chat.id,
        in_group=chat.type != "private",
        at=utcnow(),
        text=text if text is not None else (message.text if message and not query else None),
        button=query.data if query else None,
        update_id=update.update_id,
        replied_to_bot=replied_to_bot,
        location=(
            (message.location.latitude, message.location.longitude)
            if message is not None and message.location is not None and not query
            else None
        ),
    )


def command_argument(context: CoachContext) -> str:
    return " ".join(context.args or [])


async def deliver(context: CoachContext, update: Update, work: Callable[[Tx], Reply]) -> None:
    """Do `work` off the event loop in one transaction with this update's claim and its
    messages; then send them and answer the button press. A redelivered update does nothing."""
    user = update.effective_user
    hint = (user.id, user.language_code) if user is not None else None
    done = await context.services.db.call(
        context.services.work.run, work, update_id=update.update_id, hint=hint
    )
    if done is not None:
        context.sender.hand_over(done.queued)
    query = update.callback_query
    if query is not None:  # toasts are the one thing not kept: a lost one is harmless
        await _answer(context, query, done.toast if done is not None else None)


async def _answer(context: CoachContext, query: CallbackQuery, text: str | None) -> None:
    try:
        await context.sender.api.answer_press(query.id, plain(text) if text else None)
    except TelegramError as exc:
        log.warning("could not answer a button press: %s", exc)
