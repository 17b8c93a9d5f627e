"""What one person sees in Our space: exactly what the bot would show them in chat, as plain
dicts for the page, read in one connection.

- Their couple only while it is active, and only when they are one of its two partners; a
  `startapp` link naming another couple (or an ended one) shows nothing of any couple.
- Their own check-ins and trend; the partner's check-ins only those the partner shared, and
  only once this person has shared one too (sharing is both-or-nothing, as in chat).
- Appreciations they received; the couple's agreements and their history; plans they are
  part of (their own, and the partner's only when the partner told them or it is time
  together); last week's recap, as the bot words it.
- Never a flow's answers, a partner's unshared check-in, or anything of the safety answers
  (who was given one, a quiet pause, a chosen country).

Sentences the bot also says in chat (the trend, a partner's shared check-in, the recap) are
rendered from the same templates in the reader's language and grammatical form.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, and_, or_, select

from bot.coaching.nudges.recap import NEW_COUPLE, WEEK, Week, recap_due
from bot.coaching.our_space import start_param_for
from bot.coaching.schedule import week_number
from bot.storage.db import aware
from bot.storage.tables import AGREEMENTS, APPRECIATIONS, CHECKINS, COUPLES, METIMES, PARTNERS
from bot.storage.voices import voices
from bot.words.languages import Voice, right_to_left
from bot.words.texts import Renderer, plain

# A `startapp` payload naming a couple: "c" and the couple's id (t.me/<bot>/<app>?startapp=c42).
COUPLE_PARAM = re.compile(r"^c([0-9]{1,18})$")
SHOWN = 100  # rows of a kind the page shows, newest first
CHECKIN_FIELDS = ("spectrum", "leaning", "autonomy", "competence", "relatedness")

CountWeek = Callable[[Connection, int, datetime, datetime], Week]


def named_couple(start_param: str | None) -> int | None:
    """The couple a `startapp` payload names; None when it names none (opened from the
    private chat's button, or a payload that is not ours)."""
    match = COUPLE_PARAM.match(start_param or "")
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class Ours:
    """The person, their active couple and their partner (rows as read)."""

    me: RowMapping
    couple: RowMapping
    partner: RowMapping | None


def find_couple(conn: Connection, person_id: int, start_param: str | None) -> Ours | None:
    """The person's couple, when it is active and the one the link names (if it names one)."""
    me = conn.execute(select(PARTNERS).where(PARTNERS.c.id == person_id)).mappings().first()
    if me is None or me["couple_id"] is None:
        return None
    named = named_couple(start_param)
    if named is not None and named != me["couple_id"]:
        return None
    couple = (
        conn.execute(
            select(COUPLES).where(COUPLES.c.id == me["couple_id"], COUPLES.c.status == "active")
        )
        .mappings()
        .first()
    )
    if couple is None:
        return None
    partner = (
        conn.execute(
            select(PARTNERS).where(PARTNERS.c.couple_id == couple["id"], PARTNERS.c.id != person_id)
        )
        .mappings()
        .first()
    )
    return Ours(me, couple, partner)


def _utc(moment: datetime | None) -> datetime | None:
    return aware(moment) if moment is not None else None


def _iso(moment: datetime | date | None) -> str | None:
    if isinstance(moment, datetime):
        return _utc(moment).isoformat()  # type: ignore[union-attr]
    return moment.isoformat() if moment is not None else None


class Views:
    """Builds a person's view; `count_week` is the weekly recap's own count (the recap nudge's)."""

    def __init__(self, renderer: Renderer, count_week: CountWeek | None = None) -> None:
        self.renderer = renderer
        self.count_week = count_week

    def voice(self, conn: Connection, person_id: int, language_code: str | None) -> Voice:
        return voices(conn, [person_id], (person_id, language_code))[person_id]

    def view(
        self,
        conn: Connection,
        person_id: int,
        *,
        first_name: str = "",
        language_code: str | None = None,
        start_param: str | None = None,
        now: datetime,
    ) -> dict[str, Any]:
        """Everything the person may see; an empty view when they see no couple."""
        voice = self.voice(conn, person_id, language_code)
        ours = find_couple(conn, person_id, start_param)
        if ours is None:
            return empty_view(first_name, voice)
        return {
            "me": self._me(ours, voice),
            "couple": self._couple(ours),
            "agreements": self._agreements(conn, ours),
            "checkins": self._checkins(conn, ours, voice),
            "plans": self._plans(conn, ours),
            "appreciations": self._appreciations(conn, ours),
            "recap": self._recap(conn, ours, voice, now),
        }

    # ----- who and which couple ------------------------------------------------------------

    @staticmethod
    def _me(ours: Ours, voice: Voice) -> dict[str, Any]:
        me = ours.me
        return {
            "id": me["id"],
            "first_name": me["first_name"],
            "lang": voice.lang,
            "rtl": right_to_left(voice.lang),
            "language": me["language"],  # their /language choice; None: Telegram's
            "form": me["form"],
            "quiet": {"start": me["quiet_start"], "end": me["quiet_end"]},
        }

    @staticmethod
    def _couple(ours: Ours) -> dict[str, Any]:
        couple = ours.couple
        day, at = couple["meeting_day"], couple["meeting_time"]
        return {
            "id": couple["id"],
            "start_param": start_param_for(couple["id"]),
            "partner": {"first_name": ours.partner["first_name"]} if ours.partner else None,
            "timezone": couple["timezone"],
            "meeting": {"day": day, "time": at} if day is not None and at else None,
            "paused": bool(couple["paused"]),
            "group_linked": couple["group_chat_id"] is not None,
        }

    # ----- what they built ------------------------------------------------------------------

    def _agreements(self, conn: Connection, ours: Ours) -> list[dict[str, Any]]:
        rows = conn.execute(
            select(AGREEMENTS)
            .where(AGREEMENTS.c.couple_id == ours.couple["id"])
            .order_by(AGREEMENTS.c.created_at.desc(), AGREEMENTS.c.id.desc())
            .limit(SHOWN)
        ).mappings()
        return [self._agreement(row, ours.me["id"]) for row in rows]

    @staticmethod
    def _agreement(row: RowMapping, me: int) -> dict[str, Any]:
        def who(by: Any) -> str | None:
            if isinstance(by, list):
                return "both"
            if by is None:
                return None
            return "you" if by == me else "partner"

        history = list(row["history"] or [])
        pending = history.pop() if history and history[-1].get("pending") else None
        return {
            "id": row["id"],
            "text": row["text"],
            "created_at": _iso(row["created_at"]),
            "follow_up": _iso(row["follow_up"]),
            "status": row["status"],
            "history": [
                {"at": h.get("at"), "answer": h.get("answer"), "by": who(h.get("by"))}
                for h in history
            ],
            # The first answer to a follow-up waits for the other partner to agree.
            "waiting": (
                {"answer": pending.get("answer"), "by": who(pending.get("by"))} if pending else None
            ),
        }

    def _checkins(self, conn: Connection, ours: Ours, voice: Voice) -> dict[str, Any]:
        mine = _checkins_of(conn, ours.me["id"])
        theirs: list[dict[str, Any]] = []
        if ours.partner is not None and any(c["shared"] for c in mine):
            theirs = _checkins_of(conn, ours.partner["id"], shared_only=True)
        latest = None
        if theirs and ours.partner is not None:
            checkin = {k: theirs[-1][k] for k in CHECKIN_FIELDS}
            latest = plain(
                self.renderer.render_in(
                    voice, "common/checkin_shared", name=ours.partner["first_name"], checkin=checkin
                )
            )
        return {
            "mine": mine,
            "partner": theirs,
            "trend": self._trend(mine, voice),
            "partner_latest": latest,
        }

    def _trend(self, mine: list[dict[str, Any]], voice: Voice) -> dict[str, Any] | None:
        """As "My trend" says it in chat: from the first check-in to the latest."""
        if len(mine) < 2:
            return None
        first, last = mine[0]["spectrum"], mine[-1]["spectrum"]
        values = {
            "count": len(mine),
            "first": first,
            "last": last,
            "closer": abs(last) < abs(first),
            "same": abs(last) == abs(first),
        }
        return values | {
            "text": plain(self.renderer.render_in(voice, "common/trend_line", **values))
        }

    @staticmethod
    def _plans(conn: Connection, ours: Ours) -> list[dict[str, Any]]:
        me = ours.me["id"]
        theirs = (
            and_(
                METIMES.c.partner_id == ours.partner["id"],
                or_(METIMES.c.tell_partner.is_(True), METIMES.c.together.is_(True)),
            )
            if ours.partner is not None
            else METIMES.c.id.is_(None)
        )
        rows = conn.execute(
            select(METIMES)
            .where(
                METIMES.c.couple_id == ours.couple["id"], or_(METIMES.c.partner_id == me, theirs)
            )
            .order_by(METIMES.c.at.desc(), METIMES.c.id.desc())
            .limit(SHOWN)
        ).mappings()
        return [
            {
                "id": row["id"],
                "what": row["what"],
                "at": _iso(row["at"]),
                "together": bool(row["together"]),
                "mine": row["partner_id"] == me,
                "status": row["status"],
            }
            for row in rows
        ]

    @staticmethod
    def _appreciations(conn: Connection, ours: Ours) -> list[dict[str, Any]]:
        rows = conn.execute(
            select(APPRECIATIONS.c.text, APPRECIATIONS.c.created_at)
            .where(
                APPRECIATIONS.c.recipient_id == ours.me["id"],
                APPRECIATIONS.c.couple_id == ours.couple["id"],
            )
            .order_by(APPRECIATIONS.c.created_at.desc(), APPRECIATIONS.c.id.desc())
            .limit(SHOWN)
        ).all()
        sender = ours.partner["first_name"] if ours.partner else None
        return [{"text": r.text, "at": _iso(r.created_at), "from": sender} for r in rows]

    def _recap(
        self, conn: Connection, ours: Ours, voice: Voice, now: datetime
    ) -> dict[str, Any] | None:
        """The last full week's recap (the one sent two hours after the meeting slot), in the
        bot's words; None for a couple too new for one."""
        couple = ours.couple
        if self.count_week is None or ours.partner is None:
            return None
        due = recap_due(now, couple["meeting_day"], couple["meeting_time"], couple["timezone"])
        created = _utc(couple["created_at"])
        if created is None or created > due - NEW_COUPLE:
            return None
        week = self.count_week(conn, couple["id"], due - WEEK, due)
        seats = sorted((ours.me, ours.partner), key=lambda p: p["seat"] or 0)
        text = self.renderer.render_in(
            voice,
            "common/weekly_recap",
            names=[p["first_name"] for p in seats],
            variant=week_number(due),
            **asdict(week),
            quiet=week.quiet,
        )
        return {
            "from": _iso(due - WEEK),
            "to": _iso(due),
            "counts": asdict(week),
            "quiet": week.quiet,
            "text": plain(text),
        }


def _checkins_of(
    conn: Connection, person_id: int, *, shared_only: bool = False
) -> list[dict[str, Any]]:
    """A person's latest check-ins, oldest first (for a trend)."""
    query = select(CHECKINS).where(CHECKINS.c.partner_id == person_id)
    if shared_only:
        query = query.where(CHECKINS.c.shared.is_(True))
    rows = conn.execute(
        query.order_by(CHECKINS.c.created_at.desc(), CHECKINS.c.id.desc()).limit(SHOWN)
    ).mappings()
    found = [
        {"at": _iso(r["created_at"]), "shared": bool(r["shared"])}
        | {k: r[k] for k in CHECKIN_FIELDS}
        for r in rows
    ]
    return found[::-1]


def empty_view(first_name: str, voice: Voice) -> dict[str, Any]:
    """Nothing of any couple: what a stranger, an ended couple or a wrong link sees."""
    return {
        "me": {"first_name": first_name, "lang": voice.lang, "rtl": right_to_left(voice.lang)},
        "couple": None,
        "agreements": [],
        "checkins": {"mine": [], "partner": [], "trend": None, "partner_latest": None},
        "plans": [],
        "appreciations": [],
        "recap": None,
    }
