"""The one wiring module: settings -> services -> Application with its handlers, and the
three loops around it: the poller and dispatcher (the one way in), the sender (the one way
out) and the scheduler's tick (the one clock)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    LinkPreviewOptions,
    MenuButtonWebApp,
    WebAppInfo,
)
from telegram.constants import ParseMode
from telegram.ext import (
    ApplicationBuilder,
    BaseHandler,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)

from bot.coaching.services import Services, build_services
from bot.config import Settings
from bot.core.budget import FloodBudget
from bot.core.memory import give_back
from bot.storage.db import utcnow
from bot.telegram.context import CoachApp, CoachContext
from bot.telegram.handlers import errors, flows, group, inputs, nudges, private
from bot.telegram.hearing import Hearing
from bot.telegram.http import AiohttpRequest
from bot.telegram.intake import Dispatcher, Poller
from bot.telegram.sender import BotApi, Sender
from bot.voice.transcriber import Transcriber
from bot.words.languages import ENGLISH, SHIPPED

log = logging.getLogger(__name__)
FIRST_BATCH_WAIT = 1.0  # the slot fill waits at most this long for the first batch


def learn_username(application: CoachApp) -> None:
    """Invite links name the bot: its username came from getMe, at initialisation."""
    services: Services = application.bot_data["services"]
    services.couples.bot_username = application.bot.username


def use_db_threads(services: Services) -> None:
    """Database work runs in worker threads. SQLite writes one transaction at a time, so
    one thread is enough there; more would only contend with the event loop for the GIL."""
    threads = 1 if services.db.engine.dialect.name == "sqlite" else 8
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=threads, thread_name_prefix="db")
    )


def build_application(settings: Settings, services: Services, *, hears: bool = True) -> CoachApp:
    """The PTB application with our sender, our hearing and every handler."""
    application = _ptb_application(settings)
    _attach_services(application, settings, services, hears)
    # Order matters: the first matching handler wins. Each one claims its update in the
    # transaction of its work (bot/telegram/handlers/adapt.py), so a redelivery does nothing.
    application.add_handlers(_handlers(settings, services))
    application.add_error_handler(errors.on_error)
    return application


def _ptb_application(settings: Settings) -> CoachApp:
    token = settings.require_token()
    base = settings.telegram_api_base_url
    # One pool for sending; long polls get their own connection, so sends never wait.
    requests = [
        AiohttpRequest(pool_size=settings.http_pool_size),
        AiohttpRequest(pool_size=1, read_timeout=5.0, keep_last_body=True),
    ]
    application: CoachApp = (
        ApplicationBuilder()
        .token(token)
        .base_url(base)
        .base_file_url(base[: -len("bot")] + "file/bot" if base.endswith("bot") else base)
        .context_types(ContextTypes(context=CoachContext))
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        # No updater: our poller stores each batch before confirming it (bot/telegram/intake.py).
        # No rate limiter: the sender keeps the one flood budget (bot/core/budget.py).
        .updater(None)
        .concurrent_updates(True)
        .request(requests[0])
        .get_updates_request(requests[1])
        .build()
    )
    application.bot_data["requests"] = requests
    return application


def _attach_services(
    application: CoachApp, settings: Settings, services: Services, hears: bool
) -> None:
    """The services, the one way out (the sender) and the speech model's queue."""
    application.bot_data["services"] = services
    application.bot_data["ticker"] = nudges.Ticker()
    application.bot_data["sender"] = Sender(
        BotApi.of(application.bot),
        services.outbox,
        FloodBudget(
            overall_per_second=settings.flood_overall_per_second,
            group_per_minute=settings.flood_group_per_minute,
            chat_per_second=settings.flood_chat_per_second,
        ),
        lost_chat=services.chat_lost,
        moved_chat=services.follow_group,
    )
    # Voice notes are heard where messages are sent from (`run`, workers), never in web
    # processes; with voice off, a voice note gets the "I can read text" answer.
    hearing = settings.voice_enabled and hears
    application.bot_data["hearing"] = Hearing(
        application.bot,
        services,
        application.bot_data["sender"],
        Transcriber(
            settings.voice_model_dir or None,
            workers=settings.voice_workers or None,
            threads=settings.voice_threads or None,
        )
        if hearing
        else None,
    )


