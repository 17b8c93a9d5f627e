"""Flow steps per second and latency, against a bare echo bot, over the local Bot API server.

    python bench/flow_steps.py [--couples 50] [--seconds 15]

Two workloads for Us Coach, each against the same echo bots in the same run: Let go's
steps, and a mix (/help, /timezone, /checkin and its first answers, /cancel, and the
partner's /help).

Both bots run as their own processes against one in-process local Bot API server
(flood limits off on the server; the bot's own rate limiter set out of the way, since
Telegram's 30 messages/s would otherwise be what we measure). Each couple's first
partner loops through Let go's steps (type a struggle, press "Just listen", press
"Change it"), one step at a time; the echo bot's users each send text and wait for
the echo. Latency runs from the update being queued on the server to the bot's reply
arriving there.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.emulator import BotApiServer, Conversation
from bot.emulator.server import SimUser, StoredMessage

TOKEN = "123456:BENCH-token-for-the-local-bot-api-server"


class Inbox:
    """Bot messages per chat, as they arrive at the server, with their arrival time."""

    def __init__(self, server: BotApiServer) -> None:
        self.queues: dict[int, asyncio.Queue[tuple[float, StoredMessage]]] = defaultdict(
            asyncio.Queue
        )
        server.listeners.append(self._on)

    def _on(self, kind: str, payload: Any) -> None:
        if kind == "bot_message":
            self.queues[payload.chat_id].put_nowait((time.perf_counter(), payload))

    def drain(self, chat_id: int) -> None:
        queue = self.queues[chat_id]
        while not queue.empty():
            queue.get_nowait()

    async def next(self, chat_id: int) -> tuple[float, StoredMessage]:
        return await asyncio.wait_for(self.queues[chat_id].get(), 30)


def launch(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            command, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent
        )


async def wait_polling(server: BotApiServer, since: int) -> None:
    """Wait until a freshly started bot has called getUpdates (it is then ready)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll_count > since:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("the bot never started polling")


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    process.send_signal(sig)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), to see who is the bottleneck."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def drive(
    loops: list[Any], seconds: float, warmup: float, bot_pid: int
) -> tuple[int, list[float], float, str]:
    """Run every loop until time is up; count steps and latencies after the warm-up."""
    latencies: list[float] = []
    counted = 0
    start = time.perf_counter()
    measure_from = start + warmup
    end = measure_from + seconds
    marks: dict[str, float] = {}

    async def mark() -> None:
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        marks.update(bot=cpu_seconds(bot_pid), us=time.process_time())

    async def run(loop: Any) -> None:
        nonlocal counted
        while time.perf_counter() < end:
            latency = await loop()
            if time.perf_counter() >= measure_from and latency is not None:
                latencies.append(latency)
                counted += 1

    await asyncio.gather(mark(), *(run(loop) for loop in loops))
    busy = (
        f"CPU: bot {100 * (cpu_seconds(bot_pid) - marks['bot']) / seconds:.0f}%, "
        f"server+driver {100 * (time.process_time() - marks['us']) / seconds:.0f}%"
    )
    return counted, latencies, seconds, busy


def summary(
    name: str, counted: int, latencies: list[float], seconds: float, busy: str
) -> dict[str, float]:
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    row = {
        "steps_per_s": counted / seconds,
        "p50": pct(50),
        "p95": pct(95),
        "p99": pct(99),
        "mean": statistics.fmean(ordered) * 1000,
    }
    print(
        f"{name:<22} {row['steps_per_s']:>9.1f} {row['p50']:>8.1f} {row['p95']:>8.1f} "
        f"{row['p99']:>8.1f}   ({counted} steps; {busy})"
    )
    return row


async def bench_echo(
    http: str,
    server: BotApiServer,
    inbox: Inbox,
    users: list[SimUser],
    seconds: float,
    warmup: float,
    workdir: Path,
) -> dict[str, float]:
    env = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": server.base_url,
        "ECHO_HTTP": http,
        "PYTHONPATH": str(ROOT),
    }
    since = server.poll_count
    process = launch(
        [sys.executable, str(ROOT / "bench" / "echo_bot.py")], env, workdir / "echo.log"
    )
    try:
        await wait_polling(server, since)

        def loop_for(user: SimUser) -> Any:
            chat = server.chats[user.id]

            async def step() -> float:
                inbox.drain(chat.id)
                sent = time.perf_counter()
                server.user_sends(user, chat, "hello there")
                arrived, _ = await inbox.next(chat.id)
                return arrived - sent

            return step

        counted, latencies, span, busy = await drive(
            [loop_for(u) for u in users], seconds, warmup, process.pid
        )
    finally:
        stop(process)
    return summary(f"echo bot ({http})", counted, latencies, span, busy)


