"""The Mini App's one page, served with a strict Content Security Policy: the inline script
and style are allowed by their hashes, the only other script is the one providing
`window.Telegram.WebApp` (Telegram's own in production, the playground's stand-in locally),
and the page talks to nothing but its own API.

The page is assembled once from page.html, its style (page.css) and the words of the page
itself in each language (labels.json, a JSON data block the script reads); every sentence
the bot also says in chat comes from the API, rendered from prompts/.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from starlette.responses import HTMLResponse

HERE = Path(__file__).resolve().parent
SCRIPT_SOURCE = "__TELEGRAM_JS__"
# Only <script> and <style> without attributes run: the labels' JSON block is data.
INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)


def labels() -> dict[str, dict[str, str]]:
    """The page's own words: language -> key -> text (English has every key)."""
    found: dict[str, dict[str, str]] = json.loads(
        (HERE / "labels.json").read_text(encoding="utf-8")
    )
    return found


@cache
def _template() -> str:
    words = json.dumps(labels(), ensure_ascii=False, separators=(",", ":"))
    return (
        (HERE / "page.html")
        .read_text(encoding="utf-8")
        .replace("__STYLE__", (HERE / "page.css").read_text(encoding="utf-8"))
        .replace("__LABELS__", words.replace("</", "<\\/"))  # never closes its <script>
    )


def _hash(text: str) -> str:
    digest = hashlib.sha256(text.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def _origin(url: str) -> str:
    """What CSP must allow to load `url`: its origin, or 'self' for a path on this server."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else "'self'"


class Page:
    def __init__(self, telegram_js: str) -> None:
        self.body = _template().replace(SCRIPT_SOURCE, html.escape(telegram_js, quote=True))
        inline = INLINE.findall(self.body)
        scripts = " ".join(_hash(code) for kind, code in inline if kind == "script")
        styles = " ".join(_hash(code) for kind, code in inline if kind == "style")
        self.policy = "; ".join(
            (
                "default-src 'none'",
                f"script-src {_origin(telegram_js)} {scripts}",
                f"style-src {styles}",
                "connect-src 'self'",
                "img-src 'self' data:",
                "base-uri 'none'",
                "form-action 'none'",
            )
        )

    def response(self) -> HTMLResponse:
        return HTMLResponse(
            self.body,
            headers={
                "Content-Security-Policy": self.policy,
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
                "Cache-Control": "no-cache",
            },
        )
