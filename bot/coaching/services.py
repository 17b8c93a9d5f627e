"""The bot's services, built once from settings and shared by every handler."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property, partial

from sqlalchemy import Connection, Engine

from bot.coaching import practices
from bot.coaching.agreements import AgreementService
from bot.coaching.couples import CoupleService
from bot.coaching.data_rights import DataRights
from bot.coaching.flows import MAX_ANSWER_CHARS, FlowService
from bot.coaching.language_settings import LanguageSettings
from bot.coaching.nudges import NudgeService
from bot.coaching.our_space import OurSpace
from bot.coaching.practices import Practices
from bot.coaching.voice_notes import VoiceNoteService
from bot.config import ConfigError, Settings
from bot.core.events import Event
from bot.core.outbox import SCHEDULED, Notice, Reply
from bot.core.work import Tx, UnitOfWork
from bot.engine.loading import load_flows
from bot.safety.detect import Detector
from bot.safety.respond import SafetyService, Screened
from bot.storage.db import Database, pending_migrations, upgrade
from bot.storage.inbox import Inbox
from bot.storage.outbox import Outbox, Queued
from bot.storage.voice_notes import VoiceNotes
from bot.words import buttons
from bot.words.text import Phrase
from bot.words.texts import Renderer


@dataclass
class Services:
    settings: Settings
    db: Database
    inbox: Inbox
    outbox: Outbox
    work: UnitOfWork
    renderer: Renderer
    couples: CoupleService
    flows: FlowService
    nudges: NudgeService
    safety: SafetyService
    agreements: AgreementService
    rights: DataRights
    languages: LanguageSettings
    voice: VoiceNoteService
    space: OurSpace

    @property
    def engine(self) -> Engine:
        return self.db.engine

    @cached_property
    def commands(self) -> list[tuple[str, Phrase]]:
        """The private chat's menu: the flows' own commands first, then the built-in ones;
        each description says itself in every language (bot/words/labels.py). Flows are
        fixed for a process's life: made once, not at every /help."""
        labels = self.renderer.labels
        own = [(f.command, labels.description(f)) for f in self.flows.flows.values() if f.command]
        return own + labels.commands("private")

    @cached_property
    def group_commands(self) -> list[tuple[str, Phrase]]:
        labels = self.renderer.labels
        own = [
            (f.command, labels.description(f))
            for f in self.flows.flows.values()
            if f.command and f.runs_in == "group"
        ]
        return own + labels.commands("group")

    def read(self, event: Event) -> Screened:
        """The safety reading of typed or heard words, before the unit of work opens."""
        with self.work.reading() as tx:
            return self.safety.read(tx, event)

    def text(self, tx: Tx, event: Event, screened: Screened | None = None) -> Reply:
        """Free text: safety first, then length, then the running flow's, or a pointer.
        `screened`: the safety reading done before the unit of work (the handler's way);
        read here when a caller has none."""
        help_first = self.safety.screen(tx, event, screened or self.safety.read(tx, event))
        if help_first is not None:
            return help_first  # the words never reach a flow: not stored, not relayed
        assert event.text is not None
        if len(event.text) > MAX_ANSWER_CHARS:  # refused whole: nothing half-stored
            return self.couples.reply(
                event, "too_long", length=len(event.text), limit=MAX_ANSWER_CHARS
            )
        reply = self.flows.text(tx, event)
        if reply is not None:
            return reply
        if event.in_group:
            return Reply()  # a reply to an old bot message in the group: nothing to do
        return self.couples.reply(event, "idle")

    def button(self, tx: Tx, event: Event) -> Reply:
        """A button press, to the service whose button it is (bot/words/buttons.py)."""
        data = buttons.unpack(event.button)
        if isinstance(
            data,
            buttons.StartMeeting | buttons.Snooze | buttons.StartSmall | buttons.FirstCheckIn,
        ):
            return self.nudges.button(tx, event, data)
        if isinstance(data, buttons.SafetyChoice):
            return self.safety.button(tx, event, data)
        if isinstance(data, buttons.AgreementChoice):
            return self.agreements.answer(tx, event, data)
        if isinstance(data, buttons.TimezoneChoice):
            return self.couples.choose_timezone(tx, event, data.zone)
        if isinstance(data, buttons.LanguageChoice):
            return self.languages.button(tx, event, data)
        if isinstance(data, buttons.FormChoice):
            return self.languages.choose_form(tx, event, data.form)
        if isinstance(data, buttons.ForgetChoice):
            return self.rights.button(tx, event, data)
        if isinstance(data, buttons.VoiceChoice):
            return self.voice.choose(tx, event, data, self.text)
        if isinstance(data, buttons.FlowChoice | buttons.SwitchFlow | buttons.KeepFlow):
            return self.flows.button(tx, event, data)
        # Forged, or from a version of the bot that made other buttons.
        return Reply(notice=Notice(self.renderer.render("common/button_unknown")))

    def cancel(self, tx: Tx, event: Event) -> Reply:
        return self.flows.cancel(tx, event)

    # ----- what the sender reports back ----------------------------------------------------

    def follow_group(self, old_chat_id: int, new_chat_id: int) -> None:
        """The sender heard a group became a supergroup: in a unit of its own."""
        with self.work.open() as tx:
            self.group_moved(tx, old_chat_id, new_chat_id)

    def group_moved(self, tx: Tx, old_chat_id: int, new_chat_id: int) -> None:
        """A group became a supergroup: the couple and every waiting message follow it."""
        self.couples.migrated(tx, old_chat_id, new_chat_id)
        self.outbox.move_chat(tx.conn, old_chat_id, new_chat_id)

    def chat_lost(self, chat_id: int) -> list[Queued]:
        """Telegram said 403: drop what waits for the chat, and tell whoever should know."""

        def work(tx: Tx) -> Reply:
            self.outbox.drop_chat(tx.conn, chat_id)
            return self.couples.lost_chat(tx, chat_id)

        done = self.work.run(work, priority=SCHEDULED)
        return done.queued if done is not None else []


