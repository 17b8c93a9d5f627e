"""Each partner's data rights: what is stored (/privacy), a copy of it (/export), and
deleting it (/forget), plus the retention rule that purges old flow transcripts.

A partner's own words belong to them: their export holds what they wrote and never
the other partner's private answers, and forgetting one partner leaves the other's
data theirs.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, RowMapping, and_, select

from bot.coaching.couples import CoupleService
from bot.coaching.wake_ups import forget_couple
from bot.core.events import Event
from bot.core.outbox import Button, Notice, Outgoing, Reply
from bot.core.work import Tx
from bot.engine.marks import Marks
from bot.safety.care import careful_person
from bot.storage import tables as t
from bot.storage.agreements import Agreements
from bot.storage.couples import Couples
from bot.storage.invites import Invites
from bot.storage.nudge_claims import NudgeClaims
from bot.storage.outbox import Outbox
from bot.storage.partners import Partners
from bot.storage.practices import Appreciations, CheckIns, MeTimes
from bot.storage.runs import RunStore
from bot.storage.voice_notes import VoiceNotes
from bot.words.buttons import ForgetChoice
from bot.words.texts import Renderer

log = logging.getLogger(__name__)


def _stamp(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


# ----- what /export collects, one part at a time ------------------------------------------


def _profile(me: RowMapping) -> dict[str, Any]:
    profile = {
        k: _stamp(me[k])
        for k in (
            "id",
            "first_name",
            "language_code",
            "quiet_start",
            "quiet_end",
            "created_at",
        )
    }
    # Only in the person's own export: the partner's never mentions any of this.
    profile["help_last_shown_at"] = _stamp(me["safety_at"])
    profile["help_check_planned_at"] = _stamp(me["safety_check_at"])
    profile["nudges_paused_quietly"] = me["hushed"]
    profile["help_country"] = me["country"]
    profile["language_chosen"] = me["language"]
    # How they are addressed in Spanish and Arabic: m, f, n (without gender) or None.
    profile["addressed_as"] = me["form"]
    return profile


def _couple(conn: Connection, couple_id: int, person: int) -> dict[str, Any]:
    couple = conn.execute(select(t.COUPLES).where(t.COUPLES.c.id == couple_id)).mappings().one()
    other = conn.execute(
        select(t.PARTNERS.c.first_name).where(
            t.PARTNERS.c.couple_id == couple_id, t.PARTNERS.c.id != person
        )
    ).scalar()
    return {
        "partner_first_name": other,
        "timezone": couple["timezone"],
        "weekly_meeting": {
            "day": couple["meeting_day"],
            "time": couple["meeting_time"],
        },
        "nudges_paused": couple["paused"],
        "group_linked": couple["group_chat_id"] is not None,
    }


def _agreements(conn: Connection, couple_id: int) -> list[dict[str, Any]]:
    return [
        {
            "text": a["text"],
            "made": _stamp(a["created_at"]),
            "follow_up": _stamp(a["follow_up"]),
        }
        for a in conn.execute(
            select(t.AGREEMENTS).where(t.AGREEMENTS.c.couple_id == couple_id)
        ).mappings()
    ]


def _practices(conn: Connection, person: int) -> dict[str, Any]:
    """The person's own check-ins, appreciations and you-time, keyed as in the export."""
    return {
        "check_ins": [
            {
                k: _stamp(c[k])
                for k in (
                    "created_at",
                    "leaning",
                    "spectrum",
                    "autonomy",
                    "competence",
                    "relatedness",
                    "shared",
                )
            }
            for c in conn.execute(
                select(t.CHECKINS).where(t.CHECKINS.c.partner_id == person)
            ).mappings()
        ],
        "appreciations_sent": [
            {"text": a["text"], "sent": _stamp(a["created_at"])}
            for a in conn.execute(
                select(t.APPRECIATIONS).where(t.APPRECIATIONS.c.author_id == person)
            ).mappings()
        ],
        "you_time": [
            {"what": m["what"], "at": _stamp(m["at"]), "told_partner": m["tell_partner"]}
            for m in conn.execute(
                select(t.METIMES).where(t.METIMES.c.partner_id == person)
            ).mappings()
        ],
    }


def _flow_answers(conn: Connection, couple_id: int, person: int) -> list[dict[str, Any]]:
    """Only what `person` wrote in the couple's flows, never the partner's private answers."""
    answers = []
    for run in conn.execute(select(t.RUNS).where(t.RUNS.c.couple_id == couple_id)).mappings():
        mine = Marks.from_json(run["marks"]).authored_by(run["context"], person)
        if mine:
            answers.append(
                {
                    "flow": run["flow_id"],
                    "started": _stamp(run["created_at"]),
                    "status": run["status"],
                    "answers": mine,
                }
            )
    return answers