def _handlers(settings: Settings, services: Services) -> list[BaseHandler[Any, Any, Any]]:
    flow_commands = [c for c, _description in services.commands if services.flows.by_command(c)]
    private_chat = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS
    new_message = (
        filters.UpdateType.MESSAGE
    )  # edits are ignored on purpose: we act on what was sent

    return [
        # The couple's group: membership, upgrades, linking.
        ChatMemberHandler(group.membership_changed, ChatMemberHandler.MY_CHAT_MEMBER),
        MessageHandler(filters.StatusUpdate.MIGRATE, group.migrated),
        CommandHandler("link", group.link, filters=new_message),
        # Private commands: welcome, pairing, settings.
        CommandHandler("start", private.start, filters=private_chat & new_message),
        CommandHandler("invite", private.invite, filters=private_chat & new_message),
        CommandHandler("join", private.join, filters=private_chat & new_message),
        CommandHandler(
            ["start", "invite", "join"], private.private_only, filters=groups & new_message
        ),
        CommandHandler("help", private.help_command, filters=new_message),
        CommandHandler("timezone", private.timezone, filters=new_message),
        CommandHandler("schedule", private.schedule, filters=new_message),
        CommandHandler("pause", private.pause, filters=new_message),
        CommandHandler("resume", private.resume, filters=new_message),
        CommandHandler("cancel", private.cancel, filters=new_message),
        CommandHandler("quiet", nudges.quiet, filters=new_message),
        CommandHandler("language", private.language, filters=new_message),
        CommandHandler("safe", private.safe, filters=new_message),
        CommandHandler("space", private.space, filters=new_message),
        CommandHandler("privacy", private.privacy, filters=new_message),
        CommandHandler(["export", "forget"], private.private_only, filters=groups & new_message),
        CommandHandler("export", private.export, filters=private_chat & new_message),
        CommandHandler("forget", private.forget, filters=private_chat & new_message),
        # Coaching flows: every flow's own command, and the couple's agreements.
        CommandHandler(flow_commands, flows.start_flow, filters=new_message),
        CommandHandler("agreements", flows.agreements, filters=new_message),
        # Buttons and free text go to the running flow.
        CallbackQueryHandler(inputs.button),
        MessageHandler(new_message & filters.TEXT & ~filters.COMMAND, inputs.text),
        MessageHandler(new_message & filters.LOCATION & private_chat, private.location),
        MessageHandler(
            new_message
            & (filters.VOICE | filters.VIDEO_NOTE | filters.AUDIO)
            & (filters.ALL if settings.voice_enabled else ~filters.ALL),
            inputs.voice,
        ),
        # What is left: unknown commands, and input we cannot read.
        MessageHandler(new_message & filters.COMMAND, inputs.unknown_command),
        MessageHandler(new_message & ~filters.TEXT & ~filters.StatusUpdate.ALL, inputs.not_text),
    ]


async def on_startup(application: CoachApp) -> None:
    """One process does everything (`us-coach run`): menus, and the clock. The menus are
    published beside the first conversations: people waiting on a fresh start come first."""
    learn_username(application)
    background(application, publish_commands(application), "menus")
    await start_clock(application)


