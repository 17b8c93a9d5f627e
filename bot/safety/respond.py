"""What the bot does when a private message shows signs of danger: stop, answer calmly and
privately with where to get help, and let the person choose what happens next.

The message that raised the sign never reaches a flow, so it is neither stored nor
relayed; nothing of this is told to the partner or posted to the group.
"""

from __future__ import annotations

import logging

from bot.buttons import SafetyChoice
from bot.coaching import FlowService
from bot.couples import CoupleService
from bot.events import Event
from bot.outbox import Button, Notice, Outgoing, Reply
from bot.safety.detect import Detector, helplines_for
from bot.texts import Renderer

log = logging.getLogger(__name__)


class SafetyService:
    def __init__(
        self, detector: Detector, renderer: Renderer, couples: CoupleService, flows: FlowService
    ) -> None:
        self.detector = detector
        self.renderer = renderer
        self.couples = couples
        self.flows = flows

    def _help(self, event: Event, template: str, *, offer_continue: bool) -> Outgoing:
        lines = helplines_for(event.person.language_code)
        text = self.renderer.render(
            f"common/{template}", emergency=lines.emergency, lines=lines.lines
        )
        buttons: list[tuple[Button, ...]] = []
        if offer_continue:
            buttons.append(
                (
                    Button(
                        self.renderer.label("common/safety_continue"),
                        data=SafetyChoice("continue").pack(),
                    ),
                )
            )
        buttons.append(
            (Button(self.renderer.label("common/safety_pause"), data=SafetyChoice("pause").pack()),)
        )
        # Always the private chat, even when the words were typed in the group.
        return Outgoing(chat_id=event.person.id, text=text, buttons=tuple(buttons))

    def screen(self, event: Event) -> Reply | None:
        """A reply with help if `event.text` shows a sign; None to carry on as usual."""
        if not event.text:
            return None
        kind = self.detector.check(event.text)
        if kind is None:
            return None
        log.info("safety signal (%s) from %s; coaching paused", kind, event.person.id)
        self.flows.hold_reminders(event.person.id)  # no nudge while they decide
        return Reply().add(self._help(event, "safety_help", offer_continue=True))

    def safe(self, event: Event) -> Reply:
        """/safe: the same help, any time."""
        return Reply().add(self._help(event, "safe", offer_continue=False))

    def button(self, event: Event, data: SafetyChoice) -> Reply:
        action = data.action
        if action == "pause":
            return self._pause_quietly(event)
        if action == "continue":
            reply = Reply(notice=Notice(self.renderer.render("common/safety_continued")))
            reply.messages.extend(self.flows.prompt_again_for(event.person.id))
            return reply
        return Reply(notice=Notice(self.renderer.render("common/button_unknown")))

    def _pause_quietly(self, event: Event) -> Reply:
        """Pause the couple's nudges without telling the partner (unlike /pause)."""
        _me, couple, _other = self.couples.partner_of(event.person.id)
        if couple is not None:
            self.couples.change_couple(couple, lambda row: setattr(row, "paused", True))
        text = self.renderer.render("common/safety_paused", paired=couple is not None)
        return Reply(notice=Notice(text)).add(Outgoing(event.person.id, text))
