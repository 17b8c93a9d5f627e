"""`us-coach playground`: one process runs the local Bot API server, the real bot against
it (the same `serve()` as `us-coach run`), and a page at http://127.0.0.1:8080.

The page talks to the small JSON API routed here: send as a person (words, or a voice note
recorded or uploaded in the page), press a button, add the bot to the group (what the people
do: bot/playground/people.py and voice.py), start a new couple, and the control strip's
scheduler shortcuts.
New messages and the Bot API call log reach the page as server-sent events.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import func, select, update

from bot.config import Settings, load_settings
from bot.emulator.server import BotApiServer, SimChat, SimUser, StoredMessage
from bot.playground import people
from bot.playground.space import Space
from bot.playground.voice import voice_note
from bot.storage.db import make_engine, upgrade, utcnow
from bot.storage.tables import COUPLES, INBOX, PARTNERS, RUNS
from bot.telegram.context import CoachApp
from bot.telegram.handlers.nudges import TICK_JOB
from bot.telegram.main import serve

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
TOKEN = "424242:PLAYGROUND-token-for-the-local-bot-api-server"
VOICE_KINDS = ("voice", "audio", "video_note")


@dataclass
class Cast:
    """Who is on stage: the two partners and their group (fixed ids, so a session resumes)."""

    alex: SimUser
    sam: SimUser
    group: SimChat
    generation: int = 0


@dataclass
class Playground:
    settings: Settings
    server: BotApiServer
    cast: Cast
    listeners: set[asyncio.Queue[str]] = field(default_factory=set)
    application: CoachApp | None = None

    def attach(self, application: CoachApp) -> None:
        self.application = application

    async def run_tick(self) -> None:
        """Run the real scheduler job now (what "send now" buttons do)."""
        assert self.application is not None and self.application.job_queue is not None
        for job in self.application.job_queue.get_jobs_by_name(TICK_JOB):
            await job.run(self.application)

    # ----- the people ----------------------------------------------------------------------

    @classmethod
    def create(cls, settings: Settings, server: BotApiServer) -> Playground:
        """Continue with the latest couple in the database, if there is one."""
        engine = make_engine(settings.database_url)
        try:
            with engine.connect() as conn:
                latest = conn.execute(select(func.max(PARTNERS.c.id))).scalar() or 0
                generation = max(0, (latest - 1001) // 10) if latest >= 1001 else 0
                cast = cls._new_cast(server, generation)
                linked = conn.execute(
                    select(COUPLES.c.id).where(COUPLES.c.group_chat_id == cast.group.id)
                ).first()
        finally:
            engine.dispose()
        cast.group.bot_member = linked is not None  # the bot is still in a linked group
        return cls(settings, server, cast)

    @staticmethod
    def _new_cast(server: BotApiServer, generation: int) -> Cast:
        base = 1001 + generation * 10
        alex = server.add_user("Alex", user_id=base)
        sam = server.add_user("Sam", user_id=base + 1)
        group_id = -(4000000001 + generation)
        group = SimChat(
            id=group_id,
            type="group",
            title="Alex & Sam",
            bot_member=False,
            members={alex.id, sam.id},
        )
        server.chats[group_id] = group
        return Cast(alex, sam, group, generation)

    def person(self, who: str) -> SimUser:
        return self.cast.alex if who == "alex" else self.cast.sam

    def chat(self, name: str, who: SimUser) -> SimChat:
        return self.cast.group if name == "group" else self.server.chats[who.id]

    def columns(self) -> dict[str, SimChat]:
        return {
            "alex": self.server.chats[self.cast.alex.id],
            "sam": self.server.chats[self.cast.sam.id],
            "group": self.cast.group,
        }

    # ----- what the page sees --------------------------------------------------------------

    def message_json(self, message: StoredMessage) -> dict[str, Any]:
        column = next((k for k, c in self.columns().items() if c.id == message.chat_id), None)
        sender = (
            "Us Coach"
            if message.from_bot
            else (message.sender.first_name if message.sender else "")
        )
        data: dict[str, Any] = {
            "column": column,
            "id": message.message_id,
            "from_bot": message.from_bot,
            "sender": sender,
            "sender_id": message.sender.id if message.sender else None,
            "text": message.text,
            "entities": message.entities,
            "date": message.date,
            "buttons": [
                [
                    {"text": b.get("text"), "data": b.get("callback_data"), "url": b.get("url")}
                    for b in row
                ]
                for row in (message.reply_markup or {}).get("inline_keyboard", [])
            ],
            "force_reply": message.force_reply,
            "reply_to": message.reply_to,
            "edited": message.edited,
            "deleted": message.deleted,
        }
        mentions = [e["user"]["id"] for e in message.entities if e.get("type") == "text_mention"]
        data["force_reply_for"] = [self._name_of(uid) for uid in mentions] or None
        if message.document:
            data["document"] = {
                "name": message.document["file_name"],
                "url": f"/file/{message.document['file_id']}",
            }
        if message.photo:
            data["photo"] = f"/file/{message.photo[0]['file_id']}"
        media = next((message.extra[k] for k in VOICE_KINDS if message.extra.get(k)), None)
        if media is not None:  # a voice note, an audio file or a round video: played as sound
            data["voice"] = {
                "url": f"/file/{media['file_id']}",
                "seconds": int(media.get("duration") or 0),
            }
        if message.extra.get("new_chat_members"):
            data["text"] = f"{sender} added Us Coach to the group"
        return data

    def _name_of(self, user_id: int) -> str:
        user = self.server.users.get(user_id)
        return user.first_name if user else "?"

    def state(self) -> dict[str, Any]:
        return {
            "names": {"alex": self.cast.alex.first_name, "sam": self.cast.sam.first_name},
            "languages": {
                "alex": self.cast.alex.language_code or "en",
                "sam": self.cast.sam.language_code or "en",
            },
            "bot_in_group": self.cast.group.bot_member,
            "messages": [
                self.message_json(m)
                for chat in self.columns().values()
                for m in self.server.messages.get(chat.id, [])
                if not m.deleted
            ],
        }

    def publish(self, kind: str, payload: Any) -> None:
        event = json.dumps({"kind": kind, "data": payload}, default=str)
        for queue in list(self.listeners):
            queue.put_nowait(event)

    def on_server(self, kind: str, payload: Any) -> None:
        if kind in ("message", "bot_message", "bot_edit", "bot_delete"):
            data = self.message_json(payload)
            if data["column"] is not None:
                self.publish("message", data)
        elif kind == "call":
            method, params = payload
            shown = {k: v for k, v in params.items() if not isinstance(v, tuple)}
            self.publish("log", {"method": method, "params": shown})
        elif kind == "error":
            method, code, description = payload
            self.publish("log", {"method": method, "error": f"{code} {description}"})

    async def events(self, request: web.Request) -> web.StreamResponse:
        """The page's server-sent events: what `publish` sends, and a keep-alive."""
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        queue: asyncio.Queue[str] = asyncio.Queue()
        self.listeners.add(queue)
        try:
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), 15)
                    await response.write(f"data: {event}\n\n".encode())
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.listeners.discard(queue)
        return response

    # ----- the scheduler shortcuts ---------------------------------------------------------

    def _engine_update(self, statement: Any) -> None:
        engine = make_engine(self.settings.database_url)
        try:
            with engine.begin() as conn:
                conn.execute(statement)
        finally:
            engine.dispose()

    def prompt_now(self) -> None:
        """Make a one-off weekly prompt due now for every couple (as a snooze would), so it
        works before a /schedule is set and leaves the schedule alone."""
        table = COUPLES
        self._engine_update(
            update(table)
            .where(table.c.status == "active")
            .values(snooze_at=utcnow() - timedelta(seconds=1))
        )

    def reminders_now(self) -> None:
        """Make every waiting step's reminder due now (the next tick sends them)."""
        table = RUNS
        self._engine_update(
            update(table)
            .where(table.c.status == "active")
            .values(remind_at=utcnow() - timedelta(seconds=1))
        )


