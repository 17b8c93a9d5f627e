"""The one way out: every message waits here until Telegram accepted it.

Rows are written in the transaction of the change that produced them. A sender leases a
row while it sends it; a lease that runs out (the sender died) frees the row for the next
one, so a crash makes a message late, never lost. Rows of one chat go out in id order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, insert, or_, select, text, update

from bot.core.outbox import SCHEDULED, Button, Outgoing
from bot.storage.db import Database, utcnow
from bot.storage.tables import OUTBOX

OUTBOX_CHANNEL = "uscoach_outbox"  # PostgreSQL NOTIFY channel: new rows to send

# How long a sender holds a message; renewed while it waits out a retry. After a crash,
# a message that was in flight waits at most this long for the next sender.
LEASE = timedelta(seconds=20)


@dataclass(frozen=True)
class Queued:
    """A stored message, as the sender sees it."""

    id: int
    message: Outgoing
    priority: int
    couple_id: int | None = None


def _said(words: object) -> str:
    """Words as they were said to their reader: storage never says a Text itself."""
    if not isinstance(words, str):
        raise TypeError(f"the outbox stores words already said, not {type(words).__name__}")
    return words


def _row(message: Outgoing) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if message.force_reply:
        extra["force_reply"] = True
    if message.placeholder:
        extra["placeholder"] = _said(message.placeholder)
    if message.ask_location:
        extra["ask_location"] = _said(message.ask_location)
    if message.remove_keyboard:
        extra["remove_keyboard"] = True
    if message.mention:
        extra["mention"] = list(message.mention)
    if message.reply_to_message_id:
        extra["reply_to"] = message.reply_to_message_id
    if message.chart is not None:
        extra["chart"] = list(message.chart)
    if message.chart_labels:
        extra["chart_labels"] = _said(message.chart_labels)
    return {
        "chat_id": message.chat_id,
        "text": _said(message.text),
        "buttons": [
            [
                {
                    "label": _said(b.label),
                    "data": b.data or "",
                    "url": b.url or "",
                    "app": b.web_app,
                }
                for b in row
            ]
            for row in message.buttons
        ],
        "extra": extra,
        "document_name": message.document[0] if message.document else None,
        "document": message.document[1] if message.document else None,
    }


def _message(row: Any) -> Outgoing:
    extra = row.extra or {}
    mention = extra.get("mention")
    return Outgoing(
        chat_id=row.chat_id,
        text=row.text,
        buttons=tuple(
            tuple(
                Button(
                    b["label"],
                    data=b["data"] or None,
                    url=b["url"] or None,
                    web_app=b.get("app") or None,
                )
                for b in r
            )
            for r in row.buttons
        ),
        force_reply=bool(extra.get("force_reply")),
        placeholder=extra.get("placeholder"),
        ask_location=extra.get("ask_location"),
        remove_keyboard=bool(extra.get("remove_keyboard")),
        mention=(int(mention[0]), str(mention[1])) if mention else None,
        reply_to_message_id=extra.get("reply_to"),
        document=(row.document_name, row.document) if row.document is not None else None,
        chart=tuple(extra["chart"]) if "chart" in extra else None,
        chart_labels=extra.get("chart_labels"),
    )


# Built once (the hot path binds values only; see bot/storage/runs.py).
_PUT = insert(OUTBOX)
_RENEW = (
    update(OUTBOX)
    .where(OUTBOX.c.id.in_(bindparam("ids", expanding=True)), OUTBOX.c.claimed_until.is_not(None))
    .values(claimed_until=bindparam("until"))
)
_SENT = delete(OUTBOX).where(OUTBOX.c.id.in_(bindparam("ids", expanding=True)))


class Outbox:
    def __init__(self, db: Database, lease: timedelta = LEASE) -> None:
        self.db = db
        self.lease = lease

    def put(
        self,
        conn: Connection,
        messages: list[Outgoing],
        *,
        priority: int = SCHEDULED,
        couple_id: int | None = None,
        at: datetime | None = None,
        lease: bool = False,
    ) -> list[Queued]:
        """Store messages, already said in their chats' voices (bot/core/way_out.py), inside
        the caller's transaction. With `lease`, the caller's sender holds them already and
        sends them right after the commit (no second look-up)."""
        now = utcnow()
        queued = []
        for message in messages:
            values = _row(message) | {
                "couple_id": couple_id,
                "priority": priority,
                "deliver_at": at or now,
                "claimed_until": now + self.lease if lease else None,
                "attempts": 0,
                "created_at": now,
            }
            result = conn.execute(_PUT, values)
            queued.append(
                Queued(result.inserted_primary_key[0], message, priority, couple_id)  # type: ignore[index]
            )
        if queued and conn.dialect.name == "postgresql":
            # Delivered at commit (and only then): wakes the sender in whichever worker sends.
            conn.execute(text(f"NOTIFY {OUTBOX_CHANNEL}"))
        return queued

    def claim_due(self, now: datetime, limit: int = 200) -> list[Queued]:
        """Lease the messages that may go now, replies first, in id order within a chat.

        A chat with a message still held (in flight, or waiting out a retry) is skipped,
        so nothing overtakes it.
        """
        free = or_(OUTBOX.c.claimed_until.is_(None), OUTBOX.c.claimed_until < now)
        with self.db.begin() as conn:
            busy = select(OUTBOX.c.chat_id).where(OUTBOX.c.claimed_until >= now)
            rows = conn.execute(
                select(OUTBOX)
                .where(OUTBOX.c.deliver_at <= now, free, OUTBOX.c.chat_id.not_in(busy))
                .order_by(OUTBOX.c.priority, OUTBOX.c.id)
                .limit(limit)
                # PostgreSQL: rows another sender is leasing right now are skipped, not
                # waited for (SQLite's BEGIN IMMEDIATE already lets one writer in at a time).
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return []
            ids = [r.id for r in rows]
            # Only what this UPDATE leased is ours: under READ COMMITTED another sender
            # may have leased some of them between our read and our write.
            leased = set(
                conn.execute(
                    update(OUTBOX)
                    .where(and_(OUTBOX.c.id.in_(ids), free))
                    .values(claimed_until=now + self.lease)
                    .returning(OUTBOX.c.id)
                ).scalars()
            )
        return [Queued(r.id, _message(r), r.priority, r.couple_id) for r in rows if r.id in leased]

    def hold(self, outbox_id: int, until: datetime) -> None:
        """Keep holding a message (waiting out a retry), so no other sender takes it."""
        with self.db.begin() as conn:
            conn.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id == outbox_id)
                .values(claimed_until=until + self.lease, attempts=OUTBOX.c.attempts + 1)
            )

    def renew(self, ids: list[int], now: datetime) -> None:
        """Keep holding messages that wait their turn in this sender's lanes."""
        with self.db.begin() as conn:
            conn.execute(_RENEW, {"ids": ids, "until": now + self.lease})

    def release(self, ids: list[int]) -> None:
        """Give messages back unsent (the sender is stopping): the next one sends them."""
        if ids:
            with self.db.begin() as conn:
                conn.execute(update(OUTBOX).where(OUTBOX.c.id.in_(ids)).values(claimed_until=None))

    def sent(self, outbox_id: int) -> None:
        """Telegram accepted it (or refused it for good): it leaves the outbox."""
        with self.db.begin() as conn:
            conn.execute(delete(OUTBOX).where(OUTBOX.c.id == outbox_id))

    @staticmethod
    def forget_chat(conn: Connection, chat: int) -> None:
        """Erasure: nothing still waiting goes to a person who was forgotten."""
        conn.execute(delete(OUTBOX).where(OUTBOX.c.chat_id == chat))

    def sent_many(self, ids: list[int]) -> None:
        """A batch of messages Telegram accepted."""
        with self.db.begin() as conn:
            conn.execute(_SENT, {"ids": ids})

    def drop_chat(self, conn: Connection, chat_id: int) -> int:
        """A chat we can no longer write to (403): nothing waiting for it can arrive."""
        return int(conn.execute(delete(OUTBOX).where(OUTBOX.c.chat_id == chat_id)).rowcount)

    def move_chat(self, conn: Connection, old: int, new: int) -> None:
        """A group became a supergroup: what waits for the old id goes to the new one."""
        conn.execute(update(OUTBOX).where(OUTBOX.c.chat_id == old).values(chat_id=new))
