"""Shared test rig: a local Bot API server, the real bot running against it, and a chat client."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot import PROJECT_ROOT
from bot.coaching import practices
from bot.coaching.couple_settings import reschedule
from bot.config import Settings, load_settings
from bot.emulator import BotApiServer, Conversation, Human
from bot.engine.check import check_flows
from bot.storage.db import make_engine, utcnow
from bot.storage.models import Couple, Partner
from bot.storage.rows import CoupleRow
from bot.storage.tables import COUPLES
from bot.telegram.main import serve

TOKEN = "123456:TEST-token-for-the-local-bot-api-server"


def settings_for(db_path: Path, base_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "telegram_bot_token": TOKEN,
        "telegram_api_base_url": base_url,
        "database_url": f"sqlite:///{db_path}",
        "poll_timeout": 5,
        # Tests send bursts to one group; the real limits are exercised in the benchmark.
        "flood_group_per_minute": 10_000,
        "flood_overall_per_second": 10_000,
        "flood_chat_per_second": 10_000,
        "nudge_tick_seconds": 0.2,
        "outbox_lease_seconds": 2,
        # The speech model loads when a test sends the first voice note, not in every test.
        "voice_load_at_start": False,
    }
    values.update(overrides)
    return load_settings(**values)


@dataclass
class RunningBot:
    settings: Settings
    task: asyncio.Task[None]
    stop: asyncio.Event

    async def shutdown(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 60)


async def start_bot(settings: Settings) -> RunningBot:
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(settings, stop, ready))
    waiter = asyncio.create_task(ready.wait())
    done, _ = await asyncio.wait({task, waiter}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        waiter.cancel()
        task.result()  # re-raise the start-up error
    if waiter not in done:
        raise AssertionError("the bot did not start within 60 s")
    return RunningBot(settings, task, stop)


@contextlib.asynccontextmanager
async def bot_running(settings: Settings) -> AsyncIterator[RunningBot]:
    running = await start_bot(settings)
    try:
        yield running
    finally:
        await running.shutdown()


@dataclass
class Rig:
    server: BotApiServer
    talk: Conversation
    db_path: Path
    bot: RunningBot
    engine: Engine
    database_url: str = ""

    async def restart(self, **overrides: Any) -> None:
        await self.bot.shutdown()
        if self.database_url:
            overrides.setdefault("database_url", self.database_url)
        self.bot = await start_bot(settings_for(self.db_path, self.server.base_url, **overrides))

    def person(self, name: str, **kwargs: Any) -> Human:
        person = self.talk.person(name, **kwargs)
        # Spanish and Arabic ask once how to address the person; tests/words/test_forms.py reads
        # the question and its answer, the others may leave it unread.
        for words in FORM_QUESTION:
            person.ignores(words)
        return person

    async def ticks(self, rounds: int = 2) -> None:
        """Wait until the bot's clock has looked for due work `rounds` more times: after
        that, anything due has been queued (a "nothing more came" check waits for this,
        never for a fixed time)."""
        await clock_ticks(rounds)


FORM_QUESTION = ("¿cómo quieres que te hable?", "بأيّ صيغة أخاطبك")


async def clock_ticks(rounds: int = 2, timeout: float = 60) -> None:
    from bot import metrics

    target = metrics.TICKS._value.get() + rounds
    await until(lambda: metrics.TICKS._value.get() >= target, timeout, f"{rounds} clock ticks")


async def until(condition: Any, timeout: float = 60, what: str = "the condition") -> None:
    """Wait for an event (polling `condition`), with a timeout generous enough that a busy
    machine only makes a test slower."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}")
        await asyncio.sleep(0.02)


async def passed(instant: Any) -> None:
    """Wait until the one clock is past `instant`."""
    from bot.storage.db import utcnow

    await until(lambda: utcnow() > instant, what=f"the clock to pass {instant}")


async def pair(rig: Rig, first: str = "Alex", second: str = "Sam") -> tuple[Human, Human]:
    """Two people who started the bot and paired through an invite link."""
    alex, sam = rig.person(first), rig.person(second)
    alex.says("/start")
    await alex.sees("/invite")
    alex.says("/invite")
    invite = await alex.sees("invite link")
    code = invite.text.split("?start=")[1].split()[0]
    sam.says(f"/start {code}")
    await sam.sees("now a couple", first)
    await alex.sees("now a couple", second)
    for person in (sam, alex):  # so a test starts from a quiet chat
        await person.sees("Share my location")  # (the time zone question is on "paired")
        await person.sees("1/3")  # the first onboarding card
        # The second comes after a first check-in (tests/coaching/test_pairing.py reads it).
        person.ignores("2/3 ·")
    return alex, sam