def routes(playground: Playground, tick: Any) -> web.Application:
    app = web.Application()
    page = (HERE / "page.html").read_text(encoding="utf-8")

    async def index(_request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

    async def state(_request: web.Request) -> web.Response:
        return web.json_response(playground.state())

    async def new_couple(_request: web.Request) -> web.Response:
        playground.cast = Playground._new_cast(playground.server, playground.cast.generation + 1)
        playground.publish("reset", playground.state())
        return web.json_response({"ok": True})

    async def prompt_now(_request: web.Request) -> web.Response:
        await asyncio.to_thread(playground.prompt_now)
        await tick()
        return web.json_response({"ok": True})

    async def reminders_now(_request: web.Request) -> web.Response:
        await asyncio.to_thread(playground.reminders_now)
        await tick()
        return web.json_response({"ok": True})

    async def file(request: web.Request) -> web.Response:
        stored = playground.server.files.get(request.match_info["file_id"])
        if stored is None:
            raise web.HTTPNotFound()
        name, content, mime = stored
        headers = {"Content-Disposition": f'inline; filename="{name}"'}
        return web.Response(body=content, content_type=mime, headers=headers)

    app.router.add_get("/", index)
    app.router.add_get("/state", state)
    app.router.add_get("/events", playground.events)
    app.router.add_post("/send", functools.partial(people.send, playground))
    app.router.add_post("/voice", functools.partial(voice_note, playground))
    app.router.add_post("/press", functools.partial(people.press, playground))
    app.router.add_post("/add-bot", functools.partial(people.add_bot, playground))
    app.router.add_post("/rename", functools.partial(people.rename, playground))
    app.router.add_post("/new-couple", new_couple)
    app.router.add_post("/language", functools.partial(people.language, playground))
    app.router.add_post("/prompt-now", prompt_now)
    app.router.add_post("/reminders-now", reminders_now)
    app.router.add_get("/file/{file_id}", file)
    return app


async def run_playground(
    port: int,
    db: str,
    stop: asyncio.Event,
    ready: asyncio.Event | None = None,
    host: str = "127.0.0.1",
    server: BotApiServer | None = None,
) -> None:
    """Start everything, print the address, run until `stop` is set. `server`: a Bot API
    server of the caller's (a test that also talks to the bot through it)."""
    url = f"sqlite:///{db}"
    engine = make_engine(url)
    upgrade(engine)  # so an earlier session can be read
    with engine.connect() as conn:  # update ids only grow, as on Telegram
        last_update = conn.execute(select(func.max(INBOX.c.update_id))).scalar() or 0
    engine.dispose()
    server = server or BotApiServer(TOKEN, first_update_id=last_update + 1)
    base_url = await server.start()
    space = Space(host, TOKEN)
    at = {"telegram_api_base_url": base_url, "database_url": url, "poll_timeout": 5}
    settings = load_settings(telegram_bot_token=TOKEN, **at, **space.settings())
    playground = Playground.create(settings, server)
    server.listeners.append(playground.on_server)
    bot_ready, bot_stop = asyncio.Event(), asyncio.Event()
    bot = asyncio.create_task(serve(settings, bot_stop, bot_ready, playground.attach))
    await asyncio.wait_for(bot_ready.wait(), 30)

    async def tick() -> None:
        await playground.run_tick()

    app = routes(playground, tick)
    app.router.add_get("/space/{who}", functools.partial(space.open, playground))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    print(f"Us Coach playground: http://{host}:{port}  (Ctrl-C to stop)", flush=True)
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        for queue in list(playground.listeners):
            queue.put_nowait(json.dumps({"kind": "bye"}))
        await runner.cleanup()
        bot_stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(bot, 15)
        await server.stop()
