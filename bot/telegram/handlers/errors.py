"""The one global error handler: log with context (never private text), apologise briefly."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from bot import metrics
from bot.core.outbox import Outgoing, Reply
from bot.telegram.context import CoachContext
from bot.words.languages import pick
from bot.words.texts import plain

log = logging.getLogger(__name__)


def describe(update: object) -> str:
    """Who and where, without what they wrote: message text is private."""
    if not isinstance(update, Update):
        return f"non-update {type(update).__name__}"
    kind = next(
        (
            k
            for k in (
                "message",
                "edited_message",
                "callback_query",
                "my_chat_member",
                "channel_post",
            )
            if getattr(update, k, None) is not None
        ),
        "other",
    )
    chat = update.effective_chat
    user = update.effective_user
    return (
        f"update={update.update_id} kind={kind} "
        f"chat={chat.id if chat else None} user={user.id if user else None}"
    )


async def on_error(update: object, context: CoachContext) -> None:
    """Log every unhandled error with the update's context and tell the person, briefly."""
    metrics.ERRORS.labels(kind="handler").inc()
    log.error("unhandled error for %s", describe(update), exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    sorry = context.services.renderer.render("common/sorry")
    if update.callback_query is not None:
        # The toast goes straight back, in the language Telegram gives (no database read:
        # the database may be what failed).
        code = update.callback_query.from_user.language_code
        toast = plain(sorry.in_(pick(None, code)))
        try:
            await context.sender.api.answer_press(update.callback_query.id, toast)
        except TelegramError:
            log.warning("could not send the apology for %s", describe(update))
        return
    chat_id = update.effective_chat.id
    try:  # the apology goes the one way out, like every message
        done = await context.services.db.call(
            context.services.work.run, lambda _tx: Reply().add(Outgoing(chat_id, sorry))
        )
    except Exception:
        log.exception("could not queue the apology for %s", describe(update))
        return
    if done is not None:
        context.sender.hand_over(done.queued)
