"""The playground's voice notes: a recording or an upload from the page, sent into a chat as
Telegram would carry it (the bot then fetches it with getFile, like any voice note)."""

from __future__ import annotations

import asyncio
import math
from typing import TYPE_CHECKING

from aiohttp import web

from bot.voice.transcriber import Unreadable, audio_seconds

if TYPE_CHECKING:
    from bot.playground.app import Playground

VOICE_LIMIT = 20 * 1024 * 1024  # what a bot may download from Telegram (getFile)


async def voice_note(playground: Playground, request: web.Request) -> web.Response:
    """A voice note recorded or uploaded in the page: the body is the audio itself."""
    who = playground.person(request.query.get("who", "alex"))
    chat = playground.chat(request.query.get("column", "alex"), who)
    try:
        reply_to = int(request.query["reply_to"]) if request.query.get("reply_to") else None
        told = float(request.query.get("seconds") or 0)
    except ValueError:
        return web.json_response({"ok": False, "error": "bad number"}, status=400)
    too_big = web.json_response(
        {"ok": False, "error": "a voice note can be at most 20 MB"}, status=413
    )
    if (request.content_length or 0) > VOICE_LIMIT:
        return too_big
    chunks: list[bytes] = []
    size = 0
    while size <= VOICE_LIMIT:  # read at most one byte more than allowed
        chunk = await request.content.read(VOICE_LIMIT + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > VOICE_LIMIT:
        return too_big
    audio = b"".join(chunks)
    if not audio:
        return web.json_response({"ok": False, "error": "empty"}, status=400)
    try:
        length = await asyncio.to_thread(audio_seconds, audio)
    except Unreadable:
        length = 0.0  # sent all the same: the bot answers a note it cannot read
    if length <= 0 and 0 < told < 24 * 3600:
        length = told  # a browser's recording may not say its length; the page timed it
    seconds = max(1, math.ceil(length))
    mime = request.content_type if request.headers.get("Content-Type") else ""
    if not mime or mime == "application/octet-stream":
        mime = "audio/ogg"
    playground.server.user_sends_voice(who, chat, audio, seconds, mime=mime, reply_to=reply_to)
    return web.json_response({"ok": True, "seconds": seconds})