class DataRights:
    def __init__(
        self,
        renderer: Renderer,
        couples: CoupleService,
        *,
        retention: timedelta = timedelta(days=180),
    ) -> None:
        self.renderer = renderer
        self.couples = couples
        self.retention = retention

    def privacy(self, event: Event) -> Reply:
        days = int(self.retention.total_seconds() // 86400)
        return self.couples.reply(event, "privacy", days=days)

    # ----- /export -------------------------------------------------------------------------

    def export(self, tx: Tx, event: Event) -> Reply:
        """Everything stored about the person, as a JSON document."""
        data = self.collect(tx, event.person.id)
        body = json.dumps(data, indent=2, ensure_ascii=False, default=str).encode()
        text = self.renderer.render("common/export_caption")
        name = f"us-coach-{event.person.id}.json"
        return Reply().add(Outgoing(chat_id=event.person.id, text=text, document=(name, body)))

    @staticmethod
    def collect(tx: Tx, person: int) -> dict[str, Any]:
        conn = tx.conn
        me = conn.execute(select(t.PARTNERS).where(t.PARTNERS.c.id == person)).mappings().first()
        data: dict[str, Any] = {
            "exported_at": tx.now.isoformat(),
            "profile": None,
            "couple": None,
        }
        if me is None:
            return data
        data["profile"] = _profile(me)
        couple_id = me["couple_id"]
        if couple_id is not None:
            data["couple"] = _couple(conn, couple_id, person)
            data["agreements"] = _agreements(conn, couple_id)
        data.update(_practices(conn, person))
        data["flow_answers"] = (
            _flow_answers(conn, couple_id, person) if couple_id is not None else []
        )
        return data

    # ----- /forget -------------------------------------------------------------------------

    def ask_to_forget(self, tx: Tx, event: Event) -> Reply:
        # After a safety answer, leaving must not alert the partner: "leave quietly" first.
        quiet = careful_person(tx.conn, event.person.id, tx.now)
        choices = [("forget_quietly_button", "quietly")] if quiet else []
        choices += [("forget_button", "forget"), ("forget_keep_button", "keep")]
        buttons = tuple(
            (Button(self.renderer.label(f"common/{label}"), data=ForgetChoice(action).pack()),)
            for label, action in choices
        )
        text = self.renderer.render("common/forget_confirm", quiet=quiet)
        return Reply().add(Outgoing(event.person.id, text, buttons))

    def button(self, tx: Tx, event: Event, data: ForgetChoice) -> Reply:
        if data.action in ("forget", "quietly") and not event.in_group:
            return self.forget(tx, event.person.id, quietly=data.action == "quietly")
        return Reply(notice=Notice(self.renderer.render("common/forget_kept")))

    def forget(self, tx: Tx, person: int, *, quietly: bool = False) -> Reply:
        """Delete everything about `person`; dissolve the couple; the partner keeps theirs.
        `quietly`: the partner is not told now; they learn the couple ended, in neutral
        words, the next time they use it (CoupleService.not_paired)."""
        reply = Reply()
        conn = tx.conn
        me = conn.execute(select(t.PARTNERS).where(t.PARTNERS.c.id == person)).mappings().first()
        couple_id = me["couple_id"] if me else None
        other = None
        if couple_id is not None:
            other = conn.execute(
                select(t.PARTNERS.c.id).where(
                    t.PARTNERS.c.couple_id == couple_id, t.PARTNERS.c.id != person
                )
            ).scalar()
            self._scrub_runs(conn, couple_id, person, tx.now)
            Partners.unseat_couple(conn, couple_id)
            Couples.dissolve(conn, couple_id)
            forget_couple(conn, couple_id)
        # Each table's own store forgets what it holds of them.
        Agreements.forget_author(conn, person)
        CheckIns.forget(conn, person)
        MeTimes.forget(conn, person)
        Appreciations.forget(conn, person)
        Invites.forget(conn, person)
        Outbox.forget_chat(conn, person)
        VoiceNotes.forget(conn, person)
        NudgeClaims.forget(conn, person)
        Partners.forget(conn, person)
        log.info("a partner was forgotten (couple %s dissolved)", couple_id)
        reply.add(Outgoing(person, self.renderer.render("common/forgotten")))
        if other is not None and quietly:
            Partners.mark_couple_ended(conn, other)
        elif other is not None:
            reply.add(Outgoing(other, self.renderer.render("common/partner_left")))
        return reply

    @staticmethod
    def _scrub_runs(conn: Connection, couple_id: int, person: int, now: datetime) -> None:
        runs = t.RUNS
        for run in conn.execute(select(runs).where(runs.c.couple_id == couple_id)).mappings():
            involved = person in run["roles"].values() or run["started_by"] == person
            if not involved:
                continue
            context, marks = Marks.from_json(run["marks"]).scrub(run["context"], person)
            seen = marks.seen
            if run["started_by"] == person and not seen:  # theirs alone: it goes
                Agreements.detach_runs(conn, [run["id"]])
                RunStore.forget(conn, [run["id"]])
                continue
            RunStore.scrub(
                conn,
                run["id"],
                context=context,
                marks=marks.to_json(),
                roles={r: (0 if p == person else p) for r, p in run["roles"].items()},
                started_by=0 if run["started_by"] == person else run["started_by"],
                status="cancelled" if run["status"] == "active" else run["status"],
                active_key=None,
                ended_at=run["ended_at"] or now,
            )

    # ----- retention -----------------------------------------------------------------------

    def purge(self, conn: Connection, now: datetime) -> int:
        """Delete flow transcripts (runs) that ended longer ago than the retention period.
        Agreements stay until forgotten."""
        cutoff = now - self.retention
        runs = t.RUNS
        old = and_(runs.c.status != "active", runs.c.ended_at < cutoff)
        ids = [r.id for r in conn.execute(select(runs.c.id).where(old))]
        if not ids:
            return 0
        Agreements.detach_runs(conn, ids)
        RunStore.forget(conn, ids)
        NudgeClaims.purge(conn, cutoff)
        log.info("retention: purged %d flow transcripts", len(ids))
        return len(ids)