def background(application: CoachApp, work: Coroutine[Any, Any, None], name: str) -> None:
    """Start-up work nobody waits for; kept referenced, and its failure logged."""

    def done(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("start-up work %r failed", name, exc_info=task.exception())

    task = asyncio.create_task(work, name=name)
    task.add_done_callback(done)
    application.bot_data.setdefault("background", set()).add(task)


async def publish_commands(application: CoachApp) -> None:
    """The command menus (`run` at start; at scale, `us-coach webhook set`, a release step)."""
    services: Services = application.bot_data["services"]
    menus = (
        (services.commands, BotCommandScopeAllPrivateChats()),
        (services.group_commands, BotCommandScopeAllGroupChats()),
    )
    url = services.settings.miniapp_url
    if url:  # the menu button opens Our space; one for all chats (it takes no language)
        label = services.renderer.label_in(ENGLISH, "common/space_button")
        await application.bot.set_chat_menu_button(
            menu_button=MenuButtonWebApp(label, WebAppInfo(url))
        )
    # English is the default (no language_code): anyone whose language we do not ship.
    for lang in SHIPPED:
        for menu, scope in menus:
            await application.bot.set_my_commands(
                [BotCommand(c, d.in_(lang)) for c, d in menu],
                scope=scope,
                language_code=None if lang == ENGLISH else lang,
            )


async def start_clock(application: CoachApp) -> None:
    """The one clock's job: the tick that finds due work (the daily retention is one of its
    wake-ups, bot/coaching/nudges/timers.py)."""
    # Filling in missing weekly slots (after an upgrade) takes a second for 100,000 couples:
    # it runs beside the first conversations, and the tick starts once it is done.
    background(application, _schedule_then_tick(application), "schedule")


async def _schedule_then_tick(application: CoachApp) -> None:
    services: Services = application.bot_data["services"]
    polled: asyncio.Event | None = application.bot_data.get("polled")
    if polled is not None:  # a polling process: the people waiting at the start come first
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(polled.wait(), FIRST_BATCH_WAIT)
    began = time.perf_counter()
    # Its own thread: on SQLite the database work of the first conversations has one thread
    # (use_db_threads), which the fill would hold for its whole second.
    own = ThreadPoolExecutor(1, thread_name_prefix="schedule")
    try:
        loop = asyncio.get_running_loop()
        rebuilt = await loop.run_in_executor(own, services.nudges.rebuild, utcnow())
        if rebuilt:
            took = time.perf_counter() - began
            log.info("scheduled the weekly prompt of %d couples in %.2f s", rebuilt, took)
            give_back()  # the fill's batches, freed in its thread's arena
    except Exception:  # the tick still runs: what has a slot is still due on time
        log.exception("could not fill in the weekly slots; the next start tries again")
    finally:
        own.shutdown(wait=False)
    # The schedule lives in the database; one fixed-id job looks for what is due.
    assert application.job_queue is not None
    ticker: nudges.Ticker = application.bot_data["ticker"]
    application.job_queue.run_repeating(
        ticker.tick,
        interval=services.settings.nudge_tick_seconds,
        first=0.5,
        name=nudges.TICK_JOB,
        # A tick still queueing lets the next ones return at once (see nudges.Ticker).
        job_kwargs={"id": nudges.TICK_JOB, "replace_existing": True, "max_instances": 3},
    )


def our_space(settings: Settings, services: Services, sender: Sender) -> Any:
    """The Mini App's server in the one-process mode (MINIAPP_PORT), or None; its
    confirmations go to this process's sender at once."""
    if not settings.miniapp_port:
        return None
    from bot.miniapp import stand_in
    from bot.miniapp.app import TELEGRAM_JS, miniapp_routes
    from bot.miniapp.stand_in import stand_in_routes
    from bot.telegram.web import quiet_server

    script = settings.miniapp_script or TELEGRAM_JS
    routes = miniapp_routes(
        services, settings.telegram_bot_token, telegram_js=script, hand_over=sender.hand_over
    )
    if script == stand_in.PATH:  # the playground's own stand-in, never Telegram's
        routes += stand_in_routes()
    log.info("Our space is served on %s:%s/app/", settings.miniapp_host, settings.miniapp_port)
    return quiet_server(routes, settings.miniapp_host, settings.miniapp_port)


def _loops(  # the process's parts, each its own loop
    halt: asyncio.Event,
    sender: Sender,
    dispatcher: Dispatcher,
    poller: Poller,
    hearing: Hearing,
    space: Any,
) -> list[asyncio.Task[Any]]:
    loops = [
        asyncio.create_task(sender.run(halt), name="sender"),
        asyncio.create_task(dispatcher.run(halt), name="dispatcher"),
        asyncio.create_task(poller.run(halt), name="poller"),
        asyncio.create_task(hearing.run(halt), name="hearing"),
    ]
    if space is not None:
        loops.append(asyncio.create_task(space.serve(), name="our-space"))
    return loops


async def _stop_in_order(
    halt: asyncio.Event,
    space: Any,
    loops: list[asyncio.Task[Any]],
    dispatcher: Dispatcher,
    sender: Sender,
) -> None:
    """No new updates; finish those being handled; then the messages already handed to
    Telegram; give the rest back to the outbox. A loop that failed fails the process."""
    log.info("stopping")
    halt.set()
    if space is not None:
        space.should_exit = True
    await asyncio.gather(*loops, return_exceptions=True)
    await dispatcher.drain()
    await sender.drain()
    for loop_task in loops:
        if loop_task.done() and not loop_task.cancelled() and loop_task.exception():
            raise loop_task.exception()  # type: ignore[misc]


async def serve(
    settings: Settings,
    stop: asyncio.Event,
    ready: asyncio.Event | None = None,
    on_started: Callable[[CoachApp], None] | None = None,
) -> None:
    """Run the bot with long polling until `stop` is set. `us-coach run`, the tests and the
    playground share it (`on_started` hands the running application to the playground)."""
    services = build_services(settings)
    use_db_threads(services)
    application = build_application(settings, services)
    sender: Sender = application.bot_data["sender"]
    hearing: Hearing = application.bot_data["hearing"]
    dispatcher = Dispatcher(application, services.inbox, services.work)
    poller = Poller(
        application,
        services.inbox,
        dispatcher,
        timeout=settings.poll_timeout,
        raw=application.bot_data["requests"][1],
    )
    application.bot_data["polled"] = poller.polled
    halt = asyncio.Event()  # stops taking new work; `stop` may come from outside at any time
    try:
        async with application:
            await on_startup(application)
            await application.start()
            await dispatcher.resume()
            space = our_space(settings, services, sender)
            loops = _loops(halt, sender, dispatcher, poller, hearing, space)
            log.info("Us Coach is running as @%s", application.bot.username)
            if on_started is not None:
                on_started(application)
            if ready is not None:
                ready.set()
            stopped = asyncio.ensure_future(stop.wait())
            try:
                await asyncio.wait([stopped, *loops], return_when=asyncio.FIRST_COMPLETED)
            except asyncio.CancelledError:
                # Killed rather than stopped: end our loops as a dead process would, giving
                # nothing back; leases run out and the next process takes over.
                for loop_task in loops:
                    loop_task.cancel()
                sender.abort()
                dispatcher.abort()
                await application.stop()
                raise
            stopped.cancel()
            await _stop_in_order(halt, space, loops, dispatcher, sender)
            await application.stop()
    finally:
        # If start-up failed half-way (Telegram unreachable), PTB leaves these open.
        for request in application.bot_data["requests"]:
            await request.shutdown()
        hearing.close()
        application.bot_data["ticker"].close()
        services.db.dispose()
