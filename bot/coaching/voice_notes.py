"""Voice notes: kept in the queue when they arrive, answered when heard.

A transcript is screened for danger like typed words, then shown to the speaker alone ("I
heard: ...") with "Use this" and "Type it instead", because speech models sometimes invent
words: nothing reaches a flow, the partner or the group before the speaker chose. Outside a
flow the bot says what it heard and which practice might fit, and keeps nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy import select

from bot.coaching.couples import CoupleService
from bot.coaching.flows import MAX_ANSWER_CHARS, FlowService
from bot.core.events import Event, Person
from bot.core.outbox import Button, Notice, Outgoing, Reply
from bot.core.work import Tx
from bot.safety.respond import SafetyService, Screened
from bot.storage.db import utcnow
from bot.storage.tables import PARTNERS
from bot.storage.voice_notes import HEARD, WAITING, Note, VoiceNotes
from bot.words.buttons import VoiceChoice

# Telegram lets a bot fetch files up to 20 MB; five minutes is plenty for one turn.
MAX_SECONDS = 5 * 60
MAX_BYTES = 20 * 1024 * 1024
# What "I heard" shows of a long transcript (a message holds 4,096 characters).
SHOWN_CHARS = 3000


@dataclass(frozen=True)
class Clip:
    """A voice note, round video or audio file as Telegram described it."""

    file_id: str
    seconds: int
    size: int | None
    message_id: int = 0


class VoiceNoteService:
    def __init__(
        self,
        notes: VoiceNotes,
        couples: CoupleService,
        flows: FlowService,
        safety: SafetyService,
    ) -> None:
        self.notes = notes
        self.couples = couples
        self.flows = flows
        self.safety = safety

    def received(self, tx: Tx, event: Event, clip: Clip) -> Reply:
        """Queue a note to be heard (in the unit of work that claims its update)."""
        if clip.seconds > MAX_SECONDS or (clip.size or 0) > MAX_BYTES:
            return Reply().add(
                replace(
                    self.couples.say(event.chat_id, "voice_too_long", minutes=MAX_SECONDS // 60),
                    reply_to_message_id=clip.message_id or None,
                )
            )
        note = Note(
            id=0,
            update_id=event.update_id or 0,
            person_id=event.person.id,
            first_name=event.person.first_name[:64],
            language_code=event.person.language_code,
            chat_id=event.chat_id,
            message_id=clip.message_id,
            couple_id=None,
            in_group=event.in_group,
            file_id=clip.file_id,
            seconds=clip.seconds,
            status=WAITING,
            attempts=0,
            transcript=None,
        )
        couple = tx.conn.execute(
            select(PARTNERS.c.couple_id).where(PARTNERS.c.id == event.person.id)
        ).scalar()
        self.notes.add(tx.conn, replace(note, couple_id=couple), event.at)
        return Reply()  # "typing..." while it is heard is the answer for now

    @staticmethod
    def event_of(note: Note, text: str | None = None) -> Event:
        """The note as if its words had been typed where it was sent."""
        return Event(
            person=Person(note.person_id, note.first_name, note.language_code),
            chat_id=note.chat_id,
            in_group=note.in_group,
            at=utcnow(),
            text=text,
            replied_to_bot=True,  # in a group only replies to the bot reach us
        )

    def heard(self, tx: Tx, note: Note, transcript: str, screened: Screened) -> Reply:
        """The note's words: help if they show danger, else the speaker's choice (or, with no
        flow waiting, what was heard and a pointer). Nothing when another process answered."""
        event = self.event_of(note, transcript)
        words = " ".join(transcript.split())
        keep = (
            0 < len(words) <= MAX_ANSWER_CHARS
            and screened.finding is None
            and self.flows.waits_for_text(tx, event)
        )
        if not self.notes.hear(tx.conn, note.id, words if keep else None):
            return Reply()
        help_first = self.safety.screen(tx, event, screened)
        if help_first is not None:
            return help_first  # to the speaker alone, in private; the words are gone
        if not words:
            return self._say(note, "voice_empty")
        if len(words) > MAX_ANSWER_CHARS:
            return self._say(note, "voice_words_too_long", limit=MAX_ANSWER_CHARS)
        shown = words if len(words) <= SHOWN_CHARS else words[:SHOWN_CHARS] + "…"
        if not keep:
            return self._say(note, "voice_idle", heard=shown)
        buttons = tuple(
            (Button(self.couples.renderer.label(f"common/voice_{action}_button"), data=data),)
            for action, data in (
                ("use", VoiceChoice(note.id, "use").pack()),
                ("type", VoiceChoice(note.id, "type").pack()),
            )
        )
        return Reply().add(replace(self._said(note, "voice_heard", heard=shown), buttons=buttons))

    def failed(self, tx: Tx, note: Note, why: str) -> Reply:
        """The note could not be heard (`why`: unreadable, unreachable)."""
        if not self.notes.hear(tx.conn, note.id, None):
            return Reply()
        return self._say(note, f"voice_{why}", minutes=MAX_SECONDS // 60)

    def choose(
        self, tx: Tx, event: Event, data: VoiceChoice, text: Callable[[Tx, Event], Reply]
    ) -> Reply:
        """ "Use this" gives the words to `text` as if typed; "Type it instead" drops them."""
        note = self.notes.get(tx.conn, data.note_id)
        if note is None or note.status != HEARD or note.transcript is None:
            return Reply(notice=Notice(self.couples.renderer.render("common/voice_gone")))
        if note.person_id != event.person.id:
            return Reply(notice=Notice(self.couples.renderer.render("common/voice_not_yours")))
        if not self.notes.choose(tx.conn, note.id):
            return Reply(notice=Notice(self.couples.renderer.render("common/voice_gone")))
        if data.action == "use":
            return text(tx, replace(self.event_of(note, note.transcript), at=event.at))
        return self._say(note, "voice_type_instead")

    def _said(self, note: Note, template: str, **context: object) -> Outgoing:
        """An answer to the note, as a reply to it: in the group, plainly the speaker's."""
        said = self.couples.say(note.chat_id, template, **context)
        return replace(said, reply_to_message_id=note.message_id or None)

    def _say(self, note: Note, template: str, **context: object) -> Reply:
        return Reply().add(self._said(note, template, **context))
