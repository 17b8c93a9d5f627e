"""One piece of work, one transaction: the claim of the update that caused it, the state it
changed, and every message it wants to send commit together or not at all."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.core.outbox import REPLY, Reply
from bot.storage.db import Database
from bot.storage.inbox import Inbox
from bot.storage.outbox import Outbox, Queued
from bot.storage.partners import Partners
from bot.storage.voices import Hint, translated_notice, voices


@dataclass
class Done:
    reply: Reply
    queued: list[Queued]  # leased to this process's sender, to send right after the commit


class UnitOfWork:
    def __init__(self, db: Database, inbox: Inbox, outbox: Outbox) -> None:
        self.db = db
        self.inbox = inbox
        self.outbox = outbox
        # Updates whose claim this process committed (the dispatcher need not mark them).
        self.claimed: set[int] = set()
        # False in web processes: no sender here, so nothing is leased; a worker's sender
        # takes the rows (woken by the outbox's NOTIFY on PostgreSQL).
        self.sends_here = True

    def run(
        self,
        work: Callable[[], Reply],
        *,
        update_id: int | None = None,
        priority: int = REPLY,
        couple_id: int | None = None,
        hint: Hint | None = None,
    ) -> Done | None:
        """Do `work` in one transaction; None when `update_id` was already handled. `hint`:
        the person whose update this is (their toast is in their language)."""
        with self.db.unit() as conn:
            if update_id is not None and not self.inbox.claim(conn, update_id):
                return None
            if hint is not None and hint[1]:  # their Telegram language, as Telegram says it now
                Partners.remember_language(conn, hint[0], hint[1])
            reply = work()
            queued = self.outbox.put(
                conn,
                reply.messages,
                priority=priority,
                couple_id=couple_id,
                lease=self.sends_here,
                hint=hint,
            )
            if reply.notice is not None and hint is not None:
                voice = voices(conn, [hint[0]], hint)[hint[0]]
                reply.notice = translated_notice(reply.notice, voice)
        if not self.sends_here:
            queued = []
        if update_id is not None:
            self.claimed.add(update_id)
        return Done(reply, queued)
