"""Our space over HTTP: the page at `/app/` and its JSON API under `/app/api/`.

Every API request carries Telegram's signed initData (`Authorization: tma <initData>`); without
a valid one it gets 401 and touches nothing. The user id inside is the only identity.

A settings change is the chat command's own service call (`/timezone`, `/schedule`, `/quiet`,
`/language`, `/pause`, `/resume`), run as one unit of work for an Event in the person's private
chat: the change and its confirmation in the outbox commit together, and the sender delivers
the confirmation to the chat like any reply (the partner hears of it as after the command).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.coaching.services import Services
from bot.core import clock
from bot.core.events import Event, Person
from bot.core.outbox import Reply
from bot.core.work import Tx
from bot.miniapp import zones
from bot.miniapp.auth import InitDataError, Visitor, from_header, validate
from bot.miniapp.page import Page
from bot.miniapp.views import CountWeek, Views, find_couple
from bot.storage.outbox import Queued
from bot.storage.tables import PARTNERS
from bot.words.languages import FORMS, SHIPPED
from bot.words.parsing import DAYS, ParseError, parse_clock_time, parse_timezone

log = logging.getLogger(__name__)

TELEGRAM_JS = "https://telegram.org/js/telegram-web-app.js"
MAX_BODY = 4096  # a setting is a few bytes of JSON
NO_STORE = {"Cache-Control": "no-store"}


class BadRequest(ValueError):
    """A setting's body that the command would not understand either."""


@dataclass(frozen=True)
class Setting:
    """One settings endpoint: the command argument its JSON body stands for, and the very
    service call the command makes with it."""

    argument: Callable[[dict[str, Any]], str]
    call: Callable[[Services, Tx, Event, str], Reply]
    needs_couple: bool = True


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{key} is missing")
    return value.strip()


def _clock_time(body: dict[str, Any], key: str) -> str:
    try:
        return parse_clock_time(_text(body, key))
    except ParseError as exc:
        raise BadRequest(f"{key} is not a time of day") from exc


def _zone(body: dict[str, Any]) -> str:
    try:
        return parse_timezone(_text(body, "zone"))
    except ParseError as exc:
        raise BadRequest("zone is not a time zone") from exc


def _slot(body: dict[str, Any]) -> str:
    """{"day": 0 (Monday) ... 6, "time": "19:00"} as /schedule takes it: "sun 19:00"."""
    day = body.get("day")
    if not isinstance(day, int) or isinstance(day, bool) or not 0 <= day <= 6:
        raise BadRequest("day is 0 (Monday) to 6 (Sunday)")
    return f"{DAYS[day][:3]} {_clock_time(body, 'time')}"


def _quiet(body: dict[str, Any]) -> str:
    return f"{_clock_time(body, 'start')} {_clock_time(body, 'end')}"


def _choice(key: str, allowed: tuple[str, ...]) -> Callable[[dict[str, Any]], str]:
    def argument(body: dict[str, Any]) -> str:
        value = _text(body, key)
        if value not in allowed:
            raise BadRequest(f"{key} is one of {', '.join(allowed)}")
        return value

    return argument


SETTINGS: dict[str, Setting] = {
    "timezone": Setting(_zone, lambda s, t, e, a: s.couples.set_timezone(t, e, a)),
    "meeting": Setting(_slot, lambda s, t, e, a: s.couples.schedule(t, e, a)),
    "quiet": Setting(_quiet, lambda s, t, e, a: s.couples.set_quiet(t, e, a)),
    "pause": Setting(lambda _b: "", lambda s, t, e, _a: s.couples.set_paused(t, e, True)),
    "resume": Setting(lambda _b: "", lambda s, t, e, _a: s.couples.set_paused(t, e, False)),
    # The person's own language and form: theirs whether or not they have a couple.
    "language": Setting(
        _choice("language", (*SHIPPED, "auto")),
        lambda s, t, e, a: s.languages.command(t, e, a),
        needs_couple=False,
    ),
    "form": Setting(
        _choice("form", FORMS),
        lambda s, t, e, a: s.languages.choose_form(t, e, a),
        needs_couple=False,
    ),
}


def _week_counter(services: Services) -> CountWeek | None:
    """The weekly recap's own count, so the page and the chat never count differently."""
    return services.nudges.recaps.count


