"""What an operator watches (prometheus-client): updates handled and how long each took,
the outbox's depth and oldest age, nudges due and late, Telegram's 429s, errors by kind.

Counters live in the process; the database figures are read when Prometheus scrapes, so
every web and worker process reports the same outbox and nudge numbers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from bot.storage.db import Database, utcnow
from bot.storage.tables import COUPLES, OUTBOX

log = logging.getLogger(__name__)

UPDATES = Counter("uscoach_updates_handled", "Updates handled (each once, whatever the retries)")


def updates_handled() -> float:
    """Updates this process has handled so far (a quiet moment is when it stops growing)."""
    # The counter's own samples: the registry's would also read the database's figures.
    return sum(s.value for m in UPDATES.collect() for s in m.samples if s.name.endswith("_total"))


STEP_SECONDS = Histogram(
    "uscoach_update_seconds",
    "Time to handle one update: the flow step, its writes and its outbox rows",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
SENT = Counter("uscoach_messages_sent", "Messages Telegram accepted")
RATE_LIMITED = Counter("uscoach_telegram_429", "Bot API answers 429 Too Many Requests")
ERRORS = Counter("uscoach_errors", "Errors, by kind", ["kind"])
NUDGES = Counter("uscoach_nudges_found", "Scheduled actions found due and done")
# A clock that stopped ticking sends nothing and raises no error: this shows it.
TICKS = Counter("uscoach_clock_ticks", "Rounds of the one clock that looked for due work")
WEBHOOK_IN_FLIGHT = Gauge(
    "uscoach_webhook_in_flight", "Webhook requests being stored and handled right now"
)
WEBHOOK = Counter("uscoach_webhook_requests", "Webhook requests, by answer", ["status"])

LATE = timedelta(minutes=1)  # a nudge still undone this long after its time is late


class DatabaseFigures(Collector):
    """Outbox depth and oldest age, weekly prompts due and late, read at scrape time."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = utcnow()
        try:
            with self.db.connect() as conn:
                depth, oldest = conn.execute(
                    select(func.count(), func.min(OUTBOX.c.created_at)).select_from(OUTBOX)
                ).one()
                due, late = (
                    conn.execute(
                        select(func.count())
                        .select_from(COUPLES)
                        .where(
                            COUPLES.c.status == "active",
                            COUPLES.c.paused.is_(False),
                            COUPLES.c.next_prompt_at <= moment,
                        )
                    ).scalar()
                    for moment in (now, now - LATE)
                )
        except Exception:  # a scrape must not fail because the database blinked
            log.warning("metrics: could not read the database", exc_info=True)
            return
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=now.tzinfo)
        yield GaugeMetricFamily("uscoach_outbox_depth", "Messages waiting to be sent", depth)
        yield GaugeMetricFamily(
            "uscoach_outbox_oldest_seconds",
            "Age of the oldest message waiting (0 when none)",
            (now - oldest).total_seconds() if oldest is not None else 0.0,
        )
        yield GaugeMetricFamily("uscoach_nudges_due", "Weekly prompts due now", due or 0)
        yield GaugeMetricFamily(
            "uscoach_nudges_late", "Weekly prompts due more than a minute ago", late or 0
        )


_watching: DatabaseFigures | None = None


def watch(db: Database) -> None:
    """Report this database's figures (once per process; a later call switches database)."""
    global _watching
    if _watching is not None:
        REGISTRY.unregister(_watching)
    _watching = DatabaseFigures(db)
    REGISTRY.register(_watching)


def exposition() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
