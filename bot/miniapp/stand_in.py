"""A local stand-in for Telegram's `telegram-web-app.js`, for the playground and browser tests.

Telegram opens a Mini App at its URL with the launch data in the fragment
(`#tgWebAppData=<initData>&tgWebAppThemeParams=<JSON>&...`), and its script turns that into
`window.Telegram.WebApp`. The stand-in does the same with no network and no secret of its
own: whoever builds the launch URL (`launch_url`, given the bot's token) signs the initData
exactly as Telegram would, so the API checks it like a real one. Never mount it in production:
it is harmless there (it signs nothing), but it is not Telegram.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.miniapp.auth import sign_init_data

PATH = "/app/stand-in.js"

# Telegram's own colours (its default light and night themes), as themeParams names them.
LIGHT = {
    "bg_color": "#ffffff",
    "text_color": "#000000",
    "hint_color": "#707579",
    "link_color": "#3390ec",
    "button_color": "#3390ec",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#f4f4f5",
    "section_bg_color": "#f4f4f5",
    "section_header_text_color": "#3390ec",
    "accent_text_color": "#3390ec",
    "destructive_text_color": "#df3f40",
    "subtitle_text_color": "#707579",
}
DARK = {
    "bg_color": "#212121",
    "text_color": "#ffffff",
    "hint_color": "#aaaaaa",
    "link_color": "#8774e1",
    "button_color": "#8774e1",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#0f0f0f",
    "section_bg_color": "#2c2c2e",
    "section_header_text_color": "#8774e1",
    "accent_text_color": "#8774e1",
    "destructive_text_color": "#ff595a",
    "subtitle_text_color": "#aaaaaa",
}

STAND_IN_JS = """\
(function () {
  "use strict";
  var hash = new URLSearchParams((window.location.hash || "").replace(/^#/, ""));
  var initData = hash.get("tgWebAppData") || "";
  var theme = {};
  try { theme = JSON.parse(hash.get("tgWebAppThemeParams") || "{}"); } catch (e) { theme = {}; }
  var unsafe = {};
  new URLSearchParams(initData).forEach(function (value, key) {
    unsafe[key] = value;
    if (key === "user") {
      try { unsafe.user = JSON.parse(value); } catch (e) { unsafe.user = null; }
    }
  });
  function dark(color) {
    var m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color || "");
    if (!m) return false;
    var r = parseInt(m[1], 16), g = parseInt(m[2], 16), b = parseInt(m[3], 16);
    return 0.2126 * r + 0.7152 * g + 0.0722 * b < 120;
  }
  var handlers = {};
  window.Telegram = window.Telegram || {};
  window.Telegram.WebApp = {
    initData: initData,
    initDataUnsafe: unsafe,
    themeParams: theme,
    colorScheme: hash.get("tgWebAppColorScheme") || (dark(theme.bg_color) ? "dark" : "light"),
    platform: hash.get("tgWebAppPlatform") || "unknown",
    version: hash.get("tgWebAppVersion") || "8.0",
    isExpanded: false,
    ready: function () {},
    expand: function () { this.isExpanded = true; },
    close: function () {},
    onEvent: function (name, handler) { (handlers[name] = handlers[name] || []).push(handler); },
    offEvent: function (name, handler) {
      handlers[name] = (handlers[name] || []).filter(function (h) { return h !== handler; });
    }
  };
})();
"""


def launch_url(
    base: str,
    token: str,
    user: dict[str, Any],
    *,
    start_param: str | None = None,
    dark: bool = False,
) -> str:
    """The URL Telegram would open: `base` (the page, e.g. http://127.0.0.1:8081/app/) with
    initData signed by `token` for `user` and the theme, in the fragment."""
    fragment = urlencode(
        {
            "tgWebAppData": sign_init_data(token, user, start_param),
            "tgWebAppThemeParams": json.dumps(DARK if dark else LIGHT),
            "tgWebAppColorScheme": "dark" if dark else "light",
            "tgWebAppVersion": "8.0",
            "tgWebAppPlatform": "playground",
        },
        quote_via=quote,
    )
    return f"{base}#{fragment}"


async def _script(_request: Request) -> Response:
    return Response(
        STAND_IN_JS,
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


def stand_in_routes() -> list[Route]:
    """The stand-in script at PATH; pass `telegram_js=PATH` to `miniapp_routes` with it."""
    return [Route(PATH, _script, methods=["GET"])]
