"""What the bot does when a private message shows signs of danger: stop, answer calmly and
privately with where to get help, and let the person choose what happens next.

The message that raised the sign never reaches a flow, so it is neither stored nor
relayed; nothing of this is told to the partner or posted to the group. Each kind of danger
gets its own answer (templates `common/safety_<kind>.j2`); when the detector is unsure it
asks "Are you safe right now?" with the help already visible (`common/safety_ask.j2`). Every
answer opens with a neutral line, because a phone's lock screen shows the first one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Connection, select

from bot.coaching.couples import CoupleService
from bot.coaching.flows import FlowService
from bot.core.events import Event, Person
from bot.core.outbox import Button, Notice, Outgoing, Reply
from bot.core.work import Tx
from bot.safety import country
from bot.safety.detect import Detector, Finding
from bot.safety.helplines import entries, helplines_for
from bot.storage.partners import Partners
from bot.storage.rows import RunRow
from bot.storage.runs import CoupleView
from bot.storage.tables import COUPLES, PARTNERS
from bot.storage.voices import person_language
from bot.words.buttons import SafetyChoice
from bot.words.text import Phrase
from bot.words.texts import Renderer

log = logging.getLogger(__name__)

KINDS = ("self_harm", "violence", "coercion", "fear")
# After these, couple exercises may not be safe: continuing is offered, not the default.
PARTNER_DANGER = frozenset({"violence", "coercion", "fear"})
CHECK_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class Screened:
    """The detector's reading of one message (None: everyday talk)."""

    finding: Finding | None


