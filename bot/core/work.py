"""One piece of work, one transaction: the claim of the update that caused it, the state it
changed, and every message it wants to send commit together or not at all.

The unit is visible: services are handed a `Tx` (the transaction's connection and the one
moment the work happens at) and never open a transaction of their own, so what a piece of
work wrote is plain from its signature (tests/test_layers.py holds the rule).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from bot.core.outbox import REPLY, Reply
from bot.core.way_out import WayOut, said_notice
from bot.storage.db import Database, utcnow
from bot.storage.inbox import Inbox
from bot.storage.outbox import Outbox, Queued
from bot.storage.partners import Partners
from bot.storage.voices import Hint, voices
from bot.words.languages import ENGLISH, Voice


@dataclass(frozen=True)
class Tx:
    """The unit of work as a service sees it: what it reads and writes goes through `conn`,
    and every decision about time reads `now` (one moment for the whole piece of work)."""

    conn: Connection
    now: datetime


@dataclass
class Done:
    reply: Reply
    queued: list[Queued]  # leased to this process's sender, to send right after the commit
    toast: str | None = None  # the notice, said in the voice of the person who pressed


class UnitOfWork:
    def __init__(
        self, db: Database, inbox: Inbox, outbox: Outbox, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.db = db
        self.inbox = inbox
        self.outbox = outbox
        self.way_out = WayOut(outbox)
        self.clock = clock  # the one clock (a test may hand it a controlled one)
        # Updates whose claim this process committed (the dispatcher need not mark them).
        self.claimed: set[int] = set()
        # False in web processes: no sender here, so nothing is leased; a worker's sender
        # takes the rows (woken by the outbox's NOTIFY on PostgreSQL).
        self.sends_here = True

    @contextmanager
    def open(self) -> Iterator[Tx]:
        """A unit for work that answers nobody's update (the sender's reports, the Mini App,
        a voice note heard later): the same transaction, handed over the same way."""
        with self.db.unit() as conn:
            yield Tx(conn, self.clock())

    @contextmanager
    def reading(self) -> Iterator[Tx]:
        """A look before the unit (the safety screen): a read connection, no write lock."""
        with self.db.connect() as conn:
            yield Tx(conn, self.clock())

    def run(
        self,
        work: Callable[[Tx], Reply],
        *,
        update_id: int | None = None,
        priority: int = REPLY,
        couple_id: int | None = None,
        hint: Hint | None = None,
    ) -> Done | None:
        """Do `work` in one transaction; None when `update_id` was already handled. `hint`:
        the person whose update this is (their toast is in their language)."""
        with self.open() as tx:
            conn = tx.conn
            if update_id is not None and not self.inbox.claim(conn, update_id):
                return None
            if hint is not None and hint[1]:  # their Telegram language, as Telegram says it now
                Partners.remember_language(conn, hint[0], hint[1])
            reply = work(tx)
            pressed = reply.notice is not None and hint is not None
            # One look-up of who hears what, for the messages and the toast alike.
            chats = [m.chat_id for m in reply.messages]
            heard = voices(conn, chats, hint) if chats or pressed else {}
            queued = self.way_out.put(
                conn,
                reply.messages,
                heard=heard,
                priority=priority,
                couple_id=couple_id,
                lease=self.sends_here,
            )
            toast = None
            if reply.notice is not None:  # nobody's update: nobody's language but English
                voice = heard[hint[0]] if hint is not None else Voice(ENGLISH)
                toast = said_notice(reply.notice, voice)
        if not self.sends_here:
            queued = []
        if update_id is not None:
            self.claimed.add(update_id)
        return Done(reply, queued, toast)
