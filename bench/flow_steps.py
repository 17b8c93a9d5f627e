"""Flow steps per second and latency, against a bare echo bot, over the local Bot API server.

    python bench/flow_steps.py [--couples 50] [--cold 5] [--warmup 3] [--seconds 15]

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

Each bot is measured from its launch, with everyone's first update already waiting (as
after a deploy): the first reply's time from the launch; a cold window (the first
`--cold` seconds after the bot's first poll: nothing warmed or cached); and, after
`--warmup` seconds, a warm window. Us Coach's couples pair through a first process that
then stops, so the measured process starts fresh on a database that has them.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
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
from bot.emulator.cluster import checkout_path
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


Window = tuple[float, float]  # seconds after the load starts: (from, to)
Measured = tuple[int, list[float], float, str]  # steps, latencies, span, CPU line


# Seconds from each launch to its first reply, by bot, over the rounds.
FIRST_REPLY: dict[str, list[float]] = defaultdict(list)


async def drive(
    loops: list[Any],
    windows: dict[str, Window],
    bot_pid: int,
    server: BotApiServer,
    since: int,
    label: str,
) -> dict[str, Measured]:
    """Run every loop until the last window closes; count the steps finished in each window.

    Called right after the bot's process is launched: the first updates wait on the server
    while it starts, as after a deploy, which gives the first reply's time from the launch.
    The windows count from the bot's first poll (it has started): "cold" right away,
    nothing warmed or cached yet; "warm" after a warm-up. A step counts in the window it
    finishes in.
    """
    done: list[tuple[float, float]] = []  # (finished at, latency), perf_counter seconds
    launched = time.perf_counter()
    sent: list[float] = []  # when the server saw each bot message (the first one matters)

    def on(kind: str, _payload: Any) -> None:
        if kind == "bot_message" and not sent:
            sent.append(time.perf_counter())

    server.listeners.append(on)
    polled = asyncio.ensure_future(wait_polling(server, since))
    cpu: dict[tuple[str, int], tuple[float, float]] = {}

    def over() -> bool:
        return polled.done() and time.perf_counter() >= start + last

    async def mark(name: str, edge: int, at: float) -> None:
        await polled
        await asyncio.sleep(max(0.0, start + at - time.perf_counter()))
        cpu[(name, edge)] = (cpu_seconds(bot_pid), time.process_time())

    async def run(loop: Any) -> None:
        while not over():
            latency = await loop()
            if latency is not None:
                done.append((time.perf_counter(), latency))

    last = max(to for _, to in windows.values())
    start = launched  # until the first poll; the windows then count from there
    runs = asyncio.gather(*(run(loop) for loop in loops))
    await polled
    start = time.perf_counter()
    marks = [mark(name, edge, w[edge]) for name, w in windows.items() for edge in (0, 1)]
    await asyncio.gather(*marks, runs)
    server.listeners.remove(on)
    first = sent[0] - launched
    FIRST_REPLY[label].append(first)
    print(
        f"  first reply {first:.2f} s after launch (polling after {start - launched:.2f} s), "
        f"with {len(loops)} people waiting"
    )
    measured: dict[str, Measured] = {}
    for name, (since_s, to) in windows.items():
        latencies = [latency for at, latency in done if since_s <= at - start < to]
        (bot0, us0), (bot1, us1) = cpu[(name, 0)], cpu[(name, 1)]
        span = to - since_s
        bot, us = 100 * (bot1 - bot0) / span, 100 * (us1 - us0) / span
        busy = f"CPU: bot {bot:.0f}%, server+driver {us:.0f}%"
        measured[name] = (len(latencies), latencies, span, busy)
    return measured


def windows(cold: float, warmup: float, seconds: float) -> dict[str, Window]:
    return {"cold": (0.0, cold), "warm": (cold + warmup, cold + warmup + seconds)}


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
    spans: dict[str, Window],
    workdir: Path,
) -> dict[str, dict[str, float]]:
    env = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": server.base_url,
        "ECHO_HTTP": http,
        "PYTHONPATH": str(ROOT),
    }

    def loop_for(user: SimUser) -> Any:
        chat = server.chats[user.id]

        async def step() -> float:
            inbox.drain(chat.id)
            sent = time.perf_counter()
            server.user_sends(user, chat, "hello there")
            arrived, _ = await inbox.next(chat.id)
            return arrived - sent

        return step

    print(f"echo bot ({http})")
    since = server.poll_count
    process = launch(
        [sys.executable, str(ROOT / "bench" / "echo_bot.py")], env, workdir / "echo.log"
    )
    try:
        measured = await drive(
            [loop_for(u) for u in users], spans, process.pid, server, since, f"echo ({http})"
        )
    finally:
        stop(process)
    return {name: summary(f"  {name}", *m) for name, m in measured.items()}


async def bench_coach(
    server: BotApiServer,
    inbox: Inbox,
    couples: int,
    spans: dict[str, Window],
    workdir: Path,
    profile: str | None = None,
    workload: str = "letgo",
) -> dict[str, dict[str, float]]:
    workdir = workdir / workload
    workdir.mkdir(exist_ok=True)
    env = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": server.base_url,
        "PYTHONPATH": checkout_path(),  # this checkout's bot, not the installed one
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
        "LOG_LEVEL": "WARNING",
        "FLOOD_OVERALL_PER_SECOND": "100000",
        "FLOOD_GROUP_PER_MINUTE": "100000",
        "FLOOD_CHAT_PER_SECOND": "100000",
    }
    since = server.poll_count
    command = [sys.executable, "-m", "bot.cli", "run"]
    # The couples pair through a first process, which then stops: the one measured starts
    # with the load already waiting, as after a deploy.
    process = launch(command, env, workdir / "pairing.log")
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
    finally:
        stop(process)
    await asyncio.sleep(1)  # the server answers what the stopped process sent last (stop blocks)
    if profile:  # py-spy's collapsed stacks of the bot process, for finding where time goes
        out = f"{profile}.{workload}"  # one file per workload
        command = ["py-spy", "record", "--gil", "--format", "raw", "-o", out, "--", *command]
    name = "Us Coach Let go steps" if workload == "letgo" else "Us Coach mixed steps"
    print(name)
    since = server.poll_count
    process = launch(command, env, workdir / "coach.log")
    try:

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
        measured = await drive(loops, spans, process.pid, server, since, workload)
    finally:
        stop(process, signal.SIGINT if profile else signal.SIGTERM)  # py-spy writes on SIGINT
    return {window: summary(f"  {window}", *m) for window, m in measured.items()}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--couples", type=int, default=50)
    parser.add_argument("--cold", type=float, default=5, help="seconds measured from the launch")
    parser.add_argument("--warmup", type=float, default=3, help="then seconds not measured")
    parser.add_argument("--seconds", type=float, default=15, help="then seconds measured warm")
    parser.add_argument(
        "--profile", help="record the bot with py-spy into FILE.letgo and FILE.mixed"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run every bot this many times, in turn, and report the median ratio (a shared "
        "machine's speed drifts between runs a minute apart)",
    )
    args = parser.parse_args()
    spans = windows(args.cold, args.warmup, args.seconds)
    # A deploy starts from compiled bytecode (pip compiles what it installs; the image sets
    # PYTHONDONTWRITEBYTECODE). An editable checkout under that variable has none, and every
    # start would compile ours again: about 0.2 s that no deployed process spends.
    compileall.compile_dir(ROOT / "bot", quiet=1)

    ratios: dict[str, list[float]] = defaultdict(list)
    print(
        f"{args.couples} concurrent couples/users from the launch: {args.cold:.0f} s measured "
        f"cold, {args.warmup:.0f} s not, {args.seconds:.0f} s measured warm; "
        f"{os.cpu_count()} cores"
    )
    for round_ in range(args.rounds):  # each round on a Bot API server of its own
        if args.rounds > 1:
            print(f"round {round_ + 1} of {args.rounds}")
        server = BotApiServer(TOKEN)
        await server.start()
        inbox = Inbox(server)
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            print(f"{'':<22} {'steps/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
            users = [server.add_user(f"E{i}") for i in range(args.couples)]
            echo = await bench_echo("httpx", server, inbox, users, spans, workdir)
            if round_ == 0:  # a reference only (and a second one in a run hangs: not chased)
                echo_aiohttp = await bench_echo("aiohttp", server, inbox, users, spans, workdir)
            coaches = {
                workload: await bench_coach(
                    server, inbox, args.couples, spans, workdir, args.profile, workload
                )
                for workload in ("letgo", "mixed")
            }
        await server.stop()
        for line in compare(coaches, echo, echo_aiohttp, spans, ratios):
            print(line)
    if args.rounds > 1:
        print(f"median of {args.rounds} rounds")
        for label, firsts in FIRST_REPLY.items():
            print(
                f"  {label}, first reply after launch: {statistics.median(firsts):.2f} s "
                f"(rounds: {', '.join(f'{v:.2f}' for v in firsts)})"
            )
        for key, values in ratios.items():
            print(
                f"  {key}: {statistics.median(values):.2f} (rounds: "
                f"{', '.join(f'{v:.2f}' for v in values)})"
            )


def compare(
    coaches: dict[str, dict[str, dict[str, float]]],
    echo: dict[str, dict[str, float]],
    echo_aiohttp: dict[str, dict[str, float]],
    spans: dict[str, Window],
    ratios: dict[str, list[float]],
) -> list[str]:
    """Each workload against each echo bot, per window; the ratios are kept for the median."""
    lines = []
    for workload, coach in coaches.items():
        for name, base in (
            ("bare PTB echo bot", echo),
            ("echo bot on our HTTP layer", echo_aiohttp),
        ):
            for window in spans:
                ours, theirs = coach[window], base[window]
                throughput = ours["steps_per_s"] / theirs["steps_per_s"]
                p95 = ours["p95"] / theirs["p95"]
                ratios[f"{workload} vs {name}, {window}, throughput"].append(throughput)
                ratios[f"{workload} vs {name}, {window}, p95"].append(p95)
                lines.append(
                    f"{workload} vs {name}, {window}: throughput ratio "
                    f"{throughput:.2f} (issue 21: >= 1.0), "
                    f"p95 latency ratio {p95:.2f} (issue 21: <= 3.0)"
                )
    return lines


if __name__ == "__main__":
    asyncio.run(main())