class SafetyService:
    def __init__(
        self, detector: Detector, renderer: Renderer, couples: CoupleService, flows: FlowService
    ) -> None:
        self.detector = detector
        self.renderer = renderer
        self.couples = couples
        self.flows = flows
        # The check-in's "With them I feel safe to say what I think: not always".
        flows.effects["safety_fear_quietly"] = self.fear_quietly

    # ----- answers -------------------------------------------------------------------------

    def _button(self, template: str, action: str) -> tuple[Button, ...]:
        return (
            Button(self.renderer.label(f"common/{template}"), data=SafetyChoice(action).pack()),
        )

    @staticmethod
    def country_of(conn: Connection, person: int, language_code: str | None) -> str | None:
        """Their choice, else the couple's timezone, else their Telegram language's region."""
        row = conn.execute(
            select(PARTNERS.c.country, COUPLES.c.timezone)
            .select_from(PARTNERS.outerjoin(COUPLES, COUPLES.c.id == PARTNERS.c.couple_id))
            .where(PARTNERS.c.id == person)
        ).first()
        chosen, timezone = (row.country, row.timezone) if row is not None else (None, None)
        return country.resolve(chosen, timezone, language_code)

    def _help(
        self,
        conn: Connection,
        event: Event,
        template: str,
        buttons: list[tuple[Button, ...]],
        found: str | None = None,
        paused: bool = False,
    ) -> Outgoing:
        found = found or self.country_of(conn, event.person.id, event.person.language_code)
        lines = helplines_for(found)
        where = (
            Phrase.per_language(
                country.name(lines.country, "en"), partial(country.name, lines.country)
            )
            if lines.country
            else ""
        )
        text = self.renderer.render(
            f"common/{template}",
            emergency=lines.emergency or self.renderer.render("common/safety_local_emergency"),
            lines=lines.lines,
            phone=self.renderer.render("common/safety_phone"),
            country=where,
            paused=paused,
        )
        if lines.country is None:  # never another country's numbers: offer to choose theirs
            buttons = [*buttons, self._button("safety_my_country", "countries")]
        # Always the private chat, even when the words were typed in the group.
        return Outgoing(chat_id=event.person.id, text=text, buttons=tuple(buttons))

    def _which_country(self, tx: Tx, event: Event) -> Outgoing:
        person = event.person
        lang = person_language(tx.conn, person.id, (person.id, person.language_code))
        likely = [c for c in country.LIKELY.get(lang, country.LIKELY["en"]) if c in entries()]
        buttons = [
            (
                Button(
                    Phrase.per_language(country.name(code, "en"), partial(country.name, code)),
                    data=SafetyChoice(f"country.{code}").pack(),
                ),
            )
            for code in likely
        ]
        return Outgoing(
            event.person.id, self.renderer.render("common/safety_which_country"), tuple(buttons)
        )

    def _set_country(self, tx: Tx, event: Event, code: str) -> Reply:
        if code not in entries():
            return Reply(notice=Notice(self.renderer.render("common/button_unknown")))
        self.couples.register(tx, event.person)  # someone who only ever sent /safe has no row
        Partners.set_country(tx.conn, event.person.id, code)
        return self.safe(tx, event)

    def answer(self, tx: Tx, event: Event, kind: str) -> Reply:
        """The answer for one kind of danger, its buttons, and the next day's check."""
        if kind in PARTNER_DANGER:
            buttons = [
                self._button("safety_pause", "pause"),
                self._button("safety_continue_anyway", "continue"),
            ]
        else:
            buttons = [
                self._button("safety_continue", "continue"),
                self._button("safety_pause", "pause"),
            ]
        self._remember(tx.conn, event.person.id, tx.now)
        return Reply().add(self._help(tx.conn, event, f"safety_{kind}", buttons))

    def read(self, tx: Tx, event: Event) -> Screened:
        """What `event.text` signals, read before the unit of work opens (`tx` reads only):
        the classifiers take milliseconds, which must not be spent holding the database's
        write lock while every couple waits."""
        if not event.text:
            return Screened(None)
        person = event.person
        lang = person_language(tx.conn, person.id, (person.id, person.language_code))
        return Screened(self.detector.screen(event.text, lang))

    def screen(self, tx: Tx, event: Event, screened: Screened) -> Reply | None:
        """A reply with help if `event.text` showed a sign; None to carry on as usual."""
        finding = screened.finding
        if finding is None:
            return None
        log.info(
            "safety signal (%s, %s, by %s) from %s; coaching paused",
            finding.kind,
            "sure" if finding.sure else "asking",
            finding.by,
            event.person.id,
        )
        self.flows.hold_reminders(tx, event.person.id)  # no nudge while they decide
        if finding.sure:
            return self.answer(tx, event, finding.kind)
        buttons = [
            self._button("safety_need_help", f"help.{finding.kind}"),
            self._button("safety_am_safe", "safe"),
        ]
        return Reply().add(self._help(tx.conn, event, "safety_ask", buttons))

    def safe(self, tx: Tx, event: Event) -> Reply:
        """/safe: the help any time, for the country it names, which they can change."""
        found = self.country_of(tx.conn, event.person.id, event.person.language_code)
        change = [self._button("safety_change_country", "countries")] if found else []
        return Reply().add(self._help(tx.conn, event, "safe", change, found))

    def fear_quietly(
        self,
        conn: Connection,
        row: RunRow,
        couple: CoupleView,
        params: dict[str, Any],
        now: datetime,
    ) -> list[Outgoing]:
        """The fear answer, privately, as if they had written it, and their private nudges
        paused quietly (their partner's look exactly as before)."""
        person = params.get("_starter")
        member = couple.members.get(person) if person is not None else None
        if person is None or member is None:
            return []
        code = conn.execute(
            select(PARTNERS.c.language_code).where(PARTNERS.c.id == person)
        ).scalar()
        who = Person(person, member.name, code)
        event = Event(person=who, chat_id=person, in_group=False, at=now)
        log.info("check-in: %s does not always feel safe to speak up; fear answer given", person)
        # No nudge towards joint conflict work (the weekly meeting, Repair): their private
        # nudges pause quietly, as "Pause all nudges quietly" does; /resume lifts it.
        Partners.hush(conn, person)
        self._remember(conn, person, now)
        # Already paused, and said so in the answer: no "pause" or "continue" to press.
        return [self._help(conn, event, "safety_fear", [], paused=True)]

    # ----- buttons -------------------------------------------------------------------------

    def button(self, tx: Tx, event: Event, data: SafetyChoice) -> Reply:
        action = data.action
        if action == "pause":
            return self._pause_quietly(tx, event)
        if action in ("continue", "safe"):
            template = "safety_continued" if action == "continue" else "safety_glad"
            # A toast, not a message: a false alarm costs the alarm alone, and the question
            # they were on comes back.
            reply = Reply(notice=Notice(self.renderer.render(f"common/{template}")))
            reply.messages.extend(self.flows.prompt_again_for(tx, event.person.id))
            return reply
        if action.startswith("help.") and action[5:] in KINDS:
            return self.answer(tx, event, action[5:])
        if action == "numbers":
            return self.safe(tx, event)
        if action == "countries":
            return Reply().add(self._which_country(tx, event))
        if action.startswith("country."):
            return self._set_country(tx, event, action.removeprefix("country."))
        if action == "fine":
            return Reply(notice=Notice(self.renderer.render("common/safety_check_fine")))
        return Reply(notice=Notice(self.renderer.render("common/button_unknown")))

    def _pause_quietly(self, tx: Tx, event: Event) -> Reply:
        """Stop this person's private nudges and reminders. Unlike /pause, nothing about the
        couple changes: the partner's nudges, the group's weekly prompt, /pause and /export
        all look as before."""
        Partners.hush(tx.conn, event.person.id)
        text = self.renderer.render("common/safety_paused")
        return Reply(notice=Notice(self.renderer.label("common/safety_paused_notice"))).add(
            Outgoing(event.person.id, text)
        )

    # ----- state ---------------------------------------------------------------------------

    @staticmethod
    def _remember(conn: Connection, person: int, now: datetime) -> None:
        """Note the answer and plan one gentle check for the next day (not one per message)."""
        Partners.note_safety_answer(conn, person, now, now + CHECK_AFTER)