class MiniApp:
    """The page and the API of Our space for one bot (its token signs the initData)."""

    def __init__(
        self,
        services: Services,
        token: str,
        *,
        telegram_js: str = TELEGRAM_JS,
        hand_over: Callable[[list[Queued]], None] | None = None,
    ) -> None:
        self.services = services
        self.token = token
        self.hand_over = hand_over
        self.views = Views(services.renderer, _week_counter(services))
        self.page = Page(telegram_js)

    # ----- who is asking -------------------------------------------------------------------

    def visitor(self, request: Request) -> Visitor:
        return validate(from_header(request.headers.get("authorization")), self.token)

    @staticmethod
    def refused(error: InitDataError) -> Response:
        return JSONResponse(
            {"ok": False, "error": "unauthorized", "reason": error.reason},
            status_code=401,
            headers={"WWW-Authenticate": "tma", **NO_STORE},
        )

    def _view(self, visitor: Visitor) -> dict[str, Any]:
        with self.services.work.reading() as tx:
            return self.views.view(
                tx.conn,
                visitor.user_id,
                first_name=visitor.first_name,
                language_code=visitor.language_code,
                start_param=visitor.start_param,
                now=tx.now,
            )

    # ----- endpoints -----------------------------------------------------------------------

    async def show_page(self, _request: Request) -> Response:
        return self.page.response()

    async def me(self, request: Request) -> Response:
        """GET /app/api/me: what this person sees."""
        try:
            visitor = self.visitor(request)
        except InitDataError as error:
            return self.refused(error)
        view = await self.services.db.call(self._view, visitor)
        return JSONResponse(view, headers=NO_STORE)

    async def timezones(self, request: Request) -> Response:
        """GET /app/api/timezones?q=&device=: zones matching q; suggestions from the device's
        zone and the person's language."""
        try:
            visitor = self.visitor(request)
        except InitDataError as error:
            return self.refused(error)
        query = request.query_params.get("q", "")[:64]
        device = request.query_params.get("device", "")[:64]
        found = await self.services.db.call(self._zones, visitor, query, device)
        return JSONResponse(found, headers=NO_STORE)

    def _zones(self, visitor: Visitor, query: str, device: str) -> dict[str, Any]:
        with self.services.work.reading() as tx:
            voice = self.views.voice(tx.conn, visitor.user_id, visitor.language_code)
            ours = find_couple(tx.conn, visitor.user_id, visitor.start_param)
        now = tx.now
        current = ours.couple["timezone"] if ours is not None else None
        suggested = zones.suggested(voice.lang, visitor.language_code, device)
        return {
            "current": zones.entry(current, voice.lang, now) if current else None,
            "suggested": [zones.entry(z, voice.lang, now) for z in suggested],
            "zones": [zones.entry(z, voice.lang, now) for z in zones.search(query, voice.lang)],
        }

    async def change(self, request: Request) -> Response:
        """POST /app/api/settings/{name}: the command's own change, confirmed in chat."""
        try:
            visitor = self.visitor(request)
        except InitDataError as error:
            return self.refused(error)
        setting = SETTINGS.get(request.path_params["name"])
        if setting is None:
            return _error(404, "no_such_setting")
        try:
            argument = setting.argument(await _body(request))
        except BadRequest as exc:
            return _error(400, "bad_request", str(exc))
        refusal = await self.services.db.call(self._may_change, visitor, setting)
        if refusal is not None:
            return _error(409, refusal)
        confirmed = await self._run(visitor, setting, argument)
        view = await self.services.db.call(self._view, visitor)
        return JSONResponse({"ok": True, "confirmed": confirmed, "view": view}, headers=NO_STORE)

    def _may_change(self, visitor: Visitor, setting: Setting) -> str | None:
        """Why this person may not make this change here, if they may not: someone the bot
        does not know, or a couple setting from a link to a couple that is not (or no longer)
        theirs."""
        with self.services.work.reading() as tx:
            conn = tx.conn
            known = conn.execute(PARTNERS.select().where(PARTNERS.c.id == visitor.user_id)).first()
            if known is None:
                return "not_known"
            if (
                setting.needs_couple
                and find_couple(conn, visitor.user_id, visitor.start_param) is None
            ):
                return "no_couple"
        return None

    async def _run(self, visitor: Visitor, setting: Setting, argument: str) -> bool:
        """Run the service call in one unit of work; whether the person's chat confirms it."""
        person = Person(visitor.user_id, visitor.first_name, visitor.language_code)
        event = Event(person=person, chat_id=person.id, in_group=False, at=clock.now())
        done = await self.services.db.call(
            self.services.work.run,
            lambda tx: setting.call(self.services, tx, event, argument),
            hint=(person.id, person.language_code),
        )
        if done is None:  # only an update id can be handled already; there is none here
            return False
        if self.hand_over is not None:
            self.hand_over(done.queued)  # this process's sender sends them now
        elif done.queued:  # leased to a sender that is not told: give them to the next scan
            ids = [q.id for q in done.queued]
            await self.services.db.call(self.services.outbox.release, ids)
        return any(m.chat_id == person.id for m in done.reply.messages)

    def routes(self) -> list[Route]:
        return [
            Route("/app", lambda _r: RedirectResponse("/app/", status_code=308)),
            Route("/app/", self.show_page, methods=["GET"]),
            Route("/app/api/me", self.me, methods=["GET"]),
            Route("/app/api/timezones", self.timezones, methods=["GET"]),
            Route("/app/api/settings/{name}", self.change, methods=["POST"]),
        ]


async def _body(request: Request) -> dict[str, Any]:
    """The JSON object sent, read no further than MAX_BODY bytes."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise BadRequest("too long")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise BadRequest("not JSON") from exc
    if not isinstance(body, dict):
        raise BadRequest("not a JSON object")
    return body


def _error(status: int, error: str, detail: str = "") -> Response:
    content: dict[str, Any] = {"ok": False, "error": error}
    if detail:
        content["detail"] = detail
    return JSONResponse(content, status_code=status, headers=NO_STORE)


def miniapp_routes(
    services: Services,
    token: str,
    *,
    telegram_js: str = TELEGRAM_JS,
    hand_over: Callable[[list[Queued]], None] | None = None,
) -> list[Route]:
    """Our space's routes, to mount beside the webhook's (or on their own server).

    `telegram_js`: the script that provides `window.Telegram.WebApp` (Telegram's own in
    production; the playground's local stand-in). `hand_over`: the sender of this process
    (`Sender.hand_over`), which then sends a confirmation at once; without one, the
    confirmation waits for the next sender's scan."""
    return MiniApp(services, token, telegram_js=telegram_js, hand_over=hand_over).routes()
