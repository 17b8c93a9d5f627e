"""Our space in the playground: the Mini App on a port of its own, over plain HTTP, with the
local stand-in for Telegram's script, opened as Alex or Sam the way Telegram would open it
(initData signed with the playground's token, in the fragment)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.emulator.cluster import free_port
from bot.miniapp import stand_in

if TYPE_CHECKING:
    from bot.playground.app import Playground


class Space:
    def __init__(self, host: str, token: str) -> None:
        self.host, self.token = host, token
        self.port = free_port()

    def settings(self) -> dict[str, Any]:
        """What the bot's settings need to serve it (`us-coach run` does, on MINIAPP_PORT)."""
        return {
            "miniapp_port": self.port,
            "miniapp_host": self.host,
            "miniapp_script": stand_in.PATH,
        }

    async def open(self, playground: Playground, request: web.Request) -> web.Response:
        """/space/alex (or sam; ?theme=dark): a redirect to the page, signed for them."""
        who = playground.person(request.match_info["who"])
        user = {"id": who.id, "first_name": who.first_name, "language_code": who.language_code}
        dark = request.query.get("theme") == "dark"
        base = f"http://{self.host}:{self.port}/app/"
        url = stand_in.launch_url(base, self.token, user, dark=dark)
        # A plain header: HTTPFound would normalise the URL and undo the fragment's encoding.
        return web.Response(status=302, headers={"Location": url})