async def pair_by_invite(talk: Conversation) -> tuple[Human, Human]:
    """Alex and Sam pair through an invite link, with a bot in a process of its own (the
    chaos and process tests); the onboarding's second card is left unread."""
    alex, sam = talk.person("Alex"), talk.person("Sam")
    alex.says("/invite")
    code = (await alex.sees("invite link")).text.split("?start=")[1].split()[0]
    sam.says(f"/start {code}")
    for person in (alex, sam):
        await person.sees("now a couple")
        await person.sees("Share my location")
        await person.sees("1/3")
        person.ignores("2/3 ·")
    return alex, sam


async def linked_group(rig: Rig, alex: Human, sam: Human, title: str = "Us") -> Any:
    group = rig.talk.group(title, alex, sam)
    # A text step's "✍️ Reply here" only opens Telegram's reply box (tests/telegram/test_group.py
    # reads it); the steps themselves are read as before.
    alex.ignores("✍️", in_=group)
    rig.server.add_bot_to_group(group, alex.user)
    await alex.sees("/link", in_=group)
    alex.says("/link", group)
    await alex.sees("shared space", in_=group)
    return group


def bot_is_idle(engine: Engine) -> bool:
    """Every stored update handled and no message due in the outbox (one held for quiet
    hours or a flood limit is not due): what `settle` waits for besides silence."""
    from sqlalchemy import func, select

    from bot.storage.db import utcnow
    from bot.storage.tables import INBOX, OUTBOX

    with engine.connect() as conn:
        waiting = conn.execute(
            select(func.count()).select_from(INBOX).where(INBOX.c.processed_at.is_(None))
        ).scalar()
        due = conn.execute(
            select(func.count()).select_from(OUTBOX).where(OUTBOX.c.deliver_at <= utcnow())
        ).scalar()
    return not waiting and not due


def engine_for(db_path: Path) -> Engine:
    return make_engine(f"sqlite:///{db_path}")


async def send_letgo(person: Human, words: str, kind: str = "Just listen") -> None:
    """Let go up to the preview: the struggle typed, a kind of support chosen, nothing sent."""
    person.says("/letgo")
    await person.presses("I have something")
    await person.sees("Put it in a sentence")
    person.says(words)
    await person.sees("What would help")
    await person.presses(kind)
    await person.sees("exactly what")


async def lean_in_until_on_it(alex: Human, sam: Human, struggle: str) -> None:
    """Let go sent ("Just listen"), Sam says "I'm on it" and Alex hears it (then a Lean in
    waits hours before asking Alex how it felt)."""
    await send_letgo(alex, struggle)
    await alex.presses("Send it")
    await alex.sees("Sent to Sam", "That took courage")
    await sam.sees("Lean in", struggle)
    await sam.presses("I'm on it 💛")
    await alex.sees(f"{sam.name} has read what you shared")
    await sam.sees(f"In a few hours I'll ask {alex.name} how it felt")


def copy_flows(tmp_path: Path) -> tuple[Path, Path]:
    """The shipped flows and prompts in a temporary folder, to change in a test."""
    flows, prompts = tmp_path / "flows", tmp_path / "prompts"
    shutil.copytree(PROJECT_ROOT / "flows", flows)
    shutil.copytree(PROJECT_ROOT / "prompts", prompts)
    return flows, prompts


def time_passes_for_waits(engine: Engine) -> None:
    """Make every `wait:` step due now (Lean in's "how did it feel?" waits hours), so a test
    in real time sees the bot's own clock move the run on. The controlled-clock test of the
    wait itself is in tests/coaching/test_flow_letgo_leanin.py."""
    from sqlalchemy import update

    from bot.storage.db import utcnow
    from bot.storage.tables import RUNS

    with engine.begin() as conn:
        conn.execute(update(RUNS).where(RUNS.c.wake_at.is_not(None)).values(wake_at=utcnow()))


