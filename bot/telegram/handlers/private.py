"""Commands in a private chat: welcome, pairing, the couple's settings."""

from __future__ import annotations

from telegram import Update

from bot.core.outbox import Reply
from bot.core.work import Tx
from bot.telegram.context import CoachContext
from bot.telegram.handlers.adapt import command_argument, deliver, event_from


async def start(update: Update, context: CoachContext) -> None:
    """Welcome the person, or pair them when they came through an invite link."""
    event = event_from(update, context)
    if event is None:
        return
    couples, payload = context.services.couples, command_argument(context)

    def work(tx: Tx) -> Reply:
        new = couples.register(tx, event.person)
        reply = couples.start(tx, event, payload)
        languages, code = context.services.languages, event.person.language_code
        if not payload and not languages.reads_code(code):
            reply.extend(languages.safety_unread(event.chat_id, code))
        if new:  # asked once; /language asks again
            reply.extend(languages.form_question(tx, event))
        return reply

    await deliver(context, update, work)


async def language(update: Update, context: CoachContext) -> None:
    """Show or choose the language: the person's in private, the couple's in their group."""
    event = event_from(update, context)
    if event is None:
        return
    services, argument = context.services, command_argument(context)

    def work(tx: Tx) -> Reply:
        if not event.in_group:
            services.couples.register(tx, event.person)
        return services.languages.command(tx, event, argument)

    await deliver(context, update, work)


async def help_command(update: Update, context: CoachContext) -> None:
    """List the commands for this kind of chat."""
    event = event_from(update, context)
    if event is None:
        return
    services = context.services
    commands = services.group_commands if event.in_group else services.commands
    await deliver(
        context, update, lambda _tx: services.couples.reply(event, "help", commands=commands)
    )


async def invite(update: Update, context: CoachContext) -> None:
    """Send an invite deep link to forward to the partner."""
    event = event_from(update, context)
    if event is None:
        return
    couples = context.services.couples

    def work(tx: Tx) -> Reply:
        couples.register(tx, event.person)
        return couples.invite(tx, event)

    await deliver(context, update, work)


async def join(update: Update, context: CoachContext) -> None:
    """Join the partner with the code from their invite."""
    event = event_from(update, context)
    if event is None:
        return
    couples, code = context.services.couples, command_argument(context)

    def work(tx: Tx) -> Reply:
        couples.register(tx, event.person)
        return couples.join(tx, event, code) if code else couples.reply(event, "join_how")

    await deliver(context, update, work)


async def location(update: Update, context: CoachContext) -> None:
    """A shared location, in a private chat: the time zone it is in (nothing is stored)."""
    event = event_from(update, context)
    if event is not None and event.location is not None:
        await deliver(context, update, lambda tx: context.services.couples.located(tx, event))


async def timezone(update: Update, context: CoachContext) -> None:
    """Show or set the couple's timezone."""
    event = event_from(update, context)
    if event is not None:
        argument = command_argument(context)
        await deliver(
            context, update, lambda tx: context.services.couples.set_timezone(tx, event, argument)
        )


async def schedule(update: Update, context: CoachContext) -> None:
    """Show or set the weekly State of the Union slot."""
    event = event_from(update, context)
    if event is not None:
        argument = command_argument(context)
        await deliver(
            context, update, lambda tx: context.services.couples.schedule(tx, event, argument)
        )


async def pause(update: Update, context: CoachContext) -> None:
    """Stop nudges for the couple until /resume."""
    event = event_from(update, context)
    if event is not None:
        await deliver(
            context, update, lambda tx: context.services.couples.set_paused(tx, event, True)
        )


async def resume(update: Update, context: CoachContext) -> None:
    """Turn nudges back on."""
    event = event_from(update, context)
    if event is not None:
        await deliver(
            context, update, lambda tx: context.services.couples.set_paused(tx, event, False)
        )


async def cancel(update: Update, context: CoachContext) -> None:
    """Leave whatever flow is running; say so even when none is."""
    event = event_from(update, context)
    if event is not None:
        await deliver(context, update, lambda tx: context.services.cancel(tx, event))


async def private_only(update: Update, context: CoachContext) -> None:
    """A private-chat command sent in a group: point to the private chat."""
    event = event_from(update, context)
    if event is not None:
        await deliver(
            context, update, lambda _tx: context.services.couples.reply(event, "private_only")
        )


async def safe(update: Update, context: CoachContext) -> None:
    """Show where to get help (always in private)."""
    event = event_from(update, context)
    if event is not None:
        await deliver(context, update, lambda tx: context.services.safety.safe(tx, event))


async def space(update: Update, context: CoachContext) -> None:
    """Our space: a button that opens the Mini App (a link to it in the group)."""
    event = event_from(update, context)
    if event is not None:
        await deliver(context, update, lambda tx: context.services.space.open(tx, event))


async def privacy(update: Update, context: CoachContext) -> None:
    """Explain what is stored, why, for how long, and who can see it."""
    event = event_from(update, context)
    if event is not None:
        await deliver(context, update, lambda _tx: context.services.rights.privacy(event))


async def export(update: Update, context: CoachContext) -> None:
    """Send the person a JSON document with everything stored about them."""
    event = event_from(update, context)
    if event is not None:
        await deliver(context, update, lambda tx: context.services.rights.export(tx, event))


async def forget(update: Update, context: CoachContext) -> None:
    """Ask to confirm deleting everything about the person."""
    event = event_from(update, context)
    if event is not None:
        await deliver(context, update, lambda tx: context.services.rights.ask_to_forget(tx, event))
