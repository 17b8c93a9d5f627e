"""Commands that start a flow (one handler for every flow's command), and /agreements."""

from __future__ import annotations

from telegram import Update

from bot.core.outbox import Reply
from bot.core.work import Tx
from bot.telegram.context import CoachContext
from bot.telegram.handlers.adapt import deliver, event_from


async def start_flow(update: Update, context: CoachContext) -> None:
    """Start the flow whose command this is (e.g. /letgo, /sotu)."""
    event = event_from(update, context)
    message = update.effective_message
    if event is None or message is None or not message.text:
        return
    command = message.text.split()[0][1:].split("@")[0].lower()
    services = context.services
    flow = services.flows.by_command(command)
    if flow is None:
        return

    def work(tx: Tx) -> Reply:
        if not event.in_group:
            services.couples.register(tx, event.person)
        return services.flows.start(tx, event, flow)

    await deliver(context, update, work)


async def agreements(update: Update, context: CoachContext) -> None:
    """List the couple's agreements."""
    event = event_from(update, context)
    if event is not None:
        await deliver(context, update, lambda tx: context.services.agreements.show(tx, event))