async def warm_up(
    alex: Human, sam: Human, chat: Any = None, texts: tuple[str, str] = ("a", "b")
) -> None:
    """State of the Union's warm-up: one appreciation each, then "That's all for now"."""
    ask = await alex.sees("Up to five, one per message", in_=chat)
    if chat is not None:
        alex.replies(ask, texts[0])
        sam.replies(ask, texts[1])
        for _ in range(2):
            await alex.sees("Noted", in_=chat)
    else:
        await sam.sees("Up to five, one per message")
        alex.says(texts[0])
        sam.says(texts[1])
        await alex.sees("Noted")
        await sam.sees("Noted")
    await alex.presses("That's all for now", chat)
    await sam.presses("That's all for now", chat)


async def first_speaker(alex: Human, sam: Human, name: str, chat: Any = None) -> None:
    """Both choose who speaks first."""
    await alex.sees("Who speaks first", in_=chat)
    await alex.presses(f"{name} first", chat)
    await sam.presses(f"{name} first", chat)
    listener = sam if name == alex.name else alex
    await listener.sees(f"{listener.name}, you listen first", in_=chat)


class InUnits:
    """Services called as a handler calls them: each call in a unit of work of its own, on the
    services' clock (`services.work.clock`), so a test can drive a service without Telegram.
    `in_units(services).couples.link(event)` is `couples.link(tx, event)` in a fresh unit."""

    def __init__(self, services: Any, target: Any = None) -> None:
        self._services = services
        self._target = services if target is None else target

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._target, name)
        if not callable(found):
            return InUnits(self._services, found)

        def in_unit(*args: Any, **kwargs: Any) -> Any:
            with self._services.work.open() as tx:
                return heard(tx, found(tx, *args, **kwargs))

        return in_unit


def heard(tx: Any, result: Any) -> Any:
    """A service's messages as their readers would read them: said in each chat's voice, as
    the way out says them (a toast in English: no person pressed anything here)."""
    from bot.core.outbox import Notice, Outgoing, Reply
    from bot.core.way_out import said, said_notice
    from bot.storage.voices import voices
    from bot.words.languages import Voice

    if isinstance(result, Outgoing):
        return heard(tx, [result])[0]
    if isinstance(result, list) and result and all(isinstance(m, Outgoing) for m in result):
        chats = voices(tx.conn, [m.chat_id for m in result])
        return [said(m, chats[m.chat_id]) for m in result]
    if isinstance(result, Reply):
        notice = result.notice and Notice(said_notice(result.notice, Voice("en")))
        return Reply(heard(tx, result.messages), notice)
    return result


def in_units(services: Any) -> Any:
    return InUnits(services)


def schedule_in(rig: Rig, seconds: float) -> datetime:
    """Set the weekly meeting to `seconds` from now (to the second, which /schedule can't)."""
    with Session(rig.engine) as session:
        couple = session.exec(select(Couple)).one()
        # whole seconds (the meeting time is stored to the second), rounded up
        slot = (utcnow() + timedelta(seconds=seconds + 1)).replace(microsecond=0)
        couple.meeting_day, couple.meeting_time = slot.weekday(), slot.strftime("%H:%M:%S")
        row = CoupleRow(
            **{c.name: getattr(couple, c.name) for c in COUPLES.columns}
        )  # as the bot reads it
        reschedule(row, utcnow())
        assert row.next_prompt_at is not None
        couple.next_prompt_at = row.next_prompt_at
        session.add(couple)
        session.commit()
        return couple.next_prompt_at


async def quiet_hours_off(rig: Rig) -> None:
    with Session(rig.engine) as session:
        for partner in session.exec(select(Partner)):
            partner.quiet_start = partner.quiet_end = "00:00"
            session.add(partner)
        session.commit()


ANSWERS = {
    "hyper": [
        "I keep it to myself and handle it",
        "I mostly decide on my own",
        "Mine stay apart from us",
        "I don't let their moods in much",
    ],
    "team": [
        "I tell them and ask for what I need",
        "We decide together",
        "I keep mine, and we share some",
        "I care, and their feelings are theirs",
    ],
    "fused": [
        "I need them to make it better",
        "I hardly decide without their OK",
        "I've let mine slip for us",
        "If they're down, so am I",
    ],
}


