"""Several `us-coach` processes on one database, behind one load balancer, fed by the
emulator's webhook mode: what the scale tests and `bench/cluster.py` run, and (as
`python -m bot.emulator.cluster`) a cluster an operator can watch on one machine."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bot.emulator import BotApiServer
from bot.emulator.balancer import Balancer

SECRET = "a-webhook-secret-for-tests"
# The processes run the checkout this module came from, not whichever one pip installed (a
# worktree benchmarked its own code only when it happened to be the installed one).
CHECKOUT = Path(__file__).resolve().parents[2]


def checkout_path() -> str:
    """PYTHONPATH for a child: this checkout first, then whatever the caller had set."""
    return os.pathsep.join(p for p in (str(CHECKOUT), os.environ.get("PYTHONPATH", "")) if p)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment(server: BotApiServer, database_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": checkout_path(),
        "TELEGRAM_BOT_TOKEN": server.token,
        "TELEGRAM_API_BASE_URL": server.base_url,
        "DATABASE_URL": database_url,
        "WEBHOOK_SECRET": SECRET,
        "LOG_LEVEL": "INFO",
        "OUTBOX_LEASE_SECONDS": "2",
        "NUDGE_TICK_SECONDS": "0.5",
        "VOICE_LOAD_AT_START": "false",  # workers load the speech model at their first note
        **extra,
    }


def cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@dataclass
class Process:
    kind: str  # web or worker
    port: int
    log: Path
    env: dict[str, str]
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bot.cli",
                    self.kind,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def ready(self, timeout: float = 60) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with aiohttp.ClientSession() as session:
            while loop.time() < deadline:
                assert self.popen is not None
                if self.popen.poll() is not None:
                    raise AssertionError(f"{self.kind} exited: {self.log.read_text()[-3000:]}")
                try:
                    async with session.get(self.url + "/readyz") as answer:
                        if answer.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"{self.kind} not ready: {self.log.read_text()[-3000:]}")

    def signal(self, sig: signal.Signals) -> None:
        assert self.popen is not None
        self.popen.send_signal(sig)

    async def exited(self, timeout: float = 30) -> int:
        assert self.popen is not None
        for _ in range(int(timeout * 20)):
            code = self.popen.poll()
            if code is not None:
                return code
            await asyncio.sleep(0.05)
        self.popen.kill()
        raise AssertionError(f"{self.kind} on {self.port} did not exit in time")

    def kill(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()


@dataclass
class Cluster:
    server: BotApiServer
    database_url: str
    workdir: Path
    extra: dict[str, str] = field(default_factory=dict)  # more settings for every process
    webs: list[Process] = field(default_factory=list)
    workers: list[Process] = field(default_factory=list)
    balancer: Balancer | None = None

    @property
    def env(self) -> dict[str, str]:
        return environment(self.server, self.database_url, **self.extra)

    async def start(self, webs: int = 2, workers: int = 1) -> None:
        migrated = cli(self.env, "db", "upgrade")
        assert migrated.returncode == 0, migrated.stderr
        for n in range(webs):
            self.webs.append(Process("web", free_port(), self.workdir / f"web{n}.log", self.env))
        for n in range(workers):
            self.workers.append(
                Process("worker", free_port(), self.workdir / f"worker{n}.log", self.env)
            )
        for process in (*self.webs, *self.workers):
            process.start()
        await asyncio.gather(*(p.ready() for p in (*self.webs, *self.workers)))
        self.balancer = Balancer([p.url for p in self.webs])
        await self.balancer.start()
        hooked = await asyncio.to_thread(
            cli, self.env, "webhook", "set", self.balancer.url + "/telegram"
        )
        assert hooked.returncode == 0, hooked.stderr
        assert self.server.webhook is not None

    async def stop(self) -> None:
        for process in (*self.webs, *self.workers):
            if process.popen is not None and process.popen.poll() is None:
                process.signal(signal.SIGTERM)
        for process in (*self.webs, *self.workers):
            if process.popen is not None:
                try:
                    await process.exited(30)
                except AssertionError:
                    process.kill()
        if self.balancer is not None:
            await self.balancer.stop()

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.log.name}\n{p.log.read_text()[-2000:]}"
            for p in (*self.webs, *self.workers)
            if p.log.exists()
        )


async def _demo(database_url: str, webs: int, workers: int, workdir: Path, stay: bool) -> None:
    from bot.emulator import Conversation

    server = BotApiServer("123456:DEMO-token-for-the-local-bot-api-server")
    await server.start()
    cluster = Cluster(server, database_url, workdir)
    try:
        await cluster.start(webs=webs, workers=workers)
        assert cluster.balancer is not None and server.webhook is not None
        print(f"emulated Telegram: {server.base_url} (webhook mode -> {server.webhook.url})")
        for process in (*cluster.webs, *cluster.workers):
            print(f"{process.kind:6} {process.url}  /healthz /readyz /metrics  log: {process.log}")
        talk = Conversation(server, timeout=30)
        alex, sam = talk.person("Alex"), talk.person("Sam")
        alex.says("/invite")
        code = (await alex.sees("invite link")).text.split("?start=")[1].split()[0]
        sam.says(f"/start {code}")
        paired = await sam.sees("now a couple")
        print(f"a couple paired through the webhook: Sam read {paired.text.splitlines()[0]!r}")
        if stay:
            print("running; Ctrl-C stops every process cleanly")
            await asyncio.Event().wait()
    finally:
        await cluster.stop()
        await server.stop()


def main() -> None:
    import argparse
    import contextlib

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "DATABASE_URL", "postgresql+psycopg://uscoach:uscoach@127.0.0.1:5432/uscoach"
        ),
    )
    parser.add_argument("--webs", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--dir", default="us-coach-cluster", help="where the logs go")
    parser.add_argument("--once", action="store_true", help="pair one couple, then stop")
    args = parser.parse_args()
    workdir = Path(args.dir)
    workdir.mkdir(exist_ok=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_demo(args.database_url, args.webs, args.workers, workdir, not args.once))


if __name__ == "__main__":
    main()