async def bench_coach(
    server: BotApiServer,
    inbox: Inbox,
    couples: int,
    seconds: float,
    warmup: float,
    workdir: Path,
    profile: str | None = None,
    workload: str = "letgo",
) -> dict[str, float]:
    workdir = workdir / workload
    workdir.mkdir(exist_ok=True)
    env = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": server.base_url,
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
        "LOG_LEVEL": "WARNING",
        "FLOOD_OVERALL_PER_SECOND": "100000",
        "FLOOD_GROUP_PER_MINUTE": "100000",
        "FLOOD_CHAT_PER_SECOND": "100000",
    }
    since = server.poll_count
    command = [sys.executable, "-m", "bot.cli", "run"]
    if profile:  # py-spy's collapsed stacks of the bot process, for finding where time goes
        command = ["py-spy", "record", "--gil", "--format", "raw", "-o", profile, "--", *command]
    process = launch(command, env, workdir / "coach.log")
    talk = Conversation(server, timeout=60)
    try:
        await wait_polling(server, since)
        people = []
        for i in range(couples):  # pair every couple through the bot, as users would
            alex, sam = talk.person(f"{workload}A{i}"), talk.person(f"{workload}S{i}")
            alex.says("/invite")
            code = (await alex.sees("invite link")).text.split("?start=")[1].split()[0]
            sam.says(f"/start {code}")
            await alex.sees("now a couple")
            if workload == "letgo":
                alex.says("/letgo")
                await alex.presses("I have something")
                await alex.sees("Put it in a sentence")
            people.append((alex, sam))

        def loop_for(person: Any) -> Any:
            chat_id = person.private.id
            phase = {"n": 0, "last": None}

            async def step() -> float:
                inbox.drain(chat_id)
                n = phase["n"] % 3
                sent = time.perf_counter()
                if n == 0:
                    person.says("I'm feeling tired after work")
                else:
                    label = "Just listen" if n == 1 else "Change it"
                    message = phase["last"]
                    data = next(b["callback_data"] for b in message.buttons if b["text"] == label)
                    server.user_presses(person.user, message, data)
                arrived, message = await inbox.next(chat_id)
                phase["n"] += 1
                phase["last"] = message
                return arrived - sent

            return step

        def mixed_for(couple: Any) -> Any:
            alex, sam = couple
            # (who acts, what they type, or the button they press on their last message)
            script = [
                (alex, "/help", None),
                (alex, "/timezone", None),
                (alex, "/checkin", None),
                (alex, None, "Let's go"),
                (alex, None, "I tell them and ask for what I need"),
                (alex, "/cancel", None),
                (sam, "/help", None),
            ]
            phase = {"n": 0}
            last: dict[int, StoredMessage] = {}

            async def under(chat_id: int, label: str) -> tuple[StoredMessage, str]:
                # A reply can be several messages (/timezone's buttons, then the location
                # keyboard); the button pressed next is on one of them.
                message = last[chat_id]
                while True:
                    for button in message.buttons:
                        if button["text"] == label:
                            return message, button["callback_data"]
                    _, message = await inbox.next(chat_id)

            async def step() -> float:
                who, text, label = script[phase["n"] % len(script)]
                chat_id = who.private.id
                if label is not None:
                    message, data = await under(chat_id, label)
                inbox.drain(chat_id)
                sent = time.perf_counter()
                if text is not None:
                    who.says(text)
                else:
                    server.user_presses(who.user, message, data)
                arrived, message = await inbox.next(chat_id)
                phase["n"] += 1
                last[chat_id] = message
                return arrived - sent

            return step

        loops = [loop_for(a) if workload == "letgo" else mixed_for((a, s)) for a, s in people]
        counted, latencies, span, busy = await drive(loops, seconds, warmup, process.pid)
    finally:
        stop(process, signal.SIGINT if profile else signal.SIGTERM)  # py-spy writes on SIGINT
    name = "Us Coach Let go steps" if workload == "letgo" else "Us Coach mixed steps"
    return summary(name, counted, latencies, span, busy)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--couples", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--profile", help="record the bot with py-spy into this file")
    args = parser.parse_args()

    server = BotApiServer(TOKEN)
    await server.start()
    inbox = Inbox(server)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        print(
            f"{args.couples} concurrent couples/users, {args.seconds:.0f} s measured "
            f"after {args.warmup:.0f} s warm-up, {os.cpu_count()} cores"
        )
        print(f"{'':<22} {'steps/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
        users = [server.add_user(f"E{i}") for i in range(args.couples)]
        echo = await bench_echo("httpx", server, inbox, users, args.seconds, args.warmup, workdir)
        echo_aiohttp = await bench_echo(
            "aiohttp", server, inbox, users, args.seconds, args.warmup, workdir
        )
        coaches = {
            workload: await bench_coach(
                server,
                inbox,
                args.couples,
                args.seconds,
                args.warmup,
                workdir,
                args.profile,
                workload,
            )
            for workload in ("letgo", "mixed")
        }
    await server.stop()
    for workload, coach in coaches.items():
        for name, base in (
            ("bare PTB echo bot", echo),
            ("echo bot on our HTTP layer", echo_aiohttp),
        ):
            print(
                f"{workload} vs {name}: throughput ratio "
                f"{coach['steps_per_s'] / base['steps_per_s']:.2f} (issue 21: >= 1.0), "
                f"p95 latency ratio {coach['p95'] / base['p95']:.2f} (issue 21: <= 3.0)"
            )


if __name__ == "__main__":
    asyncio.run(main())
