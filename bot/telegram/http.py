"""python-telegram-bot's HTTP requests over aiohttp instead of httpx, and our own sends.

Why: on the bot's hot path (see bench/flow_steps.py) httpx and httpcore spent more CPU
per Bot API call than the rest of a flow step together. aiohttp, already a dependency
for the local Bot API server, does the same work for a fraction. This plugs into PTB's
documented `BaseRequest` extension point.

The sender's calls (`call`) skip PTB's objects altogether: an outbox row becomes the JSON
Telegram reads, and only `ok`, the error code and its parameters are read back. PTB's
`send_message` built a dozen objects to send one and parsed the whole returned `Message`
into more, which the sender never reads: 270 of its 520 µs a call (bench/flow_steps.py
--profile). Telegram's refusals are raised as PTB's own errors, the way PTB raises them,
so the sender handles them one way whichever path sent.
"""

from __future__ import annotations

import asyncio
import json
from http import HTTPStatus
from typing import Any

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import BaseRequest, RequestData


class AiohttpRequest(BaseRequest):
    def __init__(
        self,
        *,
        pool_size: int = 16,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        keep_last_body: bool = False,
    ) -> None:
        # The poller stores updates exactly as Telegram sent them (bot/telegram/intake.py).
        self.keep_last_body = keep_last_body
        self.last_body: bytes | None = None
        self._pool_size = pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    def _value(self, given: ODVInput[float], default: float | None) -> float | None:
        return default if isinstance(given, DefaultValue) else given

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        read = self._value(read_timeout, self._read_timeout)
        write = self._value(write_timeout, self._write_timeout)
        pool = self._value(pool_timeout, self._pool_timeout)
        connect = self._value(connect_timeout, self._connect_timeout)
        # aiohttp has no separate write timeout: a request may take connect + write + read.
        total = None if read is None else read + (write or 0) + (connect or 0) + (pool or 0)
        timeout = aiohttp.ClientTimeout(total=total, sock_connect=connect, connect=pool)
        data: Any = None
        if request_data is not None:
            files = request_data.multipart_data
            fields = request_data.json_parameters
            if files:
                form = aiohttp.FormData()
                for name, value in fields.items():
                    form.add_field(name, value)
                for name, (filename, content, mime) in files.items():
                    form.add_field(name, content, filename=filename, content_type=mime)
                data = form
            else:
                data = fields
        return await self._exchange(method, url, data, None, timeout)

    async def call(
        self, url: str, payload: dict[str, Any], files: dict[str, tuple[str, bytes]] | None = None
    ) -> Any:
        """One Bot API method: `payload` as a JSON body, or with `files` as a multipart form
        (each other field JSON-encoded unless a string). The result, or Telegram's refusal
        as PTB's error."""
        data: Any
        if files:
            data = aiohttp.FormData()
            for name, value in payload.items():
                data.add_field(name, value if isinstance(value, str) else json.dumps(value))
            for name, (filename, content) in files.items():
                data.add_field(name, content, filename=filename)
            headers = None
        else:
            data = json.dumps(payload, ensure_ascii=False).encode()
            headers = {"Content-Type": "application/json"}
        limits = (self._read_timeout, self._write_timeout, self._connect_timeout)
        total = sum(t or 0 for t in limits)
        timeout = aiohttp.ClientTimeout(total=total or None, sock_connect=self._connect_timeout)
        return answer_of(*await self._exchange("POST", url, data, headers, timeout))

    async def _exchange(
        self,
        method: str,
        url: str,
        data: Any,
        headers: dict[str, str] | None,
        timeout: aiohttp.ClientTimeout,
    ) -> tuple[int, bytes]:
        """One HTTP request, PTB's and ours alike: the status and the body, or the network
        failure as PTB's error."""
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        try:
            async with self._session.request(
                method, url, data=data, headers=headers, timeout=timeout
            ) as response:
                body = await response.read()
                if self.keep_last_body:
                    self.last_body = body
                return response.status, body
        except (TimeoutError, asyncio.TimeoutError) as exc:  # noqa: UP041 - aiohttp raises either
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{exc.__class__.__name__}: {exc}") from exc


# Telegram's refusals by HTTP status, as PTB's BaseRequest raises them (anything else: retry).
REFUSALS: dict[int, type[TelegramError]] = {
    HTTPStatus.FORBIDDEN: Forbidden,
    HTTPStatus.NOT_FOUND: InvalidToken,
    HTTPStatus.UNAUTHORIZED: InvalidToken,
    HTTPStatus.BAD_REQUEST: BadRequest,
    HTTPStatus.CONFLICT: Conflict,
}


def answer_of(status: int, body: bytes) -> Any:
    """The result of a Bot API answer, or the error PTB raises for it (as its BaseRequest)."""
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if 200 <= status <= 299 and isinstance(answer, dict) and answer.get("ok"):
        return answer.get("result")
    if not isinstance(answer, dict):
        raise NetworkError(f"an unreadable answer ({status}): {body[:200]!r}")
    message = answer.get("description") or f"HTTP {status}"
    parameters = answer.get("parameters") or {}
    if parameters.get("migrate_to_chat_id"):
        raise ChatMigrated(int(parameters["migrate_to_chat_id"]))
    if parameters.get("retry_after"):
        raise RetryAfter(int(parameters["retry_after"]))
    raise REFUSALS.get(status, NetworkError)(message)
