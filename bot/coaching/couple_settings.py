"""The couple's settings: the time zone (a tap for each zone their language suggests, a
shared location, or a typed name), the weekly meeting's day and time, pausing nudges, and
each person's quiet hours.

Part of CoupleService (bot/coaching/couples.py), kept apart because it is a feature of its
own: what it needs from the service is declared below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from functools import partial

from bot.coaching import timezones
from bot.coaching.schedule import next_weekly
from bot.core.events import Event
from bot.core.outbox import Button, Notice, Outgoing, Reply
from bot.core.work import Tx
from bot.storage.partners import Partners
from bot.storage.rows import CoupleRow, PartnerRow
from bot.storage.voices import languages
from bot.words.buttons import TimezoneChoice
from bot.words.parsing import (
    ParseError,
    WeeklySlot,
    parse_quiet_hours,
    parse_timezone,
    parse_weekly_slot,
)
from bot.words.text import Phrase
from bot.words.texts import Renderer


def reschedule(couple: CoupleRow, now: datetime) -> None:
    """Set the couple's next weekly prompt from their day, time and timezone."""
    if couple.meeting_day is None or not couple.meeting_time:
        couple.next_prompt_at = None
        return
    couple.next_prompt_at = next_weekly(
        now, couple.meeting_day, couple.meeting_time, couple.timezone
    )


