from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.coaching.services import Services, build_services
from bot.core import clock
from bot.emulator import BotApiServer, Conversation
from bot.storage.db import make_engine
from tests.backends import fresh_postgres
from tests.helpers import TOKEN, Clock, Rig, bot_is_idle, settings_for, start_bot

# Every test starts at the same daytime, whatever the hour the machine thinks it is: a Tuesday
# morning in June (09:00 UTC: 11:00 in Berlin, 18:00 in Tokyo), far from quiet hours, DST
# changes, the weekly meeting (Sunday 19:00) and the Wednesday evening invitation. Tests
# about those set the time themselves (a controlled clock, or `clock.start_at`).
DAYTIME = datetime(2026, 6, 9, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def daytime(monkeypatch: pytest.MonkeyPatch) -> Iterator[datetime]:
    """The one clock, in this process and every process a test starts, begins at DAYTIME
    and runs forward at the machine's pace."""
    offset = clock.start_at(DAYTIME)
    monkeypatch.setenv("CLOCK_OFFSET_SECONDS", repr(offset))
    yield DAYTIME
    clock.set_offset(0)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """ "sqlite" unless a test asks for both: parametrize("backend", BACKENDS, indirect=True)."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A fresh database of the test's backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'coach.db'}"
        return
    with fresh_postgres() as url:
        yield url


@pytest.fixture
def world(database_url: str) -> Iterator[tuple[Services, Clock]]:
    """Services on a fresh database and a clock of the test's own (tests/helpers/services.py
    drives them; test_miniapp_api.py has a `world` of its own)."""
    from bot.config import load_settings

    settings = load_settings(telegram_bot_token=TOKEN, database_url=database_url)
    services = build_services(settings)
    clock = Clock(datetime(2026, 3, 1, tzinfo=UTC))
    services.work.clock = clock
    yield services, clock
    services.engine.dispose()


@pytest.fixture
async def server() -> AsyncIterator[BotApiServer]:
    api = BotApiServer(TOKEN)
    await api.start()
    try:
        yield api
        for talk in api.conversations:  # strict: nothing the bot said is left unread
            await talk.finish()
    finally:
        await api.stop()


@pytest.fixture
async def rig(server: BotApiServer, tmp_path: Path, database_url: str) -> AsyncIterator[Rig]:
    """The real bot, polling the local server, on a fresh database (SQLite by default)."""
    db_path = tmp_path / "coach.db"
    bot = await start_bot(settings_for(db_path, server.base_url, database_url=database_url))
    engine = make_engine(database_url)
    test_rig = Rig(
        server=server,
        talk=Conversation(server),
        db_path=db_path,
        bot=bot,
        engine=engine,
        database_url=database_url,
    )
    test_rig.talk.idle = lambda: bot_is_idle(engine)
    try:
        yield test_rig
        await test_rig.talk.finish()  # while the bot still runs: anything late still arrives
    finally:
        await test_rig.bot.shutdown()
        engine.dispose()
