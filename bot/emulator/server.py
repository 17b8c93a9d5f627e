"""A local server that speaks enough of the Telegram Bot API for Us Coach, over real HTTP.

The bot talks to it through `TELEGRAM_API_BASE_URL` exactly as it talks to Telegram:
long-polled `getUpdates`, `sendMessage` with inline keyboards and ForceReply, edits,
callback answers, documents and photos. People are simulated on the other side:
`user_sends`, `user_presses`, `add_bot_to_group` and friends create the updates a
real client would cause.

Realism that matters to the bot: group privacy mode (on by default: in groups the
bot only sees commands for it, replies to its own messages and service messages),
`bot_command` entities, 400s for empty or over-long text and unparsable HTML, 403s
for users who blocked the bot and groups it was removed from, the migrate-to-
supergroup error, and, when switched on, flood limits answered with 429 and
`retry_after`. After `setWebhook`, updates are pushed to the URL as Telegram does
(bot/emulator/webhook.py) instead of waiting for `getUpdates`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.core import clock
from bot.emulator.html_text import EntityError, parse_html, utf16_len
from bot.emulator.webhook import WebhookPusher, WebhookTarget

MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
JSON_FIELDS = {
    "reply_markup",
    "entities",
    "commands",
    "scope",
    "allowed_updates",
    "reply_parameters",
    "link_preview_options",
    "caption_entities",
    "menu_button",
}
INT_FIELDS = {
    "chat_id",
    "message_id",
    "offset",
    "limit",
    "timeout",
    "reply_to_message_id",
    "cache_time",
    "user_id",
    "from_chat_id",
}
MAX_DOWNLOAD = 20 * 1024 * 1024  # getFile refuses bigger files to bots
COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{3,64}))?")


class ApiError(Exception):
    def __init__(
        self, code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


@dataclass
class SimUser:
    id: int
    first_name: str
    username: str | None = None
    language_code: str | None = "en"
    blocked_bot: bool = False

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data


@dataclass
class SimChat:
    id: int
    type: str  # private | group | supergroup | channel
    title: str | None = None
    user: SimUser | None = None
    bot_member: bool = True
    migrated_to: int | None = None
    members: set[int] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        if self.type == "private" and self.user is not None:
            return {"id": self.id, "type": "private", "first_name": self.user.first_name}
        return {"id": self.id, "type": self.type, "title": self.title or "Group"}


@dataclass
class StoredMessage:
    """A message in a chat, as the server keeps it (the bot's and the people's)."""

    chat_id: int
    message_id: int
    from_bot: bool
    sender: SimUser | None
    text: str
    date: int
    entities: list[dict[str, Any]] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None
    reply_to: int | None = None
    document: dict[str, Any] | None = None
    photo: list[dict[str, Any]] | None = None
    deleted: bool = False
    edited: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def buttons(self) -> list[dict[str, Any]]:
        markup = self.reply_markup or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]

    @property
    def force_reply(self) -> bool:
        return bool((self.reply_markup or {}).get("force_reply"))


class BotApiServer:
    """One bot, many simulated people and chats. Start it, point the bot at `base_url`."""

    def __init__(
        self,
        token: str = "123456:TEST-token-for-the-local-bot-api-server",
        *,
        bot_username: str = "UsCoachBot",
        bot_first_name: str = "Us Coach",
        privacy_mode: bool = True,
        flood_limits: bool = False,
        group_per_minute: int = 20,
        overall_per_second: int = 30,
        chat_per_second: float = 0,  # 0: no per-private-chat limit (Telegram tolerates bursts)
        first_update_id: int = 1,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.privacy_mode = privacy_mode
        self.flood_limits = flood_limits
        self.group_per_minute = group_per_minute
        self.overall_per_second = overall_per_second
        self.chat_per_second = chat_per_second

        self.users: dict[int, SimUser] = {}
        self.chats: dict[int, SimChat] = {}
        self.messages: dict[int, list[StoredMessage]] = defaultdict(list)
        self.files: dict[str, tuple[str, bytes, str]] = {}
        self.chat_actions: list[tuple[int, str]] = []  # ("typing" while a note is heard)
        self.menu_button: Any = None  # setChatMenuButton's (the default for every chat)
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.callback_answers: dict[str, dict[str, Any]] = {}
        # The clients reading this server (a test checks at its end that they read it all).
        self.conversations: list[Any] = []
        self.calls: list[tuple[float, str, dict[str, Any]]] = []
        self.listeners: list[Callable[[str, Any], Awaitable[None] | None]] = []
        self._listener_tasks: set[asyncio.Future[Any]] = set()

        self._updates: list[dict[str, Any]] = []
        self.delivered_log: list[dict[str, Any]] = []
        # Telegram's update ids only grow; a restarted emulator continues from here.
        self._update_ids = itertools.count(first_update_id)
        self._confirmed = 0  # every update_id below this was confirmed by an offset
        self._fetched_up_to = 0
        self._new_update = asyncio.Event()
        self._poller: asyncio.Future[None] | None = None
        self._message_ids: dict[int, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self._user_ids = itertools.count(1001)
        self._group_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._sent_overall: deque[float] = deque()
        self._sent_per_chat: dict[int, deque[float]] = defaultdict(deque)
        self.last_activity = time.monotonic()
        self.rejected_429 = 0
        # An outage on Telegram's side: until then, sending methods fail (see `outage`).
        self._outage_until = 0.0
        self._outage_kind = "502"
        self.outage_failures = 0
        self.poll_count = 0
        # The update types the bot last asked for (getUpdates or setWebhook), as Telegram keeps
        # them; recorded, not applied: the tests still push any type to see it ignored.
        self.allowed_updates: list[str] | None = None
        self._injected: list[
            tuple[str, ApiError]
        ] = []  # getUpdates calls so far: a started bot has polled at least once
        self._runner: web.AppRunner | None = None
        self.webhook: WebhookTarget | None = None  # set by setWebhook: updates are pushed
        self._pusher: WebhookPusher | None = None
        self.base_url = ""
        self.port = 0

    # ----- lifecycle -----------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.*}", self._download)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self.base_url = f"http://{host}:{self.port}/bot"
        return self.base_url

    async def stop(self) -> None:
        if self._pusher is not None:
            await self._pusher.stop()
        if self._poller and not self._poller.done():
            self._poller.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ----- the simulated people's side -----------------------------------------------------

    def add_user(
        self, first_name: str, *, user_id: int | None = None, language_code: str | None = "en"
    ) -> SimUser:
        uid = user_id or next(self._user_ids)
        user = SimUser(id=uid, first_name=first_name, language_code=language_code)
        self.users[uid] = user
        self.chats[uid] = SimChat(id=uid, type="private", user=user)
        return user

    def add_group(self, title: str, members: list[SimUser]) -> SimChat:
        chat_id = -(4000000000 + next(self._group_ids))
        chat = SimChat(id=chat_id, type="group", title=title, bot_member=False)
        chat.members = {m.id for m in members}
        self.chats[chat_id] = chat
        return chat

    def _now(self) -> int:
        return int(clock.now().timestamp())

    def _new_message(
        self, chat: SimChat, sender: SimUser | None, text: str, **fields: Any
    ) -> StoredMessage:
        message = StoredMessage(
            chat_id=chat.id,
            message_id=next(self._message_ids[chat.id]),
            from_bot=sender is None,
            sender=sender,
            text=text,
            date=self._now(),
            **fields,
        )
        self.messages[chat.id].append(message)
        return message

    def message_dict(self, message: StoredMessage) -> dict[str, Any]:
        chat = self.chats[message.chat_id]
        data: dict[str, Any] = {
            "message_id": message.message_id,
            "date": message.date,
            "chat": chat.as_dict(),
        }
        if message.from_bot:
            data["from"] = self.bot_user()
        elif message.sender is not None:
            data["from"] = message.sender.as_dict()
        if message.text:
            data["text"] = message.text
        if message.entities:
            data["entities"] = message.entities
        if message.reply_markup and "inline_keyboard" in message.reply_markup:
            data["reply_markup"] = message.reply_markup
        if message.reply_to is not None:
            original = self.find_message(message.chat_id, message.reply_to)
            if original is not None:
                data["reply_to_message"] = self.message_dict(original)
        if message.document:
            data["document"] = message.document
        if message.photo:
            data["photo"] = message.photo
        if message.edited:
            data["edit_date"] = self._now()
        data.update(message.extra)
        return data

    def find_message(self, chat_id: int, message_id: int) -> StoredMessage | None:
        for message in self.messages.get(chat_id, []):
            if message.message_id == message_id:
                return message
        return None

    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def push_update(self, kind: str, payload: dict[str, Any]) -> int:
        """Queue a raw update (any kind, any shape) for the bot."""
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, kind: payload})
        self._new_update.set()
        if self._pusher is not None:
            self._pusher.wake()
        self._notify("update", {"update_id": update_id, "kind": kind})
        return update_id

    def take_pending_update(self) -> dict[str, Any]:
        """Hand the oldest waiting update out and count it confirmed, as a getUpdates with
        a later offset would: for tests of a bot that died right after fetching it."""
        update = self._updates.pop(0)
        self.delivered_log.append(update)
        self._confirmed = max(self._confirmed, update["update_id"] + 1)
        return update

    def redeliver(self, update_id: int) -> None:
        """Put an already confirmed update back in the queue, as Telegram may after a crash."""
        for update in self.delivered_log:
            if update["update_id"] == update_id:
                self._updates.append(dict(update))
                self._updates.sort(key=lambda u: u["update_id"])
                self._confirmed = min(self._confirmed, update_id)
                self._new_update.set()
                if self._pusher is not None:
                    self._pusher.wake()
                return
        raise KeyError(update_id)

    def _visible_to_bot(self, chat: SimChat, message: StoredMessage) -> bool:
        if chat.type == "private":
            return not chat.user.blocked_bot if chat.user else True
        if not chat.bot_member:
            return False
        if not self.privacy_mode:
            return True
        match = COMMAND.match(message.text or "")
        if match and (
            match.group(2) is None or match.group(2).lower() == self.bot_username.lower()
        ):
            return True
        if message.reply_to is not None:
            original = self.find_message(chat.id, message.reply_to)
            if original is not None and original.from_bot:
                return True
        return False

    def user_sends(
        self,
        user: SimUser,
        chat: SimChat,
        text: str = "",
        *,
        reply_to: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> StoredMessage:
        """A person sends a message; the bot gets it if Telegram would deliver it.

        `extra` adds raw message fields (a sticker, a photo) to what the bot receives.
        """
        entities: list[dict[str, Any]] = []
        match = COMMAND.match(text)
        if match:
            entities.append({"type": "bot_command", "offset": 0, "length": len(match.group(0))})
        message = self._new_message(
            chat, user, text, entities=entities, reply_to=reply_to, extra=extra or {}
        )
        if chat.type == "private" and user.blocked_bot:
            user.blocked_bot = False  # writing to a bot unblocks it
        if self._visible_to_bot(chat, message):
            self.push_update("message", self.message_dict(message))
        self._notify("message", message)
        return message

    def user_sends_voice(
        self,
        user: SimUser,
        chat: SimChat,
        audio: bytes,
        seconds: int,
        *,
        kind: str = "voice",
        mime: str = "audio/ogg",
        reply_to: int | None = None,
    ) -> StoredMessage:
        """A person sends a voice note (or a round `video_note`, or an `audio` file): the
        bytes are kept as Telegram keeps them, for getFile and the download that follows."""
        file_id = f"file-{next(self._file_ids)}"
        name = {"voice": "voice.oga", "video_note": "round.mp4", "audio": "audio.mp3"}[kind]
        self.files[file_id] = (name, audio, mime)
        media: dict[str, Any] = {
            "file_id": file_id,
            "file_unique_id": file_id,
            "duration": seconds,
            "file_size": len(audio),
        }
        if kind == "video_note":
            media["length"] = 240
        else:
            media["mime_type"] = mime
        return self.user_sends(user, chat, "", reply_to=reply_to, extra={kind: media})

    def user_edits(self, user: SimUser, message: StoredMessage, text: str) -> None:
        message.text = text
        message.edited = True
        chat = self.chats[message.chat_id]
        if self._visible_to_bot(chat, message):
            self.push_update("edited_message", self.message_dict(message))

    def user_presses(self, user: SimUser, message: StoredMessage, data: str) -> str:
        """A person presses an inline button (or a forged one: any data is allowed here)."""
        query_id = str(next(self._callback_ids))
        self.push_update(
            "callback_query",
            {
                "id": query_id,
                "from": user.as_dict(),
                "message": self.message_dict(message),
                "chat_instance": str(message.chat_id),
                "data": data,
            },
        )
        return query_id

    def _member_update(self, chat: SimChat, by: SimUser, old: str, new: str) -> None:
        def member(status: str) -> dict[str, Any]:
            data: dict[str, Any] = {"user": self.bot_user(), "status": status}
            if status == "kicked":
                data["until_date"] = 0  # forever
            return data

        self.push_update(
            "my_chat_member",
            {
                "chat": chat.as_dict(),
                "from": by.as_dict(),
                "date": self._now(),
                "old_chat_member": member(old),
                "new_chat_member": member(new),
            },
        )

    def add_bot_to_group(self, chat: SimChat, by: SimUser) -> None:
        chat.bot_member = True
        self._member_update(chat, by, "left", "member")
        message = self._new_message(chat, by, "", extra={"new_chat_members": [self.bot_user()]})
        self.push_update("message", self.message_dict(message))

    def remove_bot_from_group(self, chat: SimChat, by: SimUser) -> None:
        chat.bot_member = False
        self._member_update(chat, by, "member", "left")

    def block_bot(self, user: SimUser) -> None:
        user.blocked_bot = True
        self._member_update(self.chats[user.id], user, "member", "kicked")

    def migrate_to_supergroup(self, chat: SimChat, by: SimUser) -> SimChat:
        new_id = -(1000000000000 + abs(chat.id))
        new_chat = SimChat(id=new_id, type="supergroup", title=chat.title, members=chat.members)
        self.chats[new_id] = new_chat
        chat.migrated_to = new_id
        old_msg = self._new_message(chat, by, "", extra={"migrate_to_chat_id": new_id})
        self.push_update("message", self.message_dict(old_msg))
        new_msg = self._new_message(new_chat, by, "", extra={"migrate_from_chat_id": chat.id})
        self.push_update("message", self.message_dict(new_msg))
        return new_chat

    # ----- what the bot did ----------------------------------------------------------------

    def bot_messages(self, chat_id: int) -> list[StoredMessage]:
        return [m for m in self.messages.get(chat_id, []) if m.from_bot and not m.deleted]

    @property
    def pending_updates(self) -> int:
        """Updates queued but not yet handed to the bot."""
        return sum(1 for u in self._updates if u["update_id"] > self._fetched_up_to)

    def _notify(self, kind: str, payload: Any) -> None:
        for listener in self.listeners:
            result = listener(kind, payload)
            if asyncio.iscoroutine(result):
                task = asyncio.ensure_future(result)
                self._listener_tasks.add(task)  # keep a reference until it finishes
                task.add_done_callback(self._listener_tasks.discard)

    # ----- HTTP ----------------------------------------------------------------------------

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.method == "POST":
            if request.content_type == "application/json":
                body = await request.json()
                params.update(body if isinstance(body, dict) else {})
            else:
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        params[key] = (value.filename, value.file.read(), value.content_type)
                    else:
                        params[key] = value
        for key in list(params):
            value = params[key]
            if key in JSON_FIELDS and isinstance(value, str):
                params[key] = json.loads(value)
            elif key in INT_FIELDS and isinstance(value, str):
                with contextlib.suppress(ValueError):
                    params[key] = int(value)
        # attach:// references in multipart uploads
        for key, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                params[key] = params.get(value[len("attach://") :], value)
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        handler = getattr(self, f"api_{method.lower()}", None)
        if handler is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
                status=404,
            )
        try:
            params = await self._params(request)
        except (ValueError, json.JSONDecodeError):
            return self._error(ApiError(400, "Bad Request: can't parse parameters"))
        except ConnectionResetError:  # the bot went away mid-request (killed, restarted)
            return web.Response(status=499)
        if method != "getUpdates" and time.monotonic() < self._outage_until:
            self.outage_failures += 1
            if self._outage_kind == "hang":  # no answer; the connection drops at the end
                await asyncio.sleep(self._outage_until - time.monotonic())
                if request.transport is not None:
                    request.transport.close()
                return web.Response(status=504)
            return web.json_response(
                {"ok": False, "error_code": 502, "description": "Bad Gateway"}, status=502
            )
        if method != "getUpdates":
            self.last_activity = time.monotonic()
            self.calls.append((clock.now().timestamp(), method, params))
            self._notify("call", (method, params))
            for index, (target, error) in enumerate(self._injected):
                if target == method:
                    del self._injected[index]
                    if error.code == 429:
                        self.rejected_429 += 1
                    return self._error(error)
        try:
            result = await handler(params)
        except ApiError as exc:
            self._notify("error", (method, exc.code, exc.description))
            return self._error(exc)
        finally:
            if method != "getUpdates":
                self.last_activity = time.monotonic()
        return web.json_response({"ok": True, "result": result})

    def _error(self, exc: ApiError) -> web.Response:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": exc.code,
            "description": exc.description,
        }
        if exc.parameters:
            body["parameters"] = exc.parameters
        return web.json_response(body, status=exc.code)

    async def _download(self, request: web.Request) -> web.Response:
        # file_path is "files/<file_id>/<name>", as getFile hands it out
        parts = request.match_info["path"].split("/")
        if len(parts) == 3 and parts[1] in self.files:
            _name, content, mime = self.files[parts[1]]
            return web.Response(body=content, content_type=mime)
        raise web.HTTPNotFound()

    def outage(self, seconds: float, kind: str = "502") -> None:
        """For `seconds`, answer every call but getUpdates as Telegram does in a bad minute:
        "502" answers Bad Gateway; "hang" answers nothing and then drops the connection."""
        self._outage_until = time.monotonic() + seconds
        self._outage_kind = kind

    def fail_next(
        self, method: str, code: int, description: str, retry_after: int | None = None
    ) -> None:
        """Make the next call of `method` fail as Telegram would (e.g. 429 with retry_after)."""
        parameters = {"retry_after": retry_after} if retry_after is not None else None
        self._injected.append((method, ApiError(code, description, parameters)))

    # ----- flood limits --------------------------------------------------------------------

    def _check_flood(self, chat_id: int) -> None:
        if not self.flood_limits:
            return
        now = time.monotonic()
        overall = self._sent_overall
        while overall and now - overall[0] >= 1:
            overall.popleft()
        chat = self.chats.get(chat_id)
        per_chat = self._sent_per_chat[chat_id]
        is_group = chat is not None and chat.type != "private"
        window = 60.0 if is_group else 1.0
        while per_chat and now - per_chat[0] >= window:
            per_chat.popleft()
        if len(overall) >= self.overall_per_second:
            self._reject(1 - (now - overall[0]))
        if is_group and len(per_chat) >= self.group_per_minute:
            self._reject(60 - (now - per_chat[0]))
        if not is_group and self.chat_per_second and len(per_chat) >= self.chat_per_second:
            self._reject(1 - (now - per_chat[0]))
        overall.append(now)
        per_chat.append(now)

    def _reject(self, wait: float) -> None:
        self.rejected_429 += 1
        retry_after = max(1, int(wait + 0.999))
        raise ApiError(
            429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
        )

    # ----- Bot API methods -----------------------------------------------------------------

    def _chat_for_sending(self, chat_id: Any) -> SimChat:
        if not isinstance(chat_id, int):
            raise ApiError(400, "Bad Request: chat not found")
        chat = self.chats.get(chat_id)
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        if chat.migrated_to is not None:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        if chat.type == "private" and chat.user is not None and chat.user.blocked_bot:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat.type != "private" and not chat.bot_member:
            raise ApiError(403, "Forbidden: bot was kicked from the group chat")
        return chat

    def _render_text(self, params: dict[str, Any], key: str = "text") -> tuple[str, list[Any]]:
        raw = params.get(key)
        raw = "" if raw is None else str(raw)
        if params.get("parse_mode", "").upper() == "HTML":
            try:
                text, entities = parse_html(raw)
            except EntityError as exc:
                raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from exc
        else:
            text, entities = raw, list(params.get("entities") or [])
        return text.strip(), entities

    def _check_markup(self, markup: Any, chat: SimChat | None = None) -> dict[str, Any] | None:
        if not markup:
            return None
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if "web_app" in button and chat is not None and chat.type != "private":
                    raise ApiError(400, "Bad Request: BUTTON_TYPE_INVALID")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                if not button.get("text"):
                    raise ApiError(400, "Bad Request: text buttons are unallowed")
        return dict(markup)

    def _reply_to(self, params: dict[str, Any]) -> int | None:
        reply_to = params.get("reply_to_message_id")
        parameters = params.get("reply_parameters")
        if isinstance(parameters, dict):
            reply_to = parameters.get("message_id")
        return int(reply_to) if reply_to is not None else None

    async def api_getme(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
        }

    async def api_setwebhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return await self.api_deletewebhook(params)
        if not url.startswith(("http://", "https://")):
            raise ApiError(400, "Bad Request: bad webhook: invalid URL")
        await self.api_deletewebhook({})
        if "allowed_updates" in params:
            self.allowed_updates = list(params["allowed_updates"])
        self.webhook = WebhookTarget(
            url,
            str(params.get("secret_token") or ""),
            int(params.get("max_connections") or 40),
        )
        self._pusher = WebhookPusher(self, self.webhook)
        return True

    async def api_deletewebhook(self, params: dict[str, Any]) -> bool:
        if self._pusher is not None:
            await self._pusher.stop()
        self._pusher = None
        self.webhook = None
        return True

    async def api_getwebhookinfo(self, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook.url if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook is not None:
            info["max_connections"] = self.webhook.max_connections
            if self.webhook.last_error:
                info["last_error_date"] = int(self.webhook.last_error_at)
                info["last_error_message"] = self.webhook.last_error
        return info

    def _webhook_delivered(self, update: dict[str, Any]) -> None:
        """The webhook answered 2xx: the update is Telegram's no more."""
        self._updates = [u for u in self._updates if u["update_id"] != update["update_id"]]
        self.delivered_log.append(update)
        self._confirmed = max(self._confirmed, update["update_id"] + 1)
        self.last_activity = time.monotonic()

    async def api_close(self, params: dict[str, Any]) -> bool:
        return True

    async def api_getupdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        self.poll_count += 1
        if "allowed_updates" in params:
            self.allowed_updates = list(params["allowed_updates"])
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        if offset:
            self._confirmed = max(self._confirmed, offset)
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        # A second poller ends the first one, as Telegram does (409 Conflict).
        if self._poller is not None and not self._poller.done():
            self._poller.set_exception(
                ApiError(409, "Conflict: terminated by other getUpdates request")
            )
        loop = asyncio.get_running_loop()
        me: asyncio.Future[None] = loop.create_future()
        self._poller = me
        deadline = loop.time() + timeout
        while True:
            ready = [u for u in self._updates if u["update_id"] >= offset][:limit]
            if ready or loop.time() >= deadline:
                break
            self._new_update.clear()
            waiter = asyncio.ensure_future(self._new_update.wait())
            done, _ = await asyncio.wait(
                {waiter, me},  # type: ignore[type-var]
                timeout=max(0.0, deadline - loop.time()),
                return_when=asyncio.FIRST_COMPLETED,
            )
            waiter.cancel()
            if me in done:
                me.result()  # raises the 409
        if not me.done():
            me.set_result(None)
        if ready:
            self._fetched_up_to = max(self._fetched_up_to, ready[-1]["update_id"])
            self.delivered_log.extend(ready)
            self.last_activity = time.monotonic()
        return ready

    async def api_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat_for_sending(params.get("chat_id"))
        text, entities = self._render_text(params)
        if not text:
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        markup = self._check_markup(params.get("reply_markup"), chat)
        self._check_flood(chat.id)
        message = self._new_message(
            chat,
            None,
            text,
            entities=entities,
            reply_markup=markup,
            reply_to=self._reply_to(params),
        )
        self._notify("bot_message", message)
        return self.message_dict(message)

    async def api_setchatmenubutton(self, params: dict[str, Any]) -> bool:
        self.menu_button = params.get("menu_button")
        return True

    async def api_sendchataction(self, params: dict[str, Any]) -> bool:
        chat = self._chat_for_sending(params.get("chat_id"))
        self.chat_actions.append((chat.id, str(params.get("action"))))
        return True

    def _edit_target(self, params: dict[str, Any]) -> StoredMessage:
        chat = self._chat_for_sending(params.get("chat_id"))
        message = self.find_message(chat.id, int(params.get("message_id") or 0))
        if message is None or message.deleted:
            raise ApiError(400, "Bad Request: message to edit not found")
        if not message.from_bot:
            raise ApiError(400, "Bad Request: message can't be edited")
        return message

    async def api_editmessagetext(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._edit_target(params)
        text, entities = self._render_text(params)
        if not text:
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > MAX_TEXT:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        markup = self._check_markup(params.get("reply_markup"))
        if text == message.text and markup == message.reply_markup:
            raise ApiError(400, "Bad Request: message is not modified")
        message.text, message.entities, message.reply_markup = text, entities, markup
        message.edited = True
        self._notify("bot_edit", message)
        return self.message_dict(message)

    async def api_editmessagereplymarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._edit_target(params)
        markup = self._check_markup(params.get("reply_markup"))
        if markup == message.reply_markup:
            raise ApiError(400, "Bad Request: message is not modified")
        message.reply_markup = markup
        self._notify("bot_edit", message)
        return self.message_dict(message)

    async def api_deletemessage(self, params: dict[str, Any]) -> bool:
        chat = self._chat_for_sending(params.get("chat_id"))
        message = self.find_message(chat.id, int(params.get("message_id") or 0))
        if message is None or message.deleted:
            raise ApiError(400, "Bad Request: message to delete not found")
        message.deleted = True
        self._notify("bot_delete", message)
        return True

    async def api_answercallbackquery(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id"))
        self.callback_answers[query_id] = params
        self._notify("callback_answer", params)
        return True

    @staticmethod
    def _menu(params: dict[str, Any]) -> str:
        """A menu's key: its scope type, and ":<language>" for a language's own menu."""
        scope = params.get("scope") or {}
        if isinstance(scope, str):
            scope = json.loads(scope)
        kind = scope.get("type", "default")
        lang = params.get("language_code")
        return f"{kind}:{lang}" if lang else kind

    async def api_setmycommands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands") or []
        if isinstance(commands, str):
            commands = json.loads(commands)
        self.commands[self._menu(params)] = list(commands)
        return True

    async def api_getmycommands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.commands.get(self._menu(params), [])

    async def api_deletemycommands(self, params: dict[str, Any]) -> bool:
        self.commands.pop(self._menu(params), None)
        return True

    async def api_getchat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self.chats.get(params.get("chat_id"))  # type: ignore[arg-type]
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return {**chat.as_dict(), "accent_color_id": 0, "max_reaction_count": 11}

    def _store_file(self, upload: Any, default_name: str) -> dict[str, Any]:
        if not isinstance(upload, tuple):
            raise ApiError(400, "Bad Request: there is no file in the request")
        name, content, mime = upload
        file_id = f"file-{next(self._file_ids)}"
        self.files[file_id] = (name or default_name, content, mime or "application/octet-stream")
        return {
            "file_id": file_id,
            "file_unique_id": file_id,
            "file_name": name or default_name,
            "mime_type": mime,
            "file_size": len(content),
        }

    async def api_senddocument(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat_for_sending(params.get("chat_id"))
        document = self._store_file(params.get("document"), "document")
        caption, entities = self._render_text(params, "caption")
        self._check_flood(chat.id)
        message = self._new_message(
            chat,
            None,
            caption,
            entities=entities,
            document=document,
            reply_markup=self._check_markup(params.get("reply_markup")),
        )
        self._notify("bot_message", message)
        return self.message_dict(message)

    async def api_sendphoto(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat_for_sending(params.get("chat_id"))
        stored = self._store_file(params.get("photo"), "photo.png")
        caption, entities = self._render_text(params, "caption")
        self._check_flood(chat.id)
        photo = [
            {
                "file_id": stored["file_id"],
                "file_unique_id": stored["file_id"],
                "width": 640,
                "height": 480,
                "file_size": stored["file_size"],
            }
        ]
        message = self._new_message(
            chat,
            None,
            caption,
            entities=entities,
            photo=photo,
            reply_markup=self._check_markup(params.get("reply_markup")),
        )
        self._notify("bot_message", message)
        return self.message_dict(message)

    async def api_getfile(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params.get("file_id"))
        if file_id not in self.files:
            raise ApiError(400, "Bad Request: invalid file_id")
        name, content, _mime = self.files[file_id]
        if len(content) > MAX_DOWNLOAD:
            raise ApiError(400, "Bad Request: file is too big")
        return {
            "file_id": file_id,
            "file_unique_id": file_id,
            "file_size": len(content),
            "file_path": f"files/{file_id}/{name}",
        }
