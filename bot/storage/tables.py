"""The tables, named for the couple's world: SQLAlchemy Core, the one definition of the schema.

The bot reads and writes these tables directly. It never loads an ORM: SQLModel's classes and
SQLAlchemy's ORM cost a start about 0.2 s of imports and class building before the first
reply (bot/storage/models.py maps classes onto these tables for tests and scripts).

Invariants live in the database as well as in code: a partner has one `couple_id`
column (so at most one couple), and `(couple_id, seat)` is unique with seat 1 or 2
(so a couple has at most two partners).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

from bot.storage.types import UtcDateTime

METADATA = MetaData()


def _id() -> Column[Any]:
    return Column("id", Integer, primary_key=True)


def _text(name: str, length: int | None = None, **kwargs: Any) -> Column[Any]:
    kwargs.setdefault("nullable", False)
    return Column(name, String(length), **kwargs)


def _int(name: str, **kwargs: Any) -> Column[Any]:
    kwargs.setdefault("nullable", False)
    return Column(name, Integer, **kwargs)


def _flag(name: str) -> Column[Any]:
    return Column(name, Boolean, nullable=False, default=False)


def _at(name: str, *, nullable: bool = True, index: bool = False) -> Column[Any]:
    return Column(name, UtcDateTime(), nullable=nullable, index=index)


def _telegram_id(name: str, *, nullable: bool = False, index: bool | None = None) -> Column[Any]:
    # Telegram's user and chat ids pass 2^31.
    return Column(name, BigInteger, nullable=nullable, index=index)


def _json(name: str) -> Column[Any]:
    return Column(name, JSON, nullable=False)


COUPLES = Table(
    "couple",
    METADATA,
    _id(),
    _text("status", 16, default="active"),
    _text("timezone", 64),
    # 0 = Monday ... 6 = Sunday (Python's weekday()), not PTB's Sunday-first count.
    _int("meeting_day", nullable=True),
    _text("meeting_time", 5, nullable=True),  # "HH:MM", the couple's local time
    _flag("paused"),
    # When the next weekly prompt is due (UTC), derived from day, time and timezone;
    # the scheduler's source of truth. A one-off "tomorrow, same time" is `snooze_at`.
    _at("next_prompt_at", index=True),
    _at("snooze_at", index=True),
    Column("group_chat_id", BigInteger, unique=True, nullable=True),
    _at("created_at", nullable=False),
    # The group's language, set with /language in the group; None: the first partner's.
    _text("language", 8, nullable=True),
)

PARTNERS = Table(
    "partner",
    METADATA,
    # The Telegram user id; private chats with the bot share this id.
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    _text("first_name", 128),
    _text("language_code", 16, nullable=True),  # Telegram's, as sent
    _text("language", 8, nullable=True),  # their /language choice
    # The country whose help numbers they chose in /safe (else: timezone, language region).
    _text("country", 2, nullable=True),
    # How they are addressed where grammar has gender (Spanish, Arabic): "m", "f" or "n"
    # (without gender); None until they chose (texts then use their neutral wording).
    _text("form", 1, nullable=True),
    Column("couple_id", Integer, ForeignKey("couple.id"), nullable=True, index=True),
    _int("seat", nullable=True),
    _flag("unreachable"),
    # No private nudge or reminder in this local window; they wait for its end.
    _text("quiet_start", 5, default="22:00"),
    _text("quiet_end", 5, default="08:00"),
    _at("created_at", nullable=False),
    # After a safety answer (bot/safety): when it was given, the one gentle check due the
    # next day, "pause all nudges quietly" (this person's private nudges only, the partner
    # sees no change), and "leave quietly" noted on the partner left behind, who learns the
    # couple ended only when they next use it.
    _at("safety_at"),
    _at("safety_check_at", index=True),
    _flag("hushed"),
    _flag("couple_ended"),
    UniqueConstraint("couple_id", "seat", name="uq_partner_couple_seat"),
    CheckConstraint("seat IS NULL OR seat IN (1, 2)", name="ck_partner_seat"),
    CheckConstraint("(couple_id IS NULL) = (seat IS NULL)", name="ck_partner_couple_seat"),
)

INVITES = Table(
    "invite",
    METADATA,
    Column("code", String(64), primary_key=True),
    _telegram_id("inviter_id", index=True),
    _at("created_at", nullable=False),
    _at("expires_at", nullable=False),
    _at("used_at"),
    _telegram_id("used_by", nullable=True),
    _flag("revoked"),
)

# Every update Telegram gave us, stored before Telegram is told we have it. `processed_at` is
# set in the same transaction as the work the update caused, so an update is handled exactly
# once: a crash before that commit leaves it to do again.
INBOX = Table(
    "inboxupdate",
    METADATA,
    Column("update_id", BigInteger, primary_key=True, autoincrement=False),
    # The chat it belongs to: updates of one chat are handled in order.
    _telegram_id("chat_id", nullable=True),
    _json("payload"),
    _at("received_at", nullable=False),
    _at("processed_at", index=True),
)

# One couple's (or one partner's) walk through a flow. `step` counts the states entered, so a
# button made at an earlier step is stale. `version` counts every write: each one is `UPDATE
# ... WHERE id = :id AND version = :seen`, so two answers at once can never advance a run
# twice. `active_key` is unique while the run is active and NULL afterwards, which lets the
# database enforce one active run per couple (group flows) or per person.
RUNS = Table(
    "flowrun",
    METADATA,
    _id(),
    _text("flow_id", 64, index=True),
    _int("flow_version"),
    Column("couple_id", Integer, ForeignKey("couple.id"), nullable=False, index=True),
    _telegram_id("started_by"),
    _text("state", 64),
    _int("step", default=0),
    _int("version", default=0),
    _text("status", 16, default="active"),
    _json("roles"),
    _json("context"),
    # The engine's bookkeeping (bot/engine/marks.py): who was addressed, answered, wrote what.
    _json("marks"),
    _text("active_key", 64, nullable=True, unique=True),
    _flag("in_group"),
    _at("break_until", index=True),
    # A `wait:` step moves on by itself at this moment (the one clock finds it).
    _at("wake_at", index=True),
    # One gentle reminder per step, then the run expires (both set on every new step).
    _at("remind_at", index=True),
    _int("reminded_step", nullable=True),
    _at("expires_at", index=True),
    _at("created_at", nullable=False),
    _at("updated_at", nullable=False),
    _at("ended_at"),
)

AGREEMENTS = Table(
    "agreement",
    METADATA,
    _id(),
    Column("couple_id", Integer, ForeignKey("couple.id"), nullable=False, index=True),
    Column("run_id", Integer, ForeignKey("flowrun.id"), nullable=True),
    _telegram_id("author_id", nullable=True),
    _text("text", 4000),
    Column("follow_up", Date, nullable=True),
    _at("created_at", nullable=False),
    # The promised check-in: when it is due (the follow-up day at the couple's meeting time),
    # when it went out, and what the couple said (open, working, again, let_go; `history`
    # keeps each answer with its time).
    _at("follow_up_at", index=True),
    _at("followed_up_at"),
    _text("status", 16, default="open"),
    _json("history"),
)

# Every nudge, claimed before it is sent: the unique key makes it exactly once, even across
# restarts, clock changes, or two bot processes on one database.
NUDGES = Table(
    "nudgelog",
    METADATA,
    _id(),
    _int("couple_id", index=True),
    _text("kind", 32),  # weekly, snoozed, reminder, ...
    _text("slot", 64),  # the scheduled moment (UTC ISO) or run:step
    _text("status", 16, default="queued"),  # queued (in the outbox), skipped
    _at("claimed_at", nullable=False),
    UniqueConstraint("couple_id", "kind", "slot", name="uq_nudge_slot"),
)

# A wake-up the clock owes: at `due_at` the handler of `kind` looks at `key` (a couple, or
# "daily"), does what is due and sets the next wake-up. A taken row carries a lease, so a
# second process skips it and a crash hands it on when the lease runs out.
TIMERS = Table(
    "timer",
    METADATA,
    _id(),
    _text("kind", 32),  # recap, start_small, onboarding, retention
    _text("key", 64),
    _at("due_at", nullable=False, index=True),
    _at("lease_until"),
    UniqueConstraint("kind", "key", name="uq_timer_kind_key"),
)

# Every message the bot sends, written in the same transaction as the change that produced it
# and deleted once Telegram accepted it (or refused it for good): a crash in between means a
# late message, never a lost one. Quiet hours and flood limits simply set a later
# `deliver_at`; `priority` 0 is a reply to someone who just acted.
OUTBOX = Table(
    "outboxmessage",
    METADATA,
    _id(),
    _telegram_id("chat_id", index=True),
    _int("couple_id", nullable=True, index=True),
    _text("text"),
    _json("buttons"),
    # force_reply, placeholder, mention, reply_to, chart: what else the message carries.
    _json("extra"),
    _text("document_name", 128, nullable=True),
    Column("document", LargeBinary, nullable=True),
    _int("priority", default=1),
    _at("deliver_at", nullable=False, index=True),
    # A sender holds a message until then; if it dies meanwhile, another may take it.
    _at("claimed_until"),
    _int("attempts", default=0),
    _at("created_at", nullable=False),
    # An id is never used twice (SQLite would reuse the highest after a delete): a sender
    # that still holds an id must never mistake a new message for the one it sent.
    sqlite_autoincrement=True,
)

# One private self-check: where the person stands on the spectrum, and their needs.
CHECKINS = Table(
    "checkin",
    METADATA,
    _id(),
    _telegram_id("partner_id", index=True),
    # -1 codependent ... 0 interdependent ... +1 hyper-independent
    Column("spectrum", Float, nullable=False),
    _text("leaning", 32),
    _int("autonomy"),  # 1 to 5, as are the two below
    _int("competence"),
    _int("relatedness"),
    _flag("shared"),  # the person agreed to show this one to the partner
    _at("created_at", nullable=False),
)

APPRECIATIONS = Table(
    "appreciation",
    METADATA,
    _id(),
    _int("couple_id", nullable=True, index=True),
    _telegram_id("author_id", index=True),
    _telegram_id("recipient_id", nullable=True),
    _text("text", 4000),
    _at("created_at", nullable=False),
)

# Planned "you" time, or time together (`together`): a reminder when it comes, a "how was
# it?" after, to the planner alone or to both.
METIMES = Table(
    "metime",
    METADATA,
    _id(),
    _telegram_id("partner_id", index=True),
    _int("couple_id", nullable=True, index=True),
    _text("what", 500),
    _at("at", nullable=False, index=True),
    _flag("tell_partner"),
    _flag("together"),
    _text("status", 16, default="planned"),  # planned, reminded, asked
    _at("created_at", nullable=False),
)

# A voice note waiting to be heard, or heard and waiting for its speaker's "Use this". The
# audio is never kept: `file_id` fetches it from Telegram when its turn comes. The transcript
# is here only between "I heard: ..." and the speaker's choice; then it goes where typed words
# would (or nowhere) and the row is done. `turn` orders the queue fairly: a note's turn is its
# couple's previous waiting note's turn plus that note's length, so ten notes from one couple
# do not hold back another couple's one.
VOICE_NOTES = Table(
    "voicenote",
    METADATA,
    _id(),
    _telegram_id("update_id"),
    _telegram_id("person_id", index=True),
    _text("first_name", 64, default=""),
    _text("language_code", 16, nullable=True),
    _telegram_id("chat_id"),
    _int("message_id", default=0),  # the note's own message: answers reply to it
    _int("couple_id", nullable=True),
    _flag("in_group"),
    _text("file_id", 256),
    _int("seconds", default=0),
    _text("status", 16, default="waiting"),  # waiting, heard, done
    _at("turn", nullable=False, index=True),
    # A process listening to the note holds it until then; if it dies, another takes it.
    _at("claimed_until"),
    _int("attempts", default=0),
    _text("transcript", nullable=True),
    _at("created_at", nullable=False),
    UniqueConstraint("update_id"),
)
