from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.emulator import BotApiServer, Conversation
from tests.helpers import TOKEN, Rig, engine_for, settings_for, start_bot


@pytest.fixture
async def server() -> AsyncIterator[BotApiServer]:
    api = BotApiServer(TOKEN)
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
async def rig(server: BotApiServer, tmp_path: Path) -> AsyncIterator[Rig]:
    """The real bot, polling the local server, on a fresh SQLite file."""
    db_path = tmp_path / "coach.db"
    bot = await start_bot(settings_for(db_path, server.base_url))
    engine = engine_for(db_path)
    test_rig = Rig(
        server=server, talk=Conversation(server), db_path=db_path, bot=bot, engine=engine
    )
    yield test_rig
    await test_rig.bot.shutdown()
    engine.dispose()
