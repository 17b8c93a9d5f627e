"""The playground's own API, without a browser: a session continues after a restart."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import aiohttp

from bot.playground.app import run_playground


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_for(http: aiohttp.ClientSession, base: str, column: str, words: str) -> Any:
    for _ in range(200):
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
