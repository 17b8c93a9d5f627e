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
from datetime import timedelta

from sqlalchemy import update

from bot.buttons import SafetyChoice
from bot.coaching import FlowService
from bot.couples import CoupleService
from bot.events import Event
from bot.outbox import Button, Notice, Outgoing, Reply
from bot.safety.detect import Detector, Finding
from bot.safety.helplines import helplines_for
from bot.storage.tables import PARTNERS
from bot.storage.voices import person_language
from bot.texts import Renderer

log = logging.getLogger(__name__)

KINDS = ("self_harm", "violence", "coercion", "fear")
# After these, couple exercises may not be safe: continuing is offered, not the default.
PARTNER_DANGER = frozenset({"violence", "coercion", "fear"})
CHECK_AFTER = timedelta(days=1)


class SafetyService:
    def __init__(
        self, detector: Detector, renderer: Renderer, couples: CoupleService, flows: FlowService
    ) -> None:
        self.detector = detector
        self.renderer = renderer
        self.couples = couples
        self.flows = flows

    # ----- answers -------------------------------------------------------------------------

    def _button(self, template: str, action: str) -> tuple[Button, ...]:
        return (
            Button(self.renderer.label(f"common/{template}"), data=SafetyChoice(action).pack()),
        )

    def _help(self, event: Event, template: str, buttons: list[tuple[Button, ...]]) -> Outgoing:
        lines = helplines_for(event.person.language_code)
        text = self.renderer.render(
            f"common/{template}",
            emergency=lines.emergency,
            lines=lines.lines,
            phone=self.renderer.render("common/safety_phone"),
        )
        # Always the private chat, even when the words were typed in the group.
        return Outgoing(chat_id=event.person.id, text=text, buttons=tuple(buttons))

    def answer(self, event: Event, kind: str) -> Reply:
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
        self._remember(event.person.id)
        return Reply().add(self._help(event, f"safety_{kind}", buttons))

    def screen(self, event: Event) -> Reply | None:
        """A reply with help if `event.text` shows a sign; None to carry on as usual."""
        if not event.text:
            return None
        person = event.person
        with self.couples.db.connect() as conn:
            lang = person_language(conn, person.id, (person.id, person.language_code))
        finding: Finding | None = self.detector.screen(event.text, lang)
        if finding is None:
            return None
        log.info(
            "safety signal (%s, %s, by %s) from %s; coaching paused",
            finding.kind,
            "sure" if finding.sure else "asking",
            finding.by,
            event.person.id,
        )
        self.flows.hold_reminders(event.person.id)  # no nudge while they decide
        if finding.sure:
            return self.answer(event, finding.kind)
        buttons = [
            self._button("safety_need_help", f"help.{finding.kind}"),
            self._button("safety_am_safe", "safe"),
        ]
        return Reply().add(self._help(event, "safety_ask", buttons))

    def safe(self, event: Event) -> Reply:
        """/safe: the help, any time."""
        return Reply().add(self._help(event, "safe", []))

    # ----- buttons -------------------------------------------------------------------------

    def button(self, event: Event, data: SafetyChoice) -> Reply:
        action = data.action
        if action == "pause":
            return self._pause_quietly(event)
        if action in ("continue", "safe"):
            template = "safety_continued" if action == "continue" else "safety_glad"
            # A toast, not a message: a false alarm costs the alarm alone, and the question
            # they were on comes back.
            reply = Reply(notice=Notice(self.renderer.render(f"common/{template}")))
            reply.messages.extend(self.flows.prompt_again_for(event.person.id))
            return reply
        if action.startswith("help.") and action[5:] in KINDS:
            return self.answer(event, action[5:])
        if action == "numbers":
            return self.safe(event)
        if action == "fine":
            return Reply(notice=Notice(self.renderer.render("common/safety_check_fine")))
        return Reply(notice=Notice(self.renderer.render("common/button_unknown")))

    def _pause_quietly(self, event: Event) -> Reply:
        """Stop this person's private nudges and reminders. Unlike /pause, nothing about the
        couple changes: the partner's nudges, the group's weekly prompt, /pause and /export
        all look as before."""
        with self.couples.db.begin() as conn:
            conn.execute(
                update(PARTNERS).where(PARTNERS.c.id == event.person.id).values(hushed=True)
            )
        text = self.renderer.render("common/safety_paused")
        return Reply(notice=Notice(self.renderer.label("common/safety_paused_notice"))).add(
            Outgoing(event.person.id, text)
        )

    # ----- state ---------------------------------------------------------------------------

    def _remember(self, person: int) -> None:
        """Note the answer and plan one gentle check for the next day (not one per message)."""
        now = self.couples.clock()
        with self.couples.db.begin() as conn:
            conn.execute(update(PARTNERS).where(PARTNERS.c.id == person).values(safety_at=now))
            conn.execute(
                update(PARTNERS)
                .where(PARTNERS.c.id == person, PARTNERS.c.safety_check_at.is_(None))
                .values(safety_check_at=now + CHECK_AFTER)
            )
