"""The cluster on PostgreSQL through the emulator's webhook mode, as plain processes.

    python bench/cluster.py [--couples 10000] [--conversations 1000] [--seconds 15]

Needs PostgreSQL (`bash scripts/postgres`; TEST_POSTGRES_URL or the default role). Each
part gets a fresh database. Three parts, all in one run:

A. Prompts: two web and two worker processes; `--couples` couples, each with a linked
   group, whose weekly prompts fall due within the same minute. The emulator enforces
   Telegram's limits (30 messages/s overall, 20/min per group) and answers 429 beyond
   them. The worker that holds the sender lock is killed with SIGKILL once a third of
   the prompts went out. Reported: missed prompts, duplicates (and the messages in
   flight at the kill, the most a kill may duplicate), and the delivery time against the
   rate-limit floor (prompts / 30 per second, from the first one due; at least the minute
   over which they fall due).
B. Conversations: `--conversations` people (in couples) each set their timezone three
   times in a row, waiting for each answer, while a random web process is killed with
   SIGKILL every 10 s and restarted. Reported: inputs without an answer, chats whose
   answers came out of order.
C. Throughput: 100 people loop on a flow step (/timezone) for `--seconds`, against one
   polling process on SQLite, then 1, 2 and 4 web processes (and one worker) on
   PostgreSQL. Reported: steps/s and p95 latency (update queued on the server to the
   reply there). Telegram's limits are off in B and C, so the figures are the bot's.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import signal
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text

from bot.emulator import BotApiServer, Conversation
from bot.emulator.cluster import Cluster, Process, cli, environment
from bot.storage.db import make_engine, utcnow
from bot.storage.tables import COUPLES, PARTNERS
from bot.words.texts import plain
from tests.backends import fresh_postgres, postgres_problem

TOKEN = "123456:BENCH-token-for-the-local-bot-api-server"
ZONES = ["Europe/Berlin", "America/Chicago", "Asia/Tokyo"]


def seed_couples(
    server: BotApiServer, database_url: str, count: int, *, groups: bool, due_in: float = 0
) -> list[tuple[int, int, int | None]]:
    """Couples written straight into the database (and their people into the emulator):
    (alex id, sam id, group id). With `due_in`, their weekly prompts fall due over one
    minute starting that many seconds from now."""
    now = utcnow()
    made: list[tuple[int, int, int | None]] = []
    couples, partners = [], []
    for n in range(count):
        alex, sam = server.add_user(f"A{n}"), server.add_user(f"S{n}")
        group = None
        if groups:
            chat = server.add_group(f"Us {n}", [alex, sam])
            chat.bot_member = True
            group = chat.id
        due = now + timedelta(seconds=due_in + 60 * n / max(count, 1)) if due_in else None
        couples.append(
            {
                "id": n + 1,
                "status": "active",
                "timezone": "UTC",
                "paused": False,
                "meeting_day": (due or now).weekday(),
                "meeting_time": (due or now).strftime("%H:%M"),
                "next_prompt_at": due,
                "group_chat_id": group,
                "created_at": now - timedelta(days=30),
            }
        )
        for seat, person in ((1, alex), (2, sam)):
            partners.append(
                {
                    "id": person.id,
                    "first_name": person.first_name,
                    "couple_id": n + 1,
                    "seat": seat,
                    "unreachable": False,
                    "quiet_start": "00:00",
                    "quiet_end": "00:00",
                    "created_at": now,
                    "hushed": False,
                    "couple_ended": False,
                }
            )
        made.append((alex.id, sam.id, group))
    engine = make_engine(database_url)
    with engine.begin() as conn:
        for start in range(0, len(couples), 2000):
            conn.execute(insert(COUPLES), couples[start : start + 2000])
        for start in range(0, len(partners), 4000):
            conn.execute(insert(PARTNERS), partners[start : start + 4000])
        if conn.dialect.name == "postgresql":  # new couples (from /invite) number on after
            conn.execute(text("SELECT setval('couple_id_seq', (SELECT max(id) FROM couple))"))
    engine.dispose()
    return made


def in_flight(server: BotApiServer, database_url: str) -> int:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT chat_id, text FROM outboxmessage")).all()
    engine.dispose()
    return sum(
        1 for chat, body in rows if any(m.text == plain(body) for m in server.bot_messages(chat))
    )


async def part_a(couples: int, workdir: Path) -> None:
    server = BotApiServer(TOKEN, flood_limits=True)  # 30/s overall, 20/min per group
    await server.start()
    with fresh_postgres() as url:
        cluster = Cluster(server, url, workdir / "a")
        cluster.workdir.mkdir(parents=True, exist_ok=True)
        await cluster.start(webs=2, workers=2)
        try:
            # Due from a minute on: seeding 10,000 couples must be committed before the first.
            made = seed_couples(server, url, couples, groups=True, due_in=60)
            groups = {g for _a, _s, g in made if g is not None}
            arrived: dict[int, list[float]] = {}  # group -> when each prompt was stored

            def on_server(kind: str, payload: object) -> None:
                chat = getattr(payload, "chat_id", None)
                if kind == "bot_message" and chat in groups:
                    arrived.setdefault(chat, []).append(time.time())

            server.listeners.append(on_server)
            engine = make_engine(url)
            with engine.connect() as conn:
                due = conn.execute(text("SELECT min(next_prompt_at) FROM couple")).scalar()
            engine.dispose()
            first_due = due.timestamp()
            if time.time() > first_due:
                print("   (seeding took longer than a minute: the floor below starts too early)")

            def prompts() -> dict[int, int]:  # accepted by Telegram (a 429 is not a message)
                return {chat: len(times) for chat, times in arrived.items()}

            # Kill the sender once a third went out.
            while sum(1 for c in prompts().values() if c) < couples // 3:
                await asyncio.sleep(0.2)
            sender = next(w for w in cluster.workers if "holds the sender" in w.log.read_text())
            killed_at = time.time()
            sender.signal(signal.SIGKILL)
            await sender.exited(10)
            at_kill = await asyncio.to_thread(in_flight, server, url)
            # Nothing can go before it is due (over one minute), nor faster than 30/s.
            floor = max(couples / server.overall_per_second, 60 * (couples - 1) / couples)
            deadline = first_due + 2 * floor + 120
            while time.time() < deadline and len(prompts()) < couples:
                await asyncio.sleep(0.5)
            await asyncio.sleep(3)  # anything duplicated arrives
            counts = prompts()
            took = max(t for times in arrived.values() for t in times) - first_due
            missed = couples - len(counts)
            duplicates = sum(c - 1 for c in counts.values())
            print(
                f"A. {couples} weekly prompts, 2 web + 2 workers, sender killed at a third: "
                f"missed {missed}, duplicates {duplicates} (in flight at the kill: {at_kill}), "
                f"429s {server.rejected_429}, delivered in {took:.1f} s, floor {floor:.1f} s "
                f"({took / floor:.3f}x the floor)"
            )
            times = sorted(t for ts in arrived.values() for t in ts)
            after = sum(t > killed_at for t in times)
            gaps = sorted(itertools.pairwise(times), key=lambda p: p[0] - p[1])[:3]
            print(
                f"   first sent {times[0] - first_due:.1f} s after the first was due; "
                f"killed at {killed_at - first_due:.1f} s; longest pauses: "
                + ", ".join(f"{b - a:.1f} s at {a - first_due:.0f} s" for a, b in gaps)
                + f"; rate after the kill {after / (times[-1] - killed_at):.1f}/s"
                + f", before {(len(times) - after) / (killed_at - times[0]):.1f}/s"
            )
        finally:
            await cluster.stop()
    await server.stop()


async def part_b(people: int, workdir: Path) -> None:
    server = BotApiServer(TOKEN)
    await server.start()
    with fresh_postgres() as url:
        cluster = Cluster(server, url, workdir / "b")
        cluster.workdir.mkdir(parents=True, exist_ok=True)
        await cluster.start(webs=2, workers=1)
        try:
            made = seed_couples(server, url, people // 2, groups=False)
            talk = Conversation(server, timeout=120)
            rng = random.Random(5)
            done = asyncio.Event()

            async def killer() -> int:
                kills = 0
                while not done.is_set():
                    try:
                        await asyncio.wait_for(done.wait(), 10)
                    except TimeoutError:
                        victim = rng.choice(cluster.webs)
                        victim.signal(signal.SIGKILL)
                        await victim.exited(10)
                        victim.start()
                        await victim.ready()
                        kills += 1
                return kills

            async def person(user_id: int) -> tuple[int, bool]:
                from bot.emulator.client import Human

                human = Human(talk, server.users[user_id])
                answered = 0
                for zone in ZONES:
                    human.says(f"/timezone {zone}")
                    try:
                        await human.sees("Timezone set to", zone)
                        answered += 1
                    except AssertionError:
                        pass
                mine = [
                    m.text.split("set to ")[1].rstrip(".")
                    for m in server.bot_messages(user_id)
                    if m.text.startswith("✅ Timezone set to")
                ]
                return len(ZONES) - answered, mine == ZONES

            kill_task = asyncio.create_task(killer())
            began = time.perf_counter()
            results = await asyncio.gather(*(person(uid) for a, s, _g in made for uid in (a, s)))
            done.set()
            kills = await kill_task
            lost = sum(r[0] for r in results)
            unordered = sum(1 for r in results if not r[1])
            print(
                f"B. {len(results)} conversations x {len(ZONES)} steps, a web process killed "
                f"every 10 s ({kills} kills, {time.perf_counter() - began:.0f} s): "
                f"{lost} inputs without an answer, {unordered} chats out of order"
            )
        finally:
            await cluster.stop()
    await server.stop()


async def throughput(server: BotApiServer, seconds: float, users: list[int]) -> tuple[float, float]:
    from bot.emulator.client import Human

    talk = Conversation(server, timeout=60)
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds

    async def loop(user_id: int) -> None:
        human = Human(talk, server.users[user_id])
        n = 0
        while time.perf_counter() < stop_at:
            zone = ZONES[n % len(ZONES)]
            began = time.perf_counter()
            human.says(f"/timezone {zone}")
            await human.sees("Timezone set to", zone)
            latencies.append(time.perf_counter() - began)
            n += 1

    began = time.perf_counter()
    await asyncio.gather(*(loop(u) for u in users))
    took = time.perf_counter() - began
    return len(latencies) / took, statistics.quantiles(latencies, n=20)[18]


async def part_c(seconds: float, workdir: Path) -> None:
    fast = {
        "FLOOD_OVERALL_PER_SECOND": "100000",
        "FLOOD_GROUP_PER_MINUTE": "100000",
        "FLOOD_CHAT_PER_SECOND": "100000",
    }
    rows = []
    # One polling process on SQLite: the embedded default, the baseline.
    server = BotApiServer(TOKEN)
    await server.start()
    sqlite_url = f"sqlite:///{workdir / 'c-sqlite.db'}"
    (workdir / "c-sqlite.db").unlink(missing_ok=True)
    env = environment(server, sqlite_url, **fast)
    assert cli(env, "db", "upgrade").returncode == 0
    made = seed_couples(server, sqlite_url, 50, groups=False)
    people = [uid for a, s, _g in made for uid in (a, s)]
    polling = Process("run", 0, workdir / "c-run.log", env)
    with polling.log.open("ab") as out:
        polling.popen = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    while server.poll_count == 0:
        await asyncio.sleep(0.1)
    rows.append(("1 polling process, SQLite", *await throughput(server, seconds, people)))
    polling.signal(signal.SIGTERM)
    await polling.exited(30)
    await server.stop()
    for webs in (1, 2, 4):
        server = BotApiServer(TOKEN)
        await server.start()
        with fresh_postgres() as url:
            cluster = Cluster(server, url, workdir / f"c{webs}", extra=fast)
            cluster.workdir.mkdir(parents=True, exist_ok=True)
            await cluster.start(webs=webs, workers=1)
            try:
                made = seed_couples(server, url, 50, groups=False)
                people = [uid for a, s, _g in made for uid in (a, s)]
                rate, p95 = await throughput(server, seconds, people)
                rows.append((f"{webs} web + 1 worker, PostgreSQL", rate, p95))
            finally:
                await cluster.stop()
        await server.stop()
    base = rows[0][1]
    print(f"C. flow steps (/timezone), 100 people looping for {seconds:.0f} s:")
    for name, rate, p95 in rows:
        print(f"   {name:32} {rate:7.1f} steps/s ({rate / base:.2f}x)  p95 {p95 * 1000:6.0f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--couples", type=int, default=10_000)
    parser.add_argument("--conversations", type=int, default=1_000)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--parts", default="abc")
    parser.add_argument("--dir", default="/tmp/us-coach-bench-cluster")
    args = parser.parse_args()
    problem = postgres_problem()
    if problem:
        sys.exit(f"bench/cluster.py needs PostgreSQL: {problem}")
    workdir = Path(args.dir)
    workdir.mkdir(parents=True, exist_ok=True)
    if "a" in args.parts:
        await part_a(args.couples, workdir)
    if "b" in args.parts:
        await part_b(args.conversations, workdir)
    if "c" in args.parts:
        await part_c(args.seconds, workdir)


if __name__ == "__main__":
    asyncio.run(main())