def retention(rights: DataRights, conn: Connection, now: datetime) -> None:
    """The daily wake-up (nudges/timers.py): what has been kept long enough goes."""
    rights.purge(conn, now)
    VoiceNotes.purge(conn, now)
    Inbox.forget_old(conn, now)


def open_database(url: str, migrate: bool) -> Database:
    """The database at `url`, migrated, or (web and worker processes) known to be."""
    db = Database.at(url)
    if migrate:
        upgrade(db.engine)
    elif missing := pending_migrations(db.engine):
        db.dispose()
        raise ConfigError(
            f"the database lacks migrations {', '.join(missing)}: run `us-coach db upgrade` "
            "once (a release step) before starting web or worker processes"
        )
    return db


def build_services(settings: Settings, *, migrate: bool = True) -> Services:
    """Validate the flows, migrate the database (or, with `migrate=False`, as web and worker
    processes do, insist it already is), build the services.

    Raises `FlowError` naming the file, state and problem when a flow is invalid, and
    `ConfigError` when the database lacks migrations it may not apply itself.
    """
    renderer = Renderer(settings.prompts_dir)
    flows = load_flows(settings.flows_dir, settings.prompts_dir, practices.names())
    db = open_database(settings.database_url, migrate)
    inbox = Inbox(db)
    outbox = Outbox(db, lease=timedelta(seconds=settings.outbox_lease_seconds))
    couples = CoupleService(
        renderer,
        default_timezone=settings.default_timezone,
        invite_ttl=timedelta(hours=settings.invite_ttl_hours),
    )
    flow_service = FlowService(flows, renderer, couples)
    agreements = AgreementService(renderer, couples)
    flow_service.seeds["agreements_review"] = agreements.review
    flow_service.effects["revisit_taken"] = agreements.revisit_taken
    rights = DataRights(renderer, couples, retention=timedelta(days=settings.retention_days))
    voice_notes = VoiceNotes(db)
    nudges = NudgeService(
        db,
        outbox,
        renderer,
        couples,
        flow_service,
        agreements,
        max_late=timedelta(hours=settings.missed_nudge_max_late_hours),
        retention=partial(retention, rights),
    )
    detector = Detector.load()
    safety = SafetyService(detector, renderer, couples, flow_service)
    Practices(flow_service, renderer).register()
    return Services(
        agreements=agreements,
        rights=rights,
        languages=LanguageSettings(renderer, detector.languages),
        safety=safety,
        settings=settings,
        db=db,
        inbox=inbox,
        outbox=outbox,
        work=UnitOfWork(db, inbox, outbox),
        renderer=renderer,
        couples=couples,
        flows=flow_service,
        nudges=nudges,
        voice=VoiceNoteService(voice_notes, couples, flow_service, safety),
        space=OurSpace(couples, settings.miniapp_url, settings.miniapp_short_name),
    )
