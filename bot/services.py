"""The bot's services, built once from settings and shared by every handler."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine

from bot import commands, practices
from bot.coaching import MAX_ANSWER_CHARS, FlowService
from bot.config import Settings
from bot.couples import CoupleService
from bot.data_rights import DataRights
from bot.engine.check import load_flows
from bot.events import Event
from bot.nudges import NudgeService
from bot.outbox import Reply
from bot.practices import Practices
from bot.safety.detect import Detector
from bot.safety.respond import SafetyService
from bot.storage.db import make_engine, upgrade
from bot.texts import Renderer


@dataclass
class Services:
    settings: Settings
    engine: Engine
    renderer: Renderer
    couples: CoupleService
    flows: FlowService
    nudges: NudgeService
    safety: SafetyService
    rights: DataRights

    @property
    def commands(self) -> list[tuple[str, str]]:
        """The private chat's menu: the flows' own commands first, then the built-in ones."""
        own = [(f.command, f.description) for f in self.flows.flows.values() if f.command]
        return own + commands.PRIVATE

    @property
    def group_commands(self) -> list[tuple[str, str]]:
        own = [
            (f.command, f.description)
            for f in self.flows.flows.values()
            if f.command and f.runs_in == "group"
        ]
        return own + commands.GROUP

    def text(self, event: Event) -> Reply:
        """Free text: safety first, then length, then the running flow's, or a pointer."""
        help_first = self.safety.screen(event)
        if help_first is not None:
            return help_first  # the words never reach a flow: not stored, not relayed
        assert event.text is not None
        if len(event.text) > MAX_ANSWER_CHARS:  # refused whole: nothing half-stored
            return self.couples.reply(
                event, "too_long", length=len(event.text), limit=MAX_ANSWER_CHARS
            )
        reply = self.flows.text(event)
        if reply is not None:
            return reply
        if event.in_group:
            return Reply()  # a reply to an old bot message in the group: nothing to do
        return self.couples.reply(event, "idle")

    def button(self, event: Event) -> Reply:
        if (event.button or "").startswith("n:"):
            return self.nudges.button(event)
        if (event.button or "").startswith("s:"):
            return self.safety.button(event)
        if (event.button or "").startswith("p:"):
            return self.rights.button(event)
        return self.flows.button(event)

    def cancel(self, event: Event) -> Reply:
        return self.flows.cancel(event)


def build_services(settings: Settings) -> Services:
    """Validate the flows, migrate the database, build the services.

    Raises `FlowError` naming the file, state and problem when a flow is invalid.
    """
    renderer = Renderer(settings.prompts_dir)
    flows = load_flows(settings.flows_dir, settings.prompts_dir, practices.names())
    engine = make_engine(settings.database_url)
    upgrade(engine)
    couples = CoupleService(
        engine,
        renderer,
        default_timezone=settings.default_timezone,
        invite_ttl=timedelta(hours=settings.invite_ttl_hours),
    )
    flow_service = FlowService(engine, flows, renderer, couples)
    nudges = NudgeService(
        engine,
        renderer,
        couples,
        flow_service,
        max_late=timedelta(hours=settings.missed_nudge_max_late_hours),
    )
    safety = SafetyService(Detector.load(), renderer, couples, flow_service)
    Practices(flow_service, renderer).register()
    rights = DataRights(
        engine, renderer, couples, retention=timedelta(days=settings.retention_days)
    )
    return Services(
        rights=rights,
        safety=safety,
        settings=settings,
        engine=engine,
        renderer=renderer,
        couples=couples,
        flows=flow_service,
        nudges=nudges,
    )