async def check_in(
    person: Human,
    style: str | list[str],
    ratings: tuple[int, int, int],
    safe_to_speak: str = "Always",
) -> None:
    person.says("/checkin")
    await person.sees("Check-in")
    await person.presses("Let's go")
    for label in ANSWERS[style] if isinstance(style, str) else style:
        await person.sees("/8")
        await person.presses(label)
    for rating in ratings:
        await person.sees("/8")
        await person.presses(str(rating))
    await person.sees("8/8", "safe to say what I think")
    await person.presses(safe_to_speak)


async def meet_and_agree(alex: Human, sam: Human, group: Any, agreement: str) -> None:
    """A whole State of the Union in the group, ending in `agreement`, follow-up in a week."""
    alex.says("/sotu", group)
    await sam.presses("We're ready", group)
    await warm_up(alex, sam, group, ("You made tea", "You called my mum"))
    await sam.sees("one issue for today", in_=group)
    await sam.presses("Chores", group)  # a suggested topic
    await alex.presses("Yes, this one", group)
    await sam.presses("Yes, this one", group)
    await first_speaker(alex, sam, "Alex", group)
    for speaker, listener in ((alex, sam), (sam, alex)):
        turn = "you speak first" if speaker is alex else "your turn to speak"
        await speaker.sees(f"{speaker.name}, {turn}", in_=group)
        await speaker.presses("I'm done", group)
        summary = await listener.sees(f"{listener.name}, sum up", in_=group)
        listener.replies(summary, "So what I'm hearing you say is chores matter")
        await speaker.sees("is that what you meant", in_=group)
        await speaker.presses("Yes, that's it", group)
        validate = await listener.sees("That makes sense", in_=group)
        listener.replies(validate, "That makes sense from your point of view")
        if speaker is alex:
            await alex.sees("Now swap: Sam speaks, Alex listens", in_=group)
            await alex.sees("Alex, you listen now", in_=group)
    await alex.sees("Where are you now?", in_=group)
    await alex.presses("Let's find a win-win", group)
    await sam.presses("Let's find a win-win", group)
    brainstorm = await alex.sees("Brainstorm", in_=group)
    alex.replies(brainstorm, agreement)
    await alex.sees("1 idea so far", in_=group)
    await sam.presses("We have enough ideas", group)
    await alex.presses("We have enough ideas", group)
    choose = await sam.sees("Which one works for you both", in_=group)
    sam.replies(choose, agreement)
    await alex.presses("We both agree", group)
    await sam.presses("We both agree", group)
    await sam.sees("When shall we check", in_=group)
    await sam.presses("In a week", group)
    await alex.sees("check in on it in 7 days", in_=group)
    await alex.sees("what could Sam do this week", "make you feel loved")  # closing, private
    await sam.sees("what could Alex do this week", "make you feel loved")


async def a_week_of_practices(alex: Human, sam: Human, group: Any, appreciation: str) -> None:
    """Check-ins shared by both (and one Sam keeps to themself), an appreciation from Alex,
    and a State of the Union that ends in an agreement: what Our space then shows."""
    for person, style, ratings in ((alex, "hyper", (5, 5, 2)), (sam, "team", (4, 4, 4))):
        await check_in(person, style, ratings)
        await person.presses("Share with my partner")
        await person.talk.settle()  # what sharing tells the partner comes before their turn
    await alex.sees("Sam's latest check-in")
    await sam.sees("Alex's latest check-in")
    await check_in(sam, "fused", (2, 2, 5))  # kept to Sam: never shown to Alex
    await sam.presses("Done")
    alex.says("/appreciate")
    await alex.sees("One or two sentences")
    alex.says(appreciation)
    await alex.presses("Send it")
    await sam.sees("Alex appreciates you", appreciation.split()[-1])
    await meet_and_agree(alex, sam, group, "Phones away at dinner")


def copied(tmp_path: Path) -> tuple[Path, Path]:
    flows, prompts = tmp_path / "flows", tmp_path / "prompts"
    shutil.copytree(PROJECT_ROOT / "flows", flows)
    shutil.copytree(PROJECT_ROOT / "prompts", prompts)
    return flows, prompts


def problems_of(flows: Path, prompts: Path) -> set[tuple[str, str, bool]]:
    _flows, found = check_flows(flows, prompts, practices.names())
    return {(p.file, p.kind, p.warning) for p in found}
