"""The bot's services, built once from settings and shared by every handler."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine

from bot import commands
from bot.config import Settings
from bot.couples import CoupleService
from bot.events import Event
from bot.outbox import Notice, Reply
from bot.storage.db import make_engine, upgrade
from bot.texts import Renderer

# Longer answers are refused with a kind note (Telegram itself caps a message at 4,096).
MAX_ANSWER_CHARS = 2000


@dataclass
class Services:
    settings: Settings
    engine: Engine
    renderer: Renderer
    couples: CoupleService
    commands: list[tuple[str, str]] = field(default_factory=lambda: list(commands.PRIVATE))
    group_commands: list[tuple[str, str]] = field(default_factory=lambda: list(commands.GROUP))

    def text(self, event: Event) -> Reply:
        """Free text outside any command."""
        assert event.text is not None
        if len(event.text) > MAX_ANSWER_CHARS:
            return self.couples.reply(
                event, "too_long", length=len(event.text), limit=MAX_ANSWER_CHARS
            )
        return self.couples.reply(event, "idle")

    def button(self, event: Event) -> Reply:
        return Reply(notice=Notice(self.renderer.render("common/button_unknown")))

    def cancel(self, event: Event) -> Reply:
        return self.couples.reply(event, "cancel_none")


def build_services(settings: Settings) -> Services:
    """Migrate the database and build the services."""
    engine = make_engine(settings.database_url)
    upgrade(engine)
    renderer = Renderer(settings.prompts_dir)
    couples = CoupleService(
        engine,
        renderer,
        default_timezone=settings.default_timezone,
        invite_ttl=timedelta(hours=settings.invite_ttl_hours),
    )
    return Services(settings=settings, engine=engine, renderer=renderer, couples=couples)