class CoupleSettings:
    renderer: Renderer

    def say(self, chat_id: int, template: str, /, **context: object) -> Outgoing:
        raise NotImplementedError

    def reply(self, event: Event, template: str, /, **context: object) -> Reply:
        raise NotImplementedError

    def _require_couple(self, tx: Tx, event: Event) -> tuple[CoupleRow, PartnerRow | None] | Reply:
        raise NotImplementedError

    @staticmethod
    def partner_of(
        tx: Tx, person_id: int
    ) -> tuple[PartnerRow | None, CoupleRow | None, PartnerRow | None]:
        raise NotImplementedError

    @staticmethod
    def change_couple(tx: Tx, couple: CoupleRow, change: Callable[[CoupleRow], None]) -> None:
        raise NotImplementedError

    def not_paired(self, tx: Tx, event: Event) -> Reply:
        raise NotImplementedError

    def _tell_partner(
        self,
        event: Event,
        couple: CoupleRow,
        other: PartnerRow | None,
        template: str,
        **context: object,
    ) -> Reply:
        """The partner hears of a change to the couple's settings, privately, unless they read
        it already in their group."""
        if other is None or self._said_in_own_group(event, couple):
            return Reply()
        return Reply().add(self.say(other.id, template, partner=event.person.first_name, **context))

    @staticmethod
    def _said_in_own_group(event: Event, couple: CoupleRow) -> bool:
        """The partner read it in the couple's group: a private notice would say it twice."""
        return event.in_group and couple.group_chat_id == event.chat_id

    def set_timezone(self, tx: Tx, event: Event, argument: str) -> Reply:
        """/timezone: the question with a tap for each suggested zone (and, in private, a key
        to share a location); a typed zone name still works."""
        found = self._require_couple(tx, event)
        if isinstance(found, Reply):
            return found
        couple, other = found
        if not argument.strip():
            asked = self.timezone_question(
                tx, event.chat_id, event.in_group, event.person.language_code, couple.timezone
            )
            return Reply().add(*asked)
        try:
            name = parse_timezone(argument)
        except ParseError:
            return self.reply(event, "timezone_bad", given=argument[:64])
        return self._use_timezone(tx, event, couple, other, name)

    def choose_timezone(self, tx: Tx, event: Event, zone: str) -> Reply:
        """A suggested zone tapped ("other": ask again)."""
        found = self._require_couple(tx, event)
        if isinstance(found, Reply):
            return found
        couple, other = found
        if zone == "other":
            asked = self.timezone_question(
                tx, event.chat_id, event.in_group, event.person.language_code, couple.timezone
            )
            return Reply().add(*asked)
        try:
            name = parse_timezone(zone)
        except ParseError:  # forged
            return Reply(notice=Notice(self.renderer.render("common/button_unknown")))
        return self._use_timezone(tx, event, couple, other, name)

    def located(self, tx: Tx, event: Event) -> Reply:
        """A shared location: its zone, to confirm (a border town can be nearer a city over
        the border). The location itself is used for this and kept nowhere."""
        found = self._require_couple(tx, event)
        if isinstance(found, Reply):
            return found
        assert event.location is not None
        zone = timezones.nearest(*event.location)
        now = tx.now
        buttons = (
            (
                Button(
                    self.renderer.label("common/timezone_yes_button"),
                    data=TimezoneChoice(zone).pack(),
                ),
            ),
            (
                Button(
                    self.renderer.label("common/timezone_other_button"),
                    data=TimezoneChoice("other").pack(),
                ),
            ),
        )
        text = self.renderer.render(
            "common/timezone_found",
            city=Phrase.per_language(timezones.city(zone, "en"), partial(timezones.city, zone)),
            time=timezones.time_in(zone, now, "en"),
        )
        return Reply().add(Outgoing(event.chat_id, text, buttons))

    def timezone_question(
        self,
        tx: Tx,
        chat_id: int,
        in_group: bool,
        language_code: str | None,
        current: str = "UTC",
    ) -> list[Outgoing]:
        """Which time zone? A tap for each zone suggested by the chat's language (and the
        region Telegram gives), each with its time now; in a private chat, also a key to
        share a location."""
        now = tx.now
        lang = languages(tx.conn, [chat_id], (chat_id, language_code))[chat_id]
        zones = timezones.suggested(lang, language_code)
        buttons = tuple(
            (Button(self._zone_words(zone, now), data=TimezoneChoice(zone).pack()),)
            for zone in zones
        )
        unset = current == "UTC"
        asked = [
            Outgoing(
                chat_id,
                self.renderer.render(
                    "common/timezone_ask", current=None if unset else self._zone_words(current, now)
                ),
                buttons,
            )
        ]
        if not in_group:  # Telegram asks for a location only in private chats
            asked.append(
                Outgoing(
                    chat_id,
                    self.renderer.render("common/timezone_location"),
                    ask_location=self.renderer.label("common/timezone_location_button"),
                )
            )
        return asked

    @staticmethod
    def _zone_words(zone: str, now: datetime) -> Phrase:
        """ "Wien · 10:42", in each reader's language."""
        return Phrase.per_language(
            timezones.label(zone, "en", now), lambda lang: timezones.label(zone, lang, now)
        )

    def _use_timezone(
        self, tx: Tx, event: Event, couple: CoupleRow, other: PartnerRow | None, name: str
    ) -> Reply:
        def to_timezone(row: CoupleRow) -> None:
            row.timezone = name
            reschedule(row, tx.now)

        self.change_couple(tx, couple, to_timezone)
        place = self._zone_words(name, tx.now)
        said = self.say(event.chat_id, "timezone_set", timezone=place)
        # The location key, if it was offered, goes away again.
        reply = Reply().add(replace(said, remove_keyboard=not event.in_group))
        return reply.extend(
            self._tell_partner(event, couple, other, "partner_set_timezone", timezone=place)
        )

    def schedule(self, tx: Tx, event: Event, argument: str) -> Reply:
        found = self._require_couple(tx, event)
        if isinstance(found, Reply):
            return found
        couple, other = found
        if not argument.strip():
            slot = (
                WeeklySlot(couple.meeting_day, couple.meeting_time)
                if couple.meeting_day is not None and couple.meeting_time
                else None
            )
            return self.reply(event, "schedule_show", slot=slot, timezone=couple.timezone)
        try:
            slot = parse_weekly_slot(argument)
        except ParseError:
            return self.reply(event, "schedule_bad", given=argument[:64])

        def to_slot(row: CoupleRow) -> None:
            row.meeting_day, row.meeting_time = slot.day, slot.time
            reschedule(row, tx.now)

        self.change_couple(tx, couple, to_slot)
        reply = self.reply(event, "schedule_set", slot=slot, timezone=couple.timezone)
        return reply.extend(
            self._tell_partner(
                event, couple, other, "partner_set_schedule", slot=slot, timezone=couple.timezone
            )
        )

    def set_paused(self, tx: Tx, event: Event, paused: bool) -> Reply:
        found = self._require_couple(tx, event)
        if isinstance(found, Reply):
            return found
        couple, other = found
        was = couple.paused
        # Lifting a quiet pause (after a safety answer), if there was one.
        if not paused and Partners.unhush(tx.conn, event.person.id) and not was:
            # Only this person's quiet pause (after a safety answer) was on: lift it privately.
            return Reply().add(self.say(event.person.id, "safety_resumed"))

        def to_paused(row: CoupleRow) -> None:
            row.paused = paused
            if not paused:  # slots that passed while paused are not owed
                reschedule(row, tx.now)

        self.change_couple(tx, couple, to_paused)
        word = "paused" if paused else "resumed"
        if was == paused:
            return self.reply(event, f"already_{word}")
        reply = self.reply(event, word)
        if other is not None:
            reply.add(self.say(other.id, f"partner_{word}", partner=event.person.first_name))
        return reply

    def set_quiet(self, tx: Tx, event: Event, argument: str) -> Reply:
        """Show or set the person's quiet hours (no private nudges inside them)."""
        me, couple, _other = self.partner_of(tx, event.person.id)
        if me is None or couple is None:
            return self.not_paired(tx, event)
        if not argument.strip():
            return self.reply(event, "quiet_show", start=me.quiet_start, end=me.quiet_end)
        try:
            start, end = parse_quiet_hours(argument)
        except ParseError:
            return self.reply(event, "quiet_bad", given=argument[:64])
        Partners.set_quiet_hours(tx.conn, event.person.id, start, end)
        return self.reply(event, "quiet_set", start=start, end=end)

    # ----- the couple's group --------------------------------------------------------------
