"""The couple's shared group: joining, linking, leaving, and supergroup upgrades."""

from __future__ import annotations

import logging

from telegram import ChatMember, Update

from bot.core.outbox import Reply
from bot.core.work import Tx
from bot.telegram.context import CoachContext
from bot.telegram.handlers.adapt import deliver, event_from

log = logging.getLogger(__name__)

PRESENT = {ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER, ChatMember.RESTRICTED}


async def membership_changed(update: Update, context: CoachContext) -> None:
    """Greet a group the bot was added to; unlink one it was removed from."""
    change = update.my_chat_member
    if change is None:
        return
    chat = change.chat
    was = change.old_chat_member.status in PRESENT
    now = change.new_chat_member.status in PRESENT
    couples = context.services.couples
    if chat.type == "private":
        if not now:  # the person blocked the bot
            await deliver(context, update, lambda tx: couples.mark_unreachable(tx, chat.id))
        return
    if now and not was:
        await deliver(context, update, lambda _tx: couples.bot_added(chat.id))
    elif was and not now:
        await deliver(context, update, lambda tx: couples.bot_removed(tx, chat.id))


async def link(update: Update, context: CoachContext) -> None:
    """Make this group the couple's shared space (couple members only)."""
    event = event_from(update, context)
    if event is None:
        return
    couples = context.services.couples
    if not event.in_group:
        await deliver(context, update, lambda _tx: couples.reply(event, "link_in_group"))
        return
    await deliver(context, update, lambda tx: couples.link(tx, event))


async def migrated(update: Update, context: CoachContext) -> None:
    """Follow a group that became a supergroup to its new id (and what waits to be sent)."""
    message = update.effective_message
    if message is None or not message.migrate_to_chat_id:
        return
    old, new = message.chat.id, message.migrate_to_chat_id

    def work(tx: Tx) -> Reply:
        context.services.group_moved(tx, old, new)
        return Reply()

    await deliver(context, update, work)
    log.info("group %s migrated to %s", old, new)
