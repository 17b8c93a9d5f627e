from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.emulator import BotApiServer, Conversation
from bot.storage.db import make_engine
from tests.backends import fresh_postgres
from tests.helpers import TOKEN, Rig, settings_for, start_bot


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
async def server() -> AsyncIterator[BotApiServer]:
    api = BotApiServer(TOKEN)
    await api.start()
    yield api
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
    yield test_rig
    await test_rig.bot.shutdown()
    engine.dispose()
