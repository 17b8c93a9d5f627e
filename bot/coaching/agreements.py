"""Agreements and the check-in the bot promises when one is made ("I'll help you check in
on it in 7 days"): when it is due, the answers to it, `/agreements`, and what the next State
of the Union brings back ("Last time you agreed ...", one that needs another look)."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from bot.coaching.couples import CoupleService
from bot.coaching.schedule import local_instant, parse_clock
from bot.core.events import Event
from bot.core.outbox import Button, Notice, Outgoing, Reply
from bot.core.work import Tx
from bot.storage.agreements import Agreements
from bot.storage.rows import RunRow
from bot.storage.runs import CoupleView
from bot.storage.tables import AGREEMENTS, COUPLES, PARTNERS
from bot.words.buttons import AgreementChoice
from bot.words.texts import Renderer

log = logging.getLogger(__name__)

ANSWERS = ("working", "again", "let_go")
# When a couple has no weekly meeting time, the check-in comes in the early evening.
FOLLOW_UP_TIME = "19:00"
SEEDS = frozenset({"agreements_review"})
EFFECTS = frozenset({"revisit_taken"})


class AgreementService:
    def __init__(self, renderer: Renderer, couples: CoupleService) -> None:
        self.renderer = renderer
        self.couples = couples

    # ----- when the promised check-in is due -------------------------------------------------

    @staticmethod
    def due_at(conn: Connection, couple_id: int, days: int, now: datetime) -> tuple[date, datetime]:
        """The follow-up day (the couple's local date, `days` on) and its moment: the couple's
        meeting time that day, or the early evening."""
        couple = conn.execute(
            select(COUPLES.c.timezone, COUPLES.c.meeting_time).where(COUPLES.c.id == couple_id)
        ).one()
        zone = ZoneInfo(couple.timezone or "UTC")
        day = now.astimezone(zone).date() + timedelta(days=days)
        return day, local_instant(day, parse_clock(couple.meeting_time or FOLLOW_UP_TIME), zone)

    def follow_up_message(self, row: dict[str, Any], chat_id: int, now: datetime) -> Outgoing:
        days = (now - row["created_at"].replace(tzinfo=now.tzinfo)).days
        text = self.renderer.render("common/follow_up_due", text=row["text"], days=days)
        return Outgoing(chat_id, text, self.answer_buttons(row["id"]))

    def answer_buttons(self, agreement_id: int) -> tuple[tuple[Button, ...], ...]:
        return tuple(
            (
                Button(
                    self.renderer.label(f"common/agreement_{answer}_button"),
                    data=AgreementChoice(agreement_id, answer).pack(),
                ),
            )
            for answer in ANSWERS
        )

    # ----- answers ---------------------------------------------------------------------------

    def answer(self, tx: Tx, event: Event, data: AgreementChoice) -> Reply:
        """A joint decision: the first answer is a proposal the partner confirms ("Alex says
        it's working: do you agree?"); the same answer from both settles it, different
        answers mean it needs another look (offered at the next meeting)."""
        if data.answer not in ANSWERS:
            return Reply(notice=Notice(self.renderer.render("common/button_unknown")))
        now, conn = tx.now, tx.conn
        person = event.person.id
        me, _couple, partner = self.couples.partner_of(tx, person)
        row = (
            conn.execute(
                select(AGREEMENTS)
                .join(PARTNERS, PARTNERS.c.couple_id == AGREEMENTS.c.couple_id)
                .where(AGREEMENTS.c.id == data.agreement_id, PARTNERS.c.id == person)
            )
            .mappings()
            .first()
        )
        if row is None or me is None or partner is None:  # not their couple's, or gone
            return Reply(notice=Notice(self.renderer.render("common/not_for_you")))
        history = list(row["history"])
        pending = history[-1] if history and history[-1].get("pending") else None
        if row["status"] != "open" and pending is None:  # settled by both already
            return Reply(notice=Notice(self.renderer.render("common/step_passed")))
        if pending is not None and pending.get("by") == person:
            return Reply(
                notice=Notice(self.renderer.render("common/waiting_for", name=partner.first_name))
            )
        if pending is None:
            proposed = {
                "at": now.isoformat(),
                "answer": data.answer,
                "by": person,
                "pending": True,
            }
            self._store(conn, row["id"], "open", [*history, proposed])
            return self._ask_partner(
                event, row, data.answer, me.first_name, partner.id, partner.first_name
            )
        settled = data.answer if data.answer == pending["answer"] else "again"
        both = {"at": now.isoformat(), "answer": settled, "by": [pending["by"], person]}
        self._store(conn, row["id"], settled, [*history[:-1], both])
        if settled == data.answer:
            text = self.renderer.render(f"common/agreement_{settled}", text=row["text"])
        else:
            names = {pending["by"]: partner.first_name, person: me.first_name}
            text = self.renderer.render(
                "common/agreement_differ",
                text=row["text"],
                first=names[pending["by"]],
                first_answer=self.renderer.label(f"common/agreement_{pending['answer']}_button"),
                second=me.first_name,
                second_answer=self.renderer.label(f"common/agreement_{data.answer}_button"),
            )
        reply = Reply(notice=Notice(self.renderer.label(f"common/agreement_{data.answer}_button")))
        chats = [event.chat_id] if event.in_group else [person, partner.id]
        return reply.add(*(Outgoing(chat, text) for chat in chats))

    @staticmethod
    def _store(conn: Connection, agreement_id: int, status: str, history: list[Any]) -> None:
        Agreements.set_status(conn, agreement_id, status, history)

    def _ask_partner(
        self,
        event: Event,
        row: Any,
        answer: str,
        name: str,
        partner_id: int,
        partner_name: str,
    ) -> Reply:
        """The first answer, put to the partner with the same three buttons."""
        asked = self.renderer.render(
            "common/agreement_confirm",
            text=row["text"],
            name=name,
            answer=self.renderer.label(f"common/agreement_{answer}_button"),
            partner=partner_name,
        )
        buttons = self.answer_buttons(row["id"])
        reply = Reply(notice=Notice(self.renderer.label(f"common/agreement_{answer}_button")))
        if event.in_group:
            return reply.add(Outgoing(event.chat_id, asked, buttons))
        told = self.renderer.render("common/agreement_asked", name=partner_name)
        return reply.add(Outgoing(event.chat_id, told), Outgoing(partner_id, asked, buttons))

    # ----- /agreements -----------------------------------------------------------------------

    def show(self, tx: Tx, event: Event) -> Reply:
        _me, couple, _other = self.couples.partner_of(tx, event.person.id)
        if couple is None:
            return self.couples.not_paired(tx, event)
        if event.in_group and couple.group_chat_id != event.chat_id:
            return self.couples.reply(event, "group_not_linked")
        rows = tx.conn.execute(
            select(AGREEMENTS)
            .where(AGREEMENTS.c.couple_id == couple.id)
            .order_by(AGREEMENTS.c.created_at.desc())
            .limit(20)
        ).mappings()
        items = [
            {
                "text": a["text"],
                "date": a["created_at"],
                "follow_up": a["follow_up"],
                "status": a["status"],
                "history": [
                    {**h, "date": datetime.fromisoformat(h["at"])}
                    for h in a["history"]
                    if not h.get("pending")
                ],
            }
            for a in rows
        ]
        return self.couples.reply(event, "agreements", items=items)

    # ----- the next State of the Union -------------------------------------------------------

    @staticmethod
    def review(conn: Connection, couple_id: int, now: datetime) -> dict[str, Any]:
        """A seed for the meeting: last time's agreements, and the newest one that needs
        another look (offered as today's issue)."""
        last_run = conn.execute(
            select(AGREEMENTS.c.run_id)
            .where(AGREEMENTS.c.couple_id == couple_id, AGREEMENTS.c.run_id.is_not(None))
            .order_by(AGREEMENTS.c.created_at.desc())
            .limit(1)
        ).scalar()
        last = conn.execute(
            select(AGREEMENTS.c.text).where(
                AGREEMENTS.c.couple_id == couple_id,
                AGREEMENTS.c.run_id == last_run,
                AGREEMENTS.c.status != "let_go",
            )
        ).scalars()
        again = conn.execute(
            select(AGREEMENTS.c.id, AGREEMENTS.c.text)
            .where(AGREEMENTS.c.couple_id == couple_id, AGREEMENTS.c.status == "again")
            .order_by(AGREEMENTS.c.created_at.desc())
            .limit(1)
        ).first()
        return {
            "last_agreements": list(last) if last_run is not None else [],
            "revisit": again.text if again else "",
            "revisit_id": again.id if again else 0,
        }

    def revisit_taken(
        self,
        conn: Connection,
        row: RunRow,
        couple: CoupleView,
        params: dict[str, Any],
        now: datetime,
    ) -> list[Outgoing]:
        """The meeting took an agreement that needed another look as its issue."""
        agreement = conn.execute(
            select(AGREEMENTS.c.history).where(
                AGREEMENTS.c.id == int(params.get("id") or 0),
                AGREEMENTS.c.couple_id == couple.id,
            )
        ).first()
        if agreement is not None:
            history = [*agreement.history, {"at": now.isoformat(), "answer": "revisited"}]
            Agreements.set_status(conn, int(params["id"]), "revisited", history)
        return []
