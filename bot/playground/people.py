"""The page acting for Alex and Sam: what they type and press, Alex adding the bot to the
group, and who they are (their names, their Telegram language). The voice notes they record
are bot/playground/voice.py."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiohttp import web

from bot.words.languages import SHIPPED

if TYPE_CHECKING:
    from bot.playground.app import Playground


async def send(playground: Playground, request: web.Request) -> web.Response:
    body = await request.json()
    who = playground.person(body.get("who", "alex"))
    chat = playground.chat(body.get("column", "alex"), who)
    text = str(body.get("text", ""))[:20000]
    if not text.strip():
        return web.json_response({"ok": False, "error": "empty"}, status=400)
    reply_to = body.get("reply_to")
    playground.server.user_sends(who, chat, text, reply_to=int(reply_to) if reply_to else None)
    return web.json_response({"ok": True})


async def press(playground: Playground, request: web.Request) -> web.Response:
    body = await request.json()
    who = playground.person(body.get("who", "alex"))
    chat = playground.chat(body.get("column", "alex"), who)
    message = playground.server.find_message(chat.id, int(body.get("message_id", 0)))
    if message is None:
        return web.json_response({"ok": False, "error": "no such message"}, status=404)
    query = playground.server.user_presses(who, message, str(body.get("data", "")))
    for _ in range(100):  # wait briefly for the toast, so the page can show it
        answer = playground.server.callback_answers.get(query)
        if answer is not None:
            return web.json_response({"ok": True, "toast": answer.get("text") or ""})
        await asyncio.sleep(0.05)
    return web.json_response({"ok": True, "toast": ""})


async def add_bot(playground: Playground, _request: web.Request) -> web.Response:
    if not playground.cast.group.bot_member:
        playground.server.add_bot_to_group(playground.cast.group, playground.cast.alex)
    return web.json_response({"ok": True})


async def rename(playground: Playground, request: web.Request) -> web.Response:
    body = await request.json()
    for who in ("alex", "sam"):
        name = str(body.get(who) or "").strip()[:64]
        if name:
            playground.person(who).first_name = name
    return web.json_response(playground.state()["names"])


async def language(playground: Playground, request: web.Request) -> web.Response:
    """The person's Telegram language (what Telegram sends as language_code)."""
    body = await request.json()
    who, code = str(body.get("who")), str(body.get("code") or "en")
    if who in ("alex", "sam") and code in SHIPPED:
        playground.person(who).language_code = code
    return web.json_response(playground.state()["languages"])
