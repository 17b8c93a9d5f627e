"""`us-coach web`: Telegram's webhook on an ASGI server (Starlette on uvicorn).

A request carries one update. It is answered 200 only once the update is in the inbox
(the same table polling uses) and has been handled, so Telegram, which sends a chat's
next update only after a 2xx, keeps each chat in order across any number of web processes
behind one load balancer. A wrong secret gets 403 and changes nothing; a database that
cannot store gets 503, which Telegram retries. On SIGTERM the process answers new requests
503 with `Retry-After`, finishes the ones in flight, then exits. Web processes send
nothing: their replies are outbox rows for the worker's sender (woken by NOTIFY).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import Iterator
from typing import Any

import uvicorn
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Update

from bot import metrics
from bot.coaching.services import Services, build_services
from bot.config import ConfigError, Settings
from bot.miniapp.app import miniapp_routes
from bot.storage.inbox import Stored
from bot.telegram.context import CoachApp
from bot.telegram.intake import Dispatcher, chat_of
from bot.telegram.main import build_application, learn_username, use_db_threads

log = logging.getLogger(__name__)

MAX_BODY = 1_000_000  # an update is a few KB; Telegram's own limit for a message is 4 KB
HANDLE_WAIT = 25.0  # answer 200 after this long even if handling is slow (it is stored)
RESCAN_AFTER = 30.0  # the safety net takes only updates stored this long ago
RETRY_AFTER = "5"


class QuietServer(uvicorn.Server):
    """uvicorn without its own signal handlers: SIGTERM drains first (see `serve_web`)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def quiet_server(routes: list[Route], host: str, port: int) -> QuietServer:
    """Our routes on uvicorn, its logs through ours, no access log (it would name chats)."""
    return QuietServer(
        uvicorn.Config(
            Starlette(routes=routes),
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=10,
        )
    )


class Health:
    """/healthz (the process answers) and /readyz (the database answers and the bot is up)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.up = False
        self.draining = False

    async def healthz(self, _request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(self, _request: Request) -> Response:
        problems = []
        if not self.up:
            problems.append("starting")
        if self.draining:
            problems.append("draining")
        if not problems:  # (a draining process answers at once, whatever the database does)
            try:
                await asyncio.to_thread(self._ping)
            except Exception as exc:
                problems.append(f"database unreachable ({type(exc).__name__})")
        if problems:
            return JSONResponse({"status": "not ready", "problems": problems}, status_code=503)
        return JSONResponse({"status": "ready"})

    def _ping(self) -> None:
        with self.services.db.connect() as conn:
            conn.execute(text("SELECT 1"))

    async def metrics(self, _request: Request) -> Response:
        body, content_type = await asyncio.to_thread(metrics.exposition)
        return Response(body, media_type=content_type)

    def routes(self) -> list[Route]:
        return [
            Route("/healthz", self.healthz),
            Route("/readyz", self.readyz),
            Route("/metrics", self.metrics),
        ]


class Webhook:
    def __init__(
        self,
        settings: Settings,
        services: Services,
        application: CoachApp,
        dispatcher: Dispatcher,
        health: Health,
    ) -> None:
        self.secret = settings.webhook_secret.encode()
        self.services = services
        self.application = application
        self.dispatcher = dispatcher
        self.health = health
        self.in_flight = 0

    async def receive(self, request: Request) -> Response:
        if self.health.draining:
            return _answer(503, headers={"Retry-After": RETRY_AFTER})
        given = request.headers.get("x-telegram-bot-api-secret-token", "").encode()
        if not hmac.compare_digest(given, self.secret):
            log.warning("webhook request with a wrong secret token from %s", request.client)
            return _answer(403)
        body = await request.body()
        if len(body) > MAX_BODY:
            return _answer(413)
        try:
            payload = json.loads(body)
            update_id = int(payload["update_id"])
            update = Update.de_json(payload, self.application.bot)
        except (ValueError, TypeError, KeyError):
            return _answer(400)
        self.in_flight += 1
        metrics.WEBHOOK_IN_FLIGHT.inc()
        try:
            stored = Stored(update_id, chat_of(update), payload)
            try:  # durable first: a 200 for an update we could lose would be a lie
                await self.services.db.call(self.services.inbox.store, [stored])
            except Exception:
                log.exception("could not store update %s; Telegram will retry", update_id)
                metrics.ERRORS.labels(kind="webhook_store").inc()
                return _answer(503, headers={"Retry-After": RETRY_AFTER})
            done = self.dispatcher.offer(stored, update)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(done), HANDLE_WAIT)
            return _answer(200)
        finally:
            self.in_flight -= 1
            metrics.WEBHOOK_IN_FLIGHT.dec()


def _answer(status: int, headers: dict[str, str] | None = None) -> Response:
    metrics.WEBHOOK.labels(status=str(status)).inc()
    return Response(status_code=status, headers=headers)


async def serve_web(
    settings: Settings,
    stop: asyncio.Event,
    *,
    host: str,
    port: int,
    ready: asyncio.Event | None = None,
) -> None:
    """Handle webhook requests until `stop` is set, then drain and return."""
    if not settings.webhook_secret:
        raise ConfigError("WEBHOOK_SECRET is not set: web processes refuse unsigned updates")
    services, application = process_application(settings, sends=False)
    dispatcher = Dispatcher(application, services.inbox, services.work, rescan_after=RESCAN_AFTER)
    health = Health(services)
    hook = Webhook(settings, services, application, dispatcher, health)
    routes = [
        Route(settings.webhook_path, hook.receive, methods=["POST"]),
        *health.routes(),
        # Our space: its confirmations wait in the outbox for a worker's sender.
        *miniapp_routes(services, settings.telegram_bot_token),
    ]
    server = quiet_server(routes, host, port)
    halt = asyncio.Event()
    try:
        async with application:
            learn_username(application)
            await application.start()
            serving = asyncio.create_task(server.serve(), name="uvicorn")
            rescan = asyncio.create_task(dispatcher.run(halt), name="rescan")
            await _until(lambda: server.started or serving.done(), 30.0)
            health.up = True
            log.info(
                "Us Coach web is listening on %s:%s as @%s", host, port, application.bot.username
            )
            if ready is not None:
                ready.set()
            stopped = asyncio.ensure_future(stop.wait())
            await asyncio.wait({stopped, serving}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            log.info("stopping: new requests get 503, in-flight ones finish")
            health.draining = True
            await _until(lambda: hook.in_flight == 0, 20.0)
            halt.set()
            await dispatcher.drain()
            server.should_exit = True
            await asyncio.gather(serving, rescan, return_exceptions=True)
            await application.stop()
    finally:
        await release(application, services)


def process_application(settings: Settings, *, sends: bool) -> tuple[Services, CoachApp]:
    """A web or worker process's services and application: it never migrates (`us-coach db
    upgrade` does, once), does database work in threads and reports the database in
    /metrics; `sends` is False in web processes, whose messages wait for a worker's sender."""
    services = build_services(settings, migrate=False)
    services.work.sends_here = sends
    use_db_threads(services)
    metrics.watch(services.db)
    return services, build_application(settings, services, hears=sends)


async def release(application: CoachApp, services: Services) -> None:
    """What a web or worker process lets go of last: its HTTP clients, then the database."""
    for request in application.bot_data["requests"]:
        await request.shutdown()
    application.bot_data["hearing"].close()
    application.bot_data["ticker"].close()
    services.db.dispose()


async def _until(condition: Any, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition() and loop.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
