"""The playground's own API, without a browser: a session continues after a restart, and
voice notes posted as raw audio reach the bot as Telegram carries them."""

from __future__ import annotations

import asyncio
import io
import math
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from bot.playground.app import run_playground
from bot.playground.voice import VOICE_LIMIT
from bot.voice.transcriber import audio_seconds
from tests.speech import silence


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_for(
    http: aiohttp.ClientSession, base: str, column: str, words: str, seconds: float = 10
) -> Any:
    for _ in range(int(seconds / 0.05)):
        async with http.get(f"{base}/state") as response:
            state = await response.json()
        found = [m for m in state["messages"] if m["column"] == column and words in m["text"]]
        if found:
            return found[-1]
        await asyncio.sleep(0.05)
    texts = [m["text"][:60] for m in state["messages"] if m["column"] == column]
    raise AssertionError(f"{words!r} never showed in {column}: {texts}")


async def session(db: Path, steps: Any) -> None:
    port, stop, ready = free_port(), asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run_playground(port, str(db), stop, ready))
    await asyncio.wait_for(ready.wait(), 30)
    try:
        async with aiohttp.ClientSession() as http:
            await steps(http, f"http://127.0.0.1:{port}")
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def test_a_playground_session_continues_after_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "pg.db"

    async def first(http: aiohttp.ClientSession, base: str) -> None:
        await http.post(f"{base}/send", json={"who": "alex", "column": "alex", "text": "/invite"})
        invite = await wait_for(http, base, "alex", "invite link")
        code = invite["text"].split("?start=")[1].split()[0]
        await http.post(
            f"{base}/send", json={"who": "sam", "column": "sam", "text": f"/start {code}"}
        )
        await wait_for(http, base, "sam", "now a couple")
        await http.post(f"{base}/add-bot")
        await wait_for(http, base, "group", "send /link")
        await http.post(f"{base}/send", json={"who": "sam", "column": "group", "text": "/link"})
        await wait_for(http, base, "group", "shared space")

    async def second(http: aiohttp.ClientSession, base: str) -> None:
        async with http.get(f"{base}/state") as response:
            assert (await response.json())["bot_in_group"]
        await http.post(f"{base}/prompt-now")
        prompt = await wait_for(http, base, "group", "State of the Union")  # the weekly prompt
        start = prompt["buttons"][0][0]
        async with http.post(
            f"{base}/press",
            json={
                "who": "alex",
                "column": "group",
                "message_id": prompt["id"],
                "data": start["data"],
            },
        ) as response:
            assert (await response.json())["ok"]
        await wait_for(http, base, "group", "appreciations")
        await http.post(f"{base}/send", json={"who": "alex", "column": "alex", "text": "/schedule"})
        await wait_for(http, base, "alex", "No weekly meeting set")

    await session(db, first)
    await session(db, second)


async def test_bad_requests_get_clear_answers(tmp_path: Path) -> None:
    async def steps(http: aiohttp.ClientSession, base: str) -> None:
        async with http.post(
            f"{base}/send", json={"who": "alex", "column": "alex", "text": "   "}
        ) as response:
            assert response.status == 400
        async with http.post(
            f"{base}/press", json={"who": "alex", "column": "alex", "message_id": 999, "data": "x"}
        ) as r:
            assert r.status == 404
        async with http.get(f"{base}/file/nope") as response:
            assert response.status == 404

    await session(tmp_path / "pg.db", steps)


async def test_voice_notes_posted_as_audio(tmp_path: Path) -> None:
    """The body is the audio: its length is read from it, the bot gets a Telegram voice note,
    the page gets a player for it, and a note the bot cannot read is still sent (it says so)."""

    async def steps(http: aiohttp.ClientSession, base: str) -> None:
        await http.post(f"{base}/send", json={"who": "alex", "column": "alex", "text": "/start"})
        await wait_for(http, base, "alex", "/invite", seconds=30)
        note = silence(2.2)
        async with http.post(
            f"{base}/voice",
            params={"who": "alex", "column": "alex"},
            data=note,
            headers={"Content-Type": "audio/ogg"},
        ) as response:
            assert response.status == 200
            assert (await response.json())["seconds"] == math.ceil(audio_seconds(note)) == 3
        async with http.get(f"{base}/state") as response:
            sent = [m for m in (await response.json())["messages"] if m.get("voice")]
        assert [(m["column"], m["sender"], m["voice"]["seconds"]) for m in sent] == [
            ("alex", "Alex", 3)
        ]
        async with http.get(f"{base}{sent[0]['voice']['url']}") as response:
            assert response.content_type == "audio/ogg"
            assert await response.read() == note
        # The speech model may still be loading: the first note waits for it.
        await wait_for(http, base, "alex", "couldn't make out any words", seconds=90)

        async with http.post(  # not audio: one second, sent all the same
            f"{base}/voice", params={"who": "alex", "column": "alex"}, data=b"not audio at all"
        ) as response:
            assert (await response.json())["seconds"] == 1
        await wait_for(http, base, "alex", "couldn't play that recording", seconds=60)
        async with http.get(f"{base}/state") as response:
            sent = [m for m in (await response.json())["messages"] if m.get("voice")]
        async with http.get(f"{base}{sent[-1]['voice']['url']}") as response:
            assert response.content_type == "audio/ogg"  # no type given: Telegram's voice type

    await session(tmp_path / "pg.db", steps)


async def test_bad_voice_notes_get_clear_answers(tmp_path: Path) -> None:
    async def steps(http: aiohttp.ClientSession, base: str) -> None:
        where = {"who": "sam", "column": "sam"}
        async with http.post(f"{base}/voice", params=where, data=b"") as response:
            assert response.status == 400
        bad = {**where, "reply_to": "the last one"}
        async with http.post(f"{base}/voice", params=bad, data=b"x") as response:
            assert response.status == 400
        too_big = b"\0" * (VOICE_LIMIT + 1)
        async with http.post(f"{base}/voice", params=where, data=io.BytesIO(too_big)) as response:
            assert response.status == 413  # told by its Content-Length
            assert "20 MB" in (await response.json())["error"]

        async def streamed() -> AsyncIterator[bytes]:  # no length said: counted as it comes
            for start in range(0, len(too_big), 1 << 20):
                yield too_big[start : start + (1 << 20)]

        async with http.post(f"{base}/voice", params=where, data=streamed()) as response:
            assert response.status == 413
        async with http.get(f"{base}/state") as response:
            assert not [m for m in (await response.json())["messages"] if m.get("voice")]

    await session(tmp_path / "pg.db", steps)
