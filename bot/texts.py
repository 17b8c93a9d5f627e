"""The one Jinja2 environment: every word the bot says comes from a template in `prompts/`."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from bot.parsing import ParseError, parse_weekly_slot


def mention(user_id: int, name: str) -> Markup:
    """A Telegram HTML mention: pings the person and makes a selective ForceReply reach them."""
    return Markup('<a href="tg://user?id={}">{}</a>').format(int(user_id), name)


def slot(text: object) -> str:
    """ "sat 15:00" as "Saturday 15:00"; anything else as typed."""
    try:
        parsed = parse_weekly_slot(str(text))
    except ParseError:
        return str(text)
    return f"{parsed.day_name} {parsed.time}"


class Renderer:
    """Renders templates by name (`common/welcome`, `sotu/speaker_talks`).

    Autoescaping is on, so names and answers a partner typed are HTML-escaped for
    Telegram's HTML parse mode, while the templates themselves may use <b> and <i>.
    """

    def __init__(self, prompts_dir: Path) -> None:
        self.prompts_dir = prompts_dir
        self.env = Environment(
            loader=FileSystemLoader(str(prompts_dir)),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            autoescape=True,
            keep_trailing_newline=False,
        )
        self.env.globals["mention"] = mention
        self.env.filters["slot"] = slot
        # Button labels are plain text on Telegram: the same templates, nothing escaped.
        self.plain = self.env.overlay(autoescape=False)

    def has(self, name: str) -> bool:
        return (self.prompts_dir / f"{name}.j2").is_file()

    def render(self, name: str, /, **context: Any) -> str:
        """Telegram HTML: what a person typed is escaped."""
        return _tidy(self.env.get_template(f"{name}.j2").render(**context))

    def label(self, name: str, /, **context: Any) -> str:
        """A button label or a toast: plain text, shown as written."""
        return _tidy(self.plain.get_template(f"{name}.j2").render(**context))


def plain(html_text: str) -> str:
    """Telegram HTML as plain text, for a toast (answerCallbackQuery shows text as is)."""
    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


def _tidy(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())
