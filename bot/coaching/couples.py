"""Pairing, the couple's shared group and their settings: everything before coaching starts.

Telegram-free: methods take an `Event` and return a `Reply` of messages to send.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import bindparam
from sqlalchemy import select as core_select
from sqlmodel import col, select

from bot.coaching.couple_settings import CoupleSettings
from bot.coaching.wake_ups import wake_couple
from bot.core.events import Event, Person
from bot.core.outbox import Button, Outgoing, Reply
from bot.storage.couples import Couples
from bot.storage.db import Database, utcnow
from bot.storage.invites import Invites
from bot.storage.models import Couple, Partner
from bot.storage.partners import Partners
from bot.storage.tables import COUPLES, PARTNERS
from bot.words.buttons import FirstCheckIn
from bot.words.texts import Renderer

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


_PARTNER = core_select(PARTNERS).where(PARTNERS.c.id == bindparam("person"))
_COUPLE = core_select(COUPLES).where(COUPLES.c.id == bindparam("couple"))
_OTHER = core_select(PARTNERS).where(
    PARTNERS.c.couple_id == bindparam("couple"), PARTNERS.c.id != bindparam("person")
)


class _Refused(Exception):
    """An invite that cannot be taken: what was written for it is rolled back."""


class CoupleService(CoupleSettings):
    def __init__(
        self,
        db: Database,
        renderer: Renderer,
        *,
        default_timezone: str = "UTC",
        invite_ttl: timedelta = timedelta(hours=72),
        clock: Clock = utcnow,
    ) -> None:
        self.db = db
        self.renderer = renderer
        self.default_timezone = default_timezone
        self.invite_ttl = invite_ttl
        self.clock = clock
        self.bot_username = "UsCoachBot"  # replaced by getMe's answer at start-up

    # ----- helpers -------------------------------------------------------------------------

    def say(self, chat_id: int, template: str, /, **context: object) -> Outgoing:
        return Outgoing(chat_id=chat_id, text=self.renderer.render(f"common/{template}", **context))

    def reply(self, event: Event, template: str, /, **context: object) -> Reply:
        return Reply().add(self.say(event.chat_id, template, **context))

    def register(self, person: Person) -> bool:
        """Create or refresh the person's row; writing to us also means they can be reached.
        True when the person is new."""
        with self.db.begin() as conn:
            return Partners.register(
                conn, person.id, person.first_name, person.language_code, self.clock()
            )

    def partner_of(self, person_id: int) -> tuple[Partner | None, Couple | None, Partner | None]:
        """Return (me, my couple, my partner), any of them None (on Core: the hot path)."""
        with self.db.connect() as conn:
            mine = conn.execute(_PARTNER, {"person": person_id}).mappings().first()
            if mine is None:
                return None, None, None
            me = Partner(**mine)
            if me.couple_id is None:
                return me, None, None
            ours = conn.execute(_COUPLE, {"couple": me.couple_id}).mappings().first()
            theirs = (
                conn.execute(_OTHER, {"couple": me.couple_id, "person": person_id})
                .mappings()
                .first()
            )
            return (
                me,
                Couple(**ours) if ours else None,
                Partner(**theirs) if theirs else None,
            )

    def couple_members(self, couple_id: int) -> list[Partner]:
        with self.db.session() as session:
            return list(
                session.exec(
                    select(Partner)
                    .where(Partner.couple_id == couple_id)
                    .order_by(col(Partner.seat))
                )
            )

    def couple_by_group(self, chat_id: int) -> Couple | None:
        with self.db.session() as session:
            return session.exec(select(Couple).where(Couple.group_chat_id == chat_id)).first()

    def change_couple(self, couple: Couple, change: Callable[[Couple], None]) -> None:
        """Apply `change` to the couple's stored row and save it."""
        assert couple.id is not None
        with self.db.begin() as conn:
            Couples.change(conn, couple.id, change)
            wake_couple(conn, couple.id, self.clock())  # a slot, zone or pause may have moved

    def lost_chat(self, chat_id: int) -> Reply:
        """Telegram said 403 for this chat: a person blocked us, or we left a group."""
        return self.mark_unreachable(chat_id) if chat_id > 0 else self.bot_removed(chat_id)

    def mark_unreachable(self, person_id: int) -> Reply:
        """The person blocked us: stop writing to them and tell their partner once."""
        with self.db.begin() as conn:
            changed = Partners.mark_unreachable(conn, person_id)
        if not changed:
            return Reply()
        me, _couple, other = self.partner_of(person_id)
        log.info("partner %s is unreachable (blocked the bot)", person_id)
        if me is None or other is None or other.unreachable:
            return Reply()
        return Reply().add(self.say(other.id, "partner_unreachable", partner=me.first_name))

    # ----- private chat --------------------------------------------------------------------

    def start(self, event: Event, payload: str) -> Reply:
        if payload:
            return self.join(event, payload)
        _me, couple, other = self.partner_of(event.person.id)
        return self.reply(
            event,
            "welcome",
            name=event.person.first_name,
            partner=other.first_name if couple and other else None,
        )

    def invite(self, event: Event) -> Reply:
        _me, couple, other = self.partner_of(event.person.id)
        if couple is not None:
            return self.reply(event, "already_paired", partner=other.first_name if other else "")
        now = self.clock()
        code = secrets.token_urlsafe(16)  # 22 chars of A-Z a-z 0-9 _ -, fine for a deep link
        with self.db.begin() as conn:
            Invites.issue(conn, code, event.person.id, now, now + self.invite_ttl)
        link = f"https://t.me/{self.bot_username}?start={code}"
        hours = int(self.invite_ttl.total_seconds() // 3600)
        text = self.renderer.render("common/invite", link=link, code=code, hours=hours)
        button = Button(label=self.renderer.label("common/invite_button"), url=link)
        return Reply().add(Outgoing(chat_id=event.chat_id, text=text, buttons=((button,),)))

    def join(self, event: Event, code: str) -> Reply:
        """Accept an invite. Every refusal is worded so that it reveals nothing about the couple."""
        joiner = event.person.id
        code = code.strip()
        now = self.clock()
        _me, couple, _other = self.partner_of(joiner)
        if couple is not None:
            return self.reply(event, "join_already_paired")
        code = code[:64]
        with self.db.connect() as conn:
            invite = Invites.find(conn, code) if code else None
        if invite is not None and invite["inviter_id"] == joiner:
            return self.reply(event, "join_own_invite")
        try:
            with self.db.unit() as conn:  # claimed, couple made and both seated, or none of it
                inviter_id = Invites.claim(conn, code, joiner, now)
                if inviter_id is None:
                    raise _Refused
                couple_id = Couples.create(conn, self.default_timezone, now)
                wake_couple(conn, couple_id, now)
                seated = [
                    Partners.seat(conn, person_id, couple_id, seat)
                    for seat, person_id in ((1, inviter_id), (2, joiner))
                ]
                if not all(seated):
                    raise _Refused  # the inviter paired with someone else meanwhile
                inviter, joined = (
                    Partner(**conn.execute(_PARTNER, {"person": p}).mappings().one())
                    for p in (inviter_id, joiner)
                )
        except _Refused:
            return self.reply(event, "join_refused")
        log.info("couple %s formed", couple_id)
        reply = Reply()
        for person, partner in ((joined, inviter), (inviter, joined)):
            # Paired, and at once the first question: the time zone, with a tap.
            asked = self.timezone_question(person.id, False, person.language_code)
            reply.add(
                replace(
                    self.say(person.id, "paired", partner=partner.first_name),
                    buttons=asked[0].buttons,
                ),
                *asked[1:],
            )
        for person, partner in ((joined, inviter), (inviter, joined)):
            reply.add(*self.onboarding(person.id, partner.first_name))
        return reply

    def onboarding(self, person: int, partner: str) -> list[Outgoing]:
        """The first of three short cards, at pairing: the spectrum, and a first check-in.
        The needs come after that check-in (bot/coaching/practices.py), the practices before
        the first Wednesday (bot/coaching/nudges/onboarding.py): one idea at a time."""
        card = self.renderer.render("common/onboarding_spectrum", partner=partner)
        button = Button(
            self.renderer.label("common/first_checkin_button"), data=FirstCheckIn().pack()
        )
        return [Outgoing(person, card, ((button,),))]

    def _require_couple(self, event: Event) -> tuple[Couple, Partner | None] | Reply:
        _me, couple, other = self.partner_of(event.person.id)
        if couple is None:
            return self.not_paired(event)
        return couple, other

    def not_paired(self, event: Event) -> Reply:
        """Nothing shared to do. Someone whose partner left quietly (after a safety answer)
        learns here, once and in neutral words, that the couple has ended."""
        with self.db.begin() as conn:
            ended = Partners.clear_couple_ended(conn, event.person.id)
        if ended:  # privately, even when asked in a group
            return Reply().add(self.say(event.person.id, "couple_ended"))
        return self.reply(event, "not_paired")

    def bot_added(self, chat_id: int) -> Reply:
        return Reply().add(self.say(chat_id, "group_hello", bot=self.bot_username))

    def link(self, event: Event) -> Reply:
        _me, couple, other = self.partner_of(event.person.id)
        if couple is None or couple.id is None:
            return self.reply(event, "link_refused", bot=self.bot_username)
        owner = self.couple_by_group(event.chat_id)
        if owner is not None and owner.id != couple.id:
            return self.reply(event, "link_refused", bot=self.bot_username)
        if couple.group_chat_id == event.chat_id:
            return self.reply(event, "link_already")
        previous = couple.group_chat_id
        self.change_couple(couple, lambda row: setattr(row, "group_chat_id", event.chat_id))
        names = [event.person.first_name, other.first_name if other else ""]
        reply = self.reply(event, "linked", names=names, moved=previous is not None)
        if previous is not None:
            reply.add(self.say(previous, "link_moved_away"))
        return reply

    def bot_removed(self, chat_id: int) -> Reply:
        """The bot left or was kicked from a group: unlink it and tell the couple privately."""
        couple = self.couple_by_group(chat_id)
        if couple is None or couple.id is None:
            return Reply()
        self.change_couple(couple, lambda row: setattr(row, "group_chat_id", None))
        log.info("couple %s unlinked from its group", couple.id)
        return Reply().add(*(self.say(p.id, "unlinked") for p in self.couple_members(couple.id)))

    def migrated(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group became a supergroup: follow it to its new id."""
        with self.db.begin() as conn:
            Couples.follow_group(conn, old_chat_id, new_chat_id)
