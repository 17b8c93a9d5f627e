"""Pairing, the couple's shared group and their settings: everything before coaching starts.

Telegram-free: methods take the unit of work (`tx`) and an `Event`, and return a `Reply` of
messages to send.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import bindparam
from sqlalchemy import select as core_select

from bot.coaching.couple_settings import CoupleSettings
from bot.coaching.wake_ups import wake_couple
from bot.core.events import Event, Person
from bot.core.outbox import Button, Outgoing, Reply
from bot.core.work import Tx
from bot.storage.couples import Couples
from bot.storage.invites import Invites
from bot.storage.partners import Partners
from bot.storage.rows import CoupleRow, PartnerRow
from bot.storage.tables import COUPLES, PARTNERS
from bot.words.buttons import FirstCheckIn
from bot.words.texts import Renderer

log = logging.getLogger(__name__)

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
        renderer: Renderer,
        *,
        default_timezone: str = "UTC",
        invite_ttl: timedelta = timedelta(hours=72),
    ) -> None:
        self.renderer = renderer
        self.default_timezone = default_timezone
        self.invite_ttl = invite_ttl
        self.bot_username = "UsCoachBot"  # replaced by getMe's answer at start-up

    # ----- helpers -------------------------------------------------------------------------

    def say(self, chat_id: int, template: str, /, **context: object) -> Outgoing:
        return Outgoing(chat_id=chat_id, text=self.renderer.render(f"common/{template}", **context))

    def reply(self, event: Event, template: str, /, **context: object) -> Reply:
        return Reply().add(self.say(event.chat_id, template, **context))

    def register(self, tx: Tx, person: Person) -> bool:
        """Create or refresh the person's row; writing to us also means they can be reached.
        True when the person is new."""
        return Partners.register(
            tx.conn, person.id, person.first_name, person.language_code, tx.now
        )

    @staticmethod
    def partner_of(
        tx: Tx, person_id: int
    ) -> tuple[PartnerRow | None, CoupleRow | None, PartnerRow | None]:
        """Return (me, my couple, my partner), any of them None (on Core: the hot path)."""
        conn = tx.conn
        mine = conn.execute(_PARTNER, {"person": person_id}).mappings().first()
        if mine is None:
            return None, None, None
        me = PartnerRow(**mine)
        if me.couple_id is None:
            return me, None, None
        ours = conn.execute(_COUPLE, {"couple": me.couple_id}).mappings().first()
        theirs = (
            conn.execute(_OTHER, {"couple": me.couple_id, "person": person_id}).mappings().first()
        )
        return (
            me,
            CoupleRow(**ours) if ours else None,
            PartnerRow(**theirs) if theirs else None,
        )

    @staticmethod
    def couple_members(tx: Tx, couple_id: int) -> list[PartnerRow]:
        rows = tx.conn.execute(
            core_select(PARTNERS).where(PARTNERS.c.couple_id == couple_id).order_by(PARTNERS.c.seat)
        ).mappings()
        return [PartnerRow(**row) for row in rows]

    @staticmethod
    def couple_by_group(tx: Tx, chat_id: int) -> CoupleRow | None:
        row = (
            tx.conn.execute(core_select(COUPLES).where(COUPLES.c.group_chat_id == chat_id))
            .mappings()
            .first()
        )
        return CoupleRow(**row) if row is not None else None

    @staticmethod
    def change_couple(tx: Tx, couple: CoupleRow, change: Callable[[CoupleRow], None]) -> None:
        """Apply `change` to the couple's stored row and save it."""
        assert couple.id is not None
        Couples.change(tx.conn, couple.id, change)
        wake_couple(tx.conn, couple.id, tx.now)  # a slot, zone or pause may have moved

    def lost_chat(self, tx: Tx, chat_id: int) -> Reply:
        """Telegram said 403 for this chat: a person blocked us, or we left a group."""
        return self.mark_unreachable(tx, chat_id) if chat_id > 0 else self.bot_removed(tx, chat_id)

    def mark_unreachable(self, tx: Tx, person_id: int) -> Reply:
        """The person blocked us: stop writing to them and tell their partner once."""
        if not Partners.mark_unreachable(tx.conn, person_id):
            return Reply()
        me, _couple, other = self.partner_of(tx, person_id)
        log.info("partner %s is unreachable (blocked the bot)", person_id)
        if me is None or other is None or other.unreachable:
            return Reply()
        return Reply().add(self.say(other.id, "partner_unreachable", partner=me.first_name))

    # ----- private chat --------------------------------------------------------------------

    def start(self, tx: Tx, event: Event, payload: str) -> Reply:
        if payload:
            return self.join(tx, event, payload)
        _me, couple, other = self.partner_of(tx, event.person.id)
        return self.reply(
            event,
            "welcome",
            name=event.person.first_name,
            partner=other.first_name if couple and other else None,
        )

    def invite(self, tx: Tx, event: Event) -> Reply:
        _me, couple, other = self.partner_of(tx, event.person.id)
        if couple is not None:
            return self.reply(event, "already_paired", partner=other.first_name if other else "")
        code = secrets.token_urlsafe(16)  # 22 chars of A-Z a-z 0-9 _ -, fine for a deep link
        Invites.issue(tx.conn, code, event.person.id, tx.now, tx.now + self.invite_ttl)
        link = f"https://t.me/{self.bot_username}?start={code}"
        hours = int(self.invite_ttl.total_seconds() // 3600)
        text = self.renderer.render("common/invite", link=link, code=code, hours=hours)
        button = Button(label=self.renderer.label("common/invite_button"), url=link)
        return Reply().add(Outgoing(chat_id=event.chat_id, text=text, buttons=((button,),)))

    def join(self, tx: Tx, event: Event, code: str) -> Reply:
        """Accept an invite. Every refusal is worded so that it reveals nothing about the couple."""
        joiner = event.person.id
        code = code.strip()
        now, conn = tx.now, tx.conn
        _me, couple, _other = self.partner_of(tx, joiner)
        if couple is not None:
            return self.reply(event, "join_already_paired")
        code = code[:64]
        invite = Invites.find(conn, code) if code else None
        if invite is not None and invite["inviter_id"] == joiner:
            return self.reply(event, "join_own_invite")
        try:
            with conn.begin_nested():  # claimed, couple made and both seated, or none of it
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
                    PartnerRow(**conn.execute(_PARTNER, {"person": p}).mappings().one())
                    for p in (inviter_id, joiner)
                )
        except _Refused:
            return self.reply(event, "join_refused")
        log.info("couple %s formed", couple_id)
        reply = Reply()
        for person, partner in ((joined, inviter), (inviter, joined)):
            # Paired, and at once the first question: the time zone, with a tap.
            asked = self.timezone_question(tx, person.id, False, person.language_code)
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

    def _require_couple(self, tx: Tx, event: Event) -> tuple[CoupleRow, PartnerRow | None] | Reply:
        _me, couple, other = self.partner_of(tx, event.person.id)
        if couple is None:
            return self.not_paired(tx, event)
        return couple, other

    def not_paired(self, tx: Tx, event: Event) -> Reply:
        """Nothing shared to do. Someone whose partner left quietly (after a safety answer)
        learns here, once and in neutral words, that the couple has ended."""
        if Partners.clear_couple_ended(
            tx.conn, event.person.id
        ):  # privately, even when asked in a group
            return Reply().add(self.say(event.person.id, "couple_ended"))
        return self.reply(event, "not_paired")

    def bot_added(self, chat_id: int) -> Reply:
        return Reply().add(self.say(chat_id, "group_hello", bot=self.bot_username))

    def link(self, tx: Tx, event: Event) -> Reply:
        _me, couple, other = self.partner_of(tx, event.person.id)
        if couple is None or couple.id is None:
            return self.reply(event, "link_refused", bot=self.bot_username)
        owner = self.couple_by_group(tx, event.chat_id)
        if owner is not None and owner.id != couple.id:
            return self.reply(event, "link_refused", bot=self.bot_username)
        if couple.group_chat_id == event.chat_id:
            return self.reply(event, "link_already")
        previous = couple.group_chat_id
        self.change_couple(tx, couple, lambda row: setattr(row, "group_chat_id", event.chat_id))
        names = [event.person.first_name, other.first_name if other else ""]
        reply = self.reply(event, "linked", names=names, moved=previous is not None)
        if previous is not None:
            reply.add(self.say(previous, "link_moved_away"))
        return reply

    def bot_removed(self, tx: Tx, chat_id: int) -> Reply:
        """The bot left or was kicked from a group: unlink it and tell the couple privately."""
        couple = self.couple_by_group(tx, chat_id)
        if couple is None or couple.id is None:
            return Reply()
        self.change_couple(tx, couple, lambda row: setattr(row, "group_chat_id", None))
        log.info("couple %s unlinked from its group", couple.id)
        members = self.couple_members(tx, couple.id)
        return Reply().add(*(self.say(p.id, "unlinked") for p in members))

    @staticmethod
    def migrated(tx: Tx, old_chat_id: int, new_chat_id: int) -> None:
        """A group became a supergroup: follow it to its new id."""
        Couples.follow_group(tx.conn, old_chat_id, new_chat_id)
