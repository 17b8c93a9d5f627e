"""Turning Updates into Events and Replies into Bot API calls, with failures handled once here."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import datetime, timedelta

from telegram import (
    CallbackQuery,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, TelegramError

from bot.context import CoachApp, CoachContext
from bot.events import Event, Person
from bot.outbox import Outgoing, Reply
from bot.storage.db import utcnow

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
    )


def command_argument(context: CoachContext) -> str:
    return " ".join(context.args or [])


def _markup(message: Outgoing) -> InlineKeyboardMarkup | ForceReply | None:
    if message.buttons:
        return InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(b.label, url=b.url)
                    if b.url
                    else InlineKeyboardButton(b.label, callback_data=b.data)
                    for b in row
                ]
                for row in message.buttons
            ]
        )
    if message.force_reply:
        # selective: only the person mentioned in the text gets the reply box in a group.
        return ForceReply(
            selective=message.mention is not None, input_field_placeholder=message.placeholder
        )
    return None


async def send_one(context: CoachContext, message: Outgoing) -> Message | None:
    text = message.text
    reply_parameters = (
        ReplyParameters(message.reply_to_message_id, allow_sending_without_reply=True)
        if message.reply_to_message_id
        else None
    )
    if message.photo is not None:
        return await context.bot.send_photo(
            message.chat_id,
            photo=message.photo,
            caption=text or None,
            parse_mode=ParseMode.HTML,
            reply_markup=_markup(message),
        )
    if message.document is not None:
        name, content = message.document
        return await context.bot.send_document(
            message.chat_id,
            document=content,
            filename=name,
            caption=text or None,
            parse_mode=ParseMode.HTML,
        )
    return await context.bot.send_message(
        message.chat_id,
        text,
        parse_mode=ParseMode.HTML,
        reply_markup=_markup(message),
        reply_parameters=reply_parameters,
    )


async def deliver(context: CoachContext, reply: Reply, update: Update | None = None) -> None:
    """Answer the button press and send every message; one failing chat never stops the rest."""
    query = update.callback_query if update else None
    if query is None:
        await _send_all(context, reply)
        return
    # The toast and the messages are independent: send them side by side.
    await asyncio.gather(_answer(query, reply), _send_all(context, reply))


async def _answer(query: CallbackQuery, reply: Reply) -> None:
    try:
        await query.answer(reply.notice.text if reply.notice else None)
    except TelegramError as exc:
        log.warning("could not answer a button press: %s", exc)


async def _send_all(context: CoachContext, reply: Reply) -> None:
    follow_ups = Reply()
    for message in reply.messages:  # in order: a flow's messages read top to bottom
        try:
            await send_one(context, message)
        except ChatMigrated as exc:
            context.services.couples.migrated(message.chat_id, exc.new_chat_id)
            follow_ups.add(replace(message, chat_id=exc.new_chat_id))
        except Forbidden:
            follow_ups.extend(context.services.couples.lost_chat(message.chat_id))
        except BadRequest as exc:
            log.error("Telegram refused a message to chat %s: %s", message.chat_id, exc)
        except TelegramError as exc:
            log.error("sending to chat %s failed: %s", message.chat_id, exc)
    for message in follow_ups.messages:
        try:
            await send_one(context, message)
        except TelegramError as exc:
            log.warning("follow-up to chat %s failed too: %s", message.chat_id, exc)
    for run_id, at in reply.wake_ups:
        schedule_wake(context.application, run_id, at)  # type: ignore[arg-type]


def schedule_wake(application: CoachApp, run_id: int, at: datetime) -> None:
    """Wake a flow run at `at` (one job per run; the database is the source of truth)."""
    queue = application.job_queue
    if queue is None:
        return
    name = f"wake:{run_id}"
    for job in queue.get_jobs_by_name(name):
        job.schedule_removal()
    # APScheduler drops jobs more than a second late, so an overdue wake-up runs now.
    when = max(at, utcnow() + timedelta(milliseconds=100))
    queue.run_once(wake_run, when=when, data=run_id, name=name)


async def wake_run(context: CoachContext) -> None:
    """A break is over: the flow checks back and asks its question again."""
    job = context.job
    if job is not None and isinstance(job.data, int):
        await deliver(context, context.services.flows.end_break(job.data))
