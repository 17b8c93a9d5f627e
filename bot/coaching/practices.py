"""The effects that the practice flows ask for by name (`do: [{effect: {name: ...}}]`):
storing a check-in and sharing it both-or-nothing, a trend chart, an appreciation,
and planned "you" time. Each runs inside the flow step's transaction.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from bot.coaching.flows import Effect, FlowService
from bot.coaching.schedule import next_weekly, week_number
from bot.core.outbox import Outgoing
from bot.engine.names import Names
from bot.storage.practices import Appreciations, CheckIns, MeTimes
from bot.storage.rows import RunRow
from bot.storage.runs import CoupleView, RunStore
from bot.storage.tables import APPRECIATIONS, CHECKINS, COUPLES
from bot.words.parsing import ParseError, parse_weekly_slot
from bot.words.text import english
from bot.words.texts import Renderer

log = logging.getLogger(__name__)


def _me_and_partner(params: dict[str, Any], couple: CoupleView) -> tuple[int, int | None]:
    """Whom the flow is for (its starter), and the other partner."""
    me = int(params["_starter"])
    return me, next((p for p in couple.members if p != me), None)


def _int(value: Any, default: int = 3) -> int:
    try:
        return max(1, min(5, int(value)))
    except (TypeError, ValueError):
        return default


EFFECTS = frozenset(
    {
        "store_checkin",
        "share_checkin",
        "send_trend",
        "store_appreciation",
        "plan_metime",
        "plan_together",
        # registered by the safety service (bot/safety/respond.py)
        "safety_fear_quietly",
    }
)
SEEDS = frozenset({"appreciations_this_week", "week"})


def names() -> Names:
    """What flows may name in `effect:` and `seed:`, for the flow checker."""
    from bot.coaching import agreements
    from bot.coaching.roles import BUILT_IN, ROLES, TIMING

    return Names(
        effects=EFFECTS | agreements.EFFECTS,
        seeds=SEEDS | agreements.SEEDS,
        roles=ROLES,
        commands=frozenset(BUILT_IN),
        timing=TIMING,
    )


class Practices:
    def __init__(self, flows: FlowService, renderer: Renderer) -> None:
        self.flows = flows
        self.renderer = renderer

    def register(self) -> None:
        effects: dict[str, Effect] = {
            "store_checkin": self.store_checkin,
            "share_checkin": self.share_checkin,
            "send_trend": self.send_trend,
            "store_appreciation": self.store_appreciation,
            "plan_metime": self.plan_metime,
            "plan_together": self.plan_together,
        }
        self.flows.effects.update(effects)
        self.flows.seeds["appreciations_this_week"] = self.appreciations_this_week
        # Which written variant a template shows: a different one each week (see week_number).
        self.flows.seeds["week"] = lambda _conn, _couple_id, now: {"week": week_number(now)}
        assert set(self.flows.effects) >= EFFECTS and set(self.flows.seeds) >= SEEDS

    @staticmethod
    def appreciations_this_week(conn: Connection, couple_id: int, now: datetime) -> dict[str, Any]:
        """The appreciations sent in the last 7 days: a starting point for the meeting."""
        rows = conn.execute(
            select(APPRECIATIONS.c.author_id, APPRECIATIONS.c.text)
            .where(
                APPRECIATIONS.c.couple_id == couple_id,
                APPRECIATIONS.c.created_at >= now - timedelta(days=7),
            )
            .order_by(APPRECIATIONS.c.created_at)
        ).all()
        couple = RunStore.couple(conn, couple_id)
        names = couple.members if couple else {}
        return {
            "this_week": [
                {
                    "name": names[r.author_id].name if r.author_id in names else "",
                    "text": r.text,
                    "by": r.author_id,
                }
                for r in rows
            ]
        }

    # ----- check-ins -----------------------------------------------------------------------

    def store_checkin(
        self,
        conn: Connection,
        row: RunRow,
        couple: CoupleView,
        params: dict[str, Any],
        now: datetime,
    ) -> list[Outgoing]:
        person = params["_starter"]
        first = (
            conn.execute(
                select(CHECKINS.c.id).where(CHECKINS.c.partner_id == person).limit(1)
            ).first()
            is None
        )
        CheckIns.add(
            conn,
            partner_id=params["_starter"],
            spectrum=float(params.get("spectrum") or 0),
            leaning=str(params.get("leaning") or "interdependent")[:32],
            autonomy=_int(params.get("autonomy")),
            competence=_int(params.get("competence")),
            relatedness=_int(params.get("relatedness")),
            shared=False,
            created_at=now,
        )
        if not first:
            return []
        # The second onboarding card, now that the three needs were just rated.
        partner = next((m.name for pid, m in couple.members.items() if pid != person), "")
        card = self.renderer.render("common/onboarding_needs", partner=partner)
        return [Outgoing(person, card)]

    def _latest(self, conn: Connection, person: int) -> Any:
        return (
            conn.execute(
                select(CHECKINS)
                .where(CHECKINS.c.partner_id == person)
                .order_by(CHECKINS.c.created_at.desc(), CHECKINS.c.id.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )

    def share_checkin(
        self,
        conn: Connection,
        row: RunRow,
        couple: CoupleView,
        params: dict[str, Any],
        now: datetime,
    ) -> list[Outgoing]:
        """Both or nothing: each sees the other's latest check-in once both agreed to share."""
        me, partner = _me_and_partner(params, couple)
        mine = self._latest(conn, me)
        if mine is None or partner is None:
            return []
        CheckIns.share(conn, mine["id"])
        theirs = self._latest(conn, partner)
        if theirs is None or not theirs["shared"]:
            return [
                Outgoing(
                    me,
                    self.renderer.render(
                        "common/checkin_share_waiting", partner=couple.members[partner].name
                    ),
                )
            ]
        return [
            Outgoing(
                to,
                self.renderer.render(
                    "common/checkin_shared", name=couple.members[about].name, checkin=dict(data)
                ),
            )
            for to, about, data in ((me, partner, theirs), (partner, me, mine))
        ]

    def send_trend(
        self,
        conn: Connection,
        row: RunRow,
        couple: CoupleView,
        params: dict[str, Any],
        now: datetime,
    ) -> list[Outgoing]:
        me = params["_starter"]
        rows = (
            conn.execute(
                select(CHECKINS).where(CHECKINS.c.partner_id == me).order_by(CHECKINS.c.created_at)
            )
            .mappings()
            .all()
        )
        if len(rows) < 2:
            return [Outgoing(me, self.renderer.render("common/trend_too_short"))]
        first, last = rows[0]["spectrum"], rows[-1]["spectrum"]
        line = self.renderer.render(
            "common/trend_line",
            count=len(rows),
            first=first,
            last=last,
            closer=abs(last) < abs(first),
            same=abs(last) == abs(first),
        )
        keys = ("spectrum", "autonomy", "competence", "relatedness")
        points = tuple({k: r[k] for k in keys} for r in rows)
        labels = self.renderer.label("common/trend_chart_labels")
        # drawn by the sender, after the commit, with its words in the chat's language
        return [Outgoing(me, line, chart=points, chart_labels=labels)]

    # ----- appreciations and "you" time ----------------------------------------------------

    def store_appreciation(
        self,
        conn: Connection,
        row: RunRow,
        couple: CoupleView,
        params: dict[str, Any],
        now: datetime,
    ) -> list[Outgoing]:
        me, partner = _me_and_partner(params, couple)
        Appreciations.add(conn, couple.id, me, partner, str(params.get("text") or ""), now)
        return []

    def plan_metime(
        self,
        conn: Connection,
        row: RunRow,
        couple: CoupleView,
        params: dict[str, Any],
        now: datetime,
    ) -> list[Outgoing]:
        tell = params.get("tell_partner") == "tell"
        return self._plan(conn, couple, params, now, together=False, tell=tell)

    def plan_together(
        self,
        conn: Connection,
        row: RunRow,
        couple: CoupleView,
        params: dict[str, Any],
        now: datetime,
    ) -> list[Outgoing]:
        # Both said yes on their own screens (the flow told them): nothing more to send.
        return self._plan(conn, couple, params, now, together=True, tell=True)

    def _plan(
        self,
        conn: Connection,
        couple: CoupleView,
        params: dict[str, Any],
        now: datetime,
        *,
        together: bool,
        tell: bool,
    ) -> list[Outgoing]:
        me, partner = _me_and_partner(params, couple)
        timezone = (
            conn.execute(select(COUPLES.c.timezone).where(COUPLES.c.id == couple.id)).scalar()
            or "UTC"
        )
        try:
            slot = parse_weekly_slot(str(params.get("when") or ""))
        except ParseError:
            return []  # the flow only gets here with a time it already checked
        at = next_weekly(now, slot.day, slot.time, timezone)
        MeTimes.add(
            conn,
            partner_id=me,
            couple_id=couple.id,
            # a suggested answer is kept in English: `suggested` says it again per reader
            what=english(params.get("what") or "")[:500],
            at=at,
            tell_partner=tell,
            together=together,
            status="planned",
            created_at=now,
        )
        if together or not tell or partner is None:
            return []  # time together was proposed and accepted in the flow itself
        return [
            Outgoing(
                partner,
                self.renderer.render(
                    "common/metime_partner_note",
                    name=couple.members[me].name,
                    what=params.get("what"),
                    when=f"{slot.day_name} {slot.time}",
                ),
            )
        ]
