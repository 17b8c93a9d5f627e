"""Services driven directly on a controlled clock: no Telegram, no bot process. A week, a DST
change or a downtime takes milliseconds (tests/coaching/test_nudges.py and the tests that share
its clock). The `world` fixture that builds them is in tests/conftest.py."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, select

from bot.coaching.services import Services
from bot.core.events import Event, Person
from bot.core.outbox import Button, Outgoing
from bot.storage.models import Couple
from tests.helpers.rig import TOKEN, in_units

ALEX, SAM = Person(1001, "Alex"), Person(1002, "Sam")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def event(
    person: Person,
    now: datetime,
    *,
    text: str | None = None,
    button: str | None = None,
    chat: int | None = None,
) -> Event:
    chat_id = chat if chat is not None else person.id
    return Event(
        person=person, chat_id=chat_id, in_group=chat_id < 0, at=now, text=text, button=button
    )


def pair_services(services: Services, clock: Clock, timezone: str, day: str, at: str) -> int:
    couples = in_units(services).couples
    couples.register(ALEX)
    couples.register(SAM)
    invite = couples.invite(event(ALEX, clock.now))
    code = invite.messages[0].text.split("?start=")[1].split()[0]
    couples.join(event(SAM, clock.now), code)
    couples.set_timezone(event(ALEX, clock.now), timezone)
    couples.schedule(event(ALEX, clock.now), f"{day} {at}")
    with Session(services.engine) as session:
        couple = session.exec(select(Couple)).one()
        assert couple.id is not None
        return couple.id


def run_clock(
    services: Services, clock: Clock, until: datetime, step: timedelta = timedelta(minutes=10)
) -> list[tuple[datetime, Delivery]]:
    """Tick like the bot's job does, every `step`, and report what went out as sent."""
    sent: list[tuple[datetime, Delivery]] = []
    while clock.now < until:
        clock.now += step
        sent += [(clock.now, d) for d in collect_all(services, clock.now)]
    return sent


@dataclass
class Delivery:
    """Outbox messages for one chat, in order, as the sender would take them."""

    chat_id: int
    items: list[tuple[int, Outgoing]] = field(default_factory=list)

    @property
    def messages(self) -> list[Outgoing]:
        return [message for _id, message in self.items]


def text_of(message: Outgoing) -> str:
    """A said message's text: the outbox keeps it, and `heard` gives it, said in its reader's
    voice, a str (a `Text` still unsaid here would be a bug, never something to say in
    English for the test)."""
    assert isinstance(message.text, str), f"not said: {message.text!r}"
    return message.text


def label_of(button: Button) -> str:
    """A said button's label (see `text_of`)."""
    assert isinstance(button.label, str), f"not said: {button.label!r}"
    return button.label


def collect(services: Services, now: datetime, limit: int = 100_000) -> tuple[list[Delivery], bool]:
    """Queue what is due and lease what may go now, by chat, the way the sender does; and
    whether nudges were queued (call again until nothing is left)."""
    found = services.nudges.queue_due(now, limit)
    deliveries: dict[int, Delivery] = {}
    for item in services.outbox.claim_due(now, limit):
        chat = item.message.chat_id
        deliveries.setdefault(chat, Delivery(chat)).items.append((item.id, item.message))
    return list(deliveries.values()), found > 0


def collect_all(services: Services, now: datetime) -> list[Delivery]:
    """Everything due at `now`, marked as accepted by Telegram."""
    deliveries: list[Delivery] = []
    while True:
        batch, more = collect(services, now, limit=50)
        deliveries += batch
        for delivery in batch:
            for outbox_id, _message in delivery.items:
                services.outbox.sent(outbox_id)
        if not batch and not more:
            return deliveries


def prompts(sent: list[tuple[datetime, Delivery]]) -> list[tuple[datetime, list[Delivery]]]:
    """Weekly prompts, grouped by the moment they went out."""
    grouped: dict[datetime, list[Delivery]] = {}
    for at, delivery in sent:
        if any("State of the Union" in text_of(m) for m in delivery.messages):
            grouped.setdefault(at, []).append(delivery)
    return list(grouped.items())


def press(
    services: Services, person: Person, reply_messages: list[Outgoing], label: str, now: datetime
) -> list[Outgoing]:
    data = next(
        b.data for m in reply_messages for row in m.buttons for b in row if b.label == label
    )
    return in_units(services).button(event(person, now, button=data)).messages


STEP = timedelta(minutes=30)  # weeks of ticks: every half hour is enough here


def recaps(sent: list[tuple[datetime, Delivery]]) -> list[tuple[str, int, str]]:
    return [
        (t.strftime("%a %d %H:%M"), d.chat_id, text_of(m))
        for t, d in sent
        for m in d.messages
        if "<b>Your week" in text_of(m)  # the recap's heading
    ]


TWO_PROCESSES = """
import json, sys
from datetime import datetime
from bot.config import load_settings
from bot.coaching.services import build_services
services = build_services(load_settings(telegram_bot_token=sys.argv[1],
                                        database_url=sys.argv[2]))
now = datetime.fromisoformat(sys.argv[3])
services.nudges.queue_due(now, 100_000)
print(json.dumps(sorted({i.message.chat_id for i in services.outbox.claim_due(now, 100_000)})))
"""


def two_clocks(url: str, now: str) -> list[list[int]]:
    """Two processes queue what is due at `now` at once; the chats each took, fewest first."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", TWO_PROCESSES, TOKEN, url, now],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    return sorted((json.loads(p.communicate(timeout=60)[0]) for p in processes), key=len)
