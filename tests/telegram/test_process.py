"""`us-coach run` as a real process: answers soon after start, survives SIGKILL and SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import bot
from bot.emulator import BotApiServer, Conversation
from bot.emulator.cluster import environment
from tests.helpers import TOKEN, launch, pair_by_invite, wait_exit


async def test_killed_bot_restarts_with_nothing_lost(server: BotApiServer, tmp_path: Path) -> None:
    talk = Conversation(server, timeout=60)  # a slow start is slow, not wrong
    process = launch(server, tmp_path)
    try:
        alex, sam = await pair_by_invite(talk)
        alex.says("/schedule fri 18:30")
        await alex.sees("Friday at 18:30")
        await sam.sees("Alex set your weekly", "Friday at 18:30")
        process.send_signal(signal.SIGKILL)
        await wait_exit(process, 60)

        sam.says("/schedule")  # sent while the bot is down
        process = launch(server, tmp_path)
        await sam.sees("Your weekly State of the Union is on Friday at 18:30")
        alex.says("/invite")
        await alex.sees("already paired", "Sam")
    finally:
        process.kill()
        process.wait()


async def test_sigterm_stops_cleanly(server: BotApiServer, tmp_path: Path) -> None:
    talk = Conversation(server, timeout=60)
    process = launch(server, tmp_path)
    alex = talk.person("Alex")
    alex.says("/start")
    await alex.sees("Hi Alex")
    process.send_signal(signal.SIGTERM)
    assert await wait_exit(process, 60) == 0
    output = (tmp_path / "bot.log").read_text()
    assert "Traceback" not in output
    assert "stopping" in output


def cli_run(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *(args or ("run",))],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_missing_token_is_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    result = cli_run(tmp_path, env)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "TELEGRAM_BOT_TOKEN" in result.stderr and "Traceback" not in result.stderr


def test_malformed_token_is_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": "not-a-token"}
    result = cli_run(tmp_path, env)
    assert result.returncode == 2
    assert "malformed" in result.stderr and "Traceback" not in result.stderr


def test_env_file_in_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("TELEGRAM_BOT_TOKEN=oops\n")
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    result = cli_run(tmp_path, env)
    assert "malformed" in result.stderr


def test_db_upgrade_command_creates_the_schema(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    result = cli_run(tmp_path, env, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "x.db").exists()


async def test_a_rejected_token_is_one_line(server: BotApiServer, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": "999999:SOME-other-token-the-server-does-not-know",
        "TELEGRAM_API_BASE_URL": server.base_url,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1
    assert "rejected TELEGRAM_BOT_TOKEN" in err.decode()
    assert "Traceback" not in err.decode() and "Unclosed" not in err.decode()


def test_an_unreachable_bot_api_is_one_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/bot",
    }
    result = cli_run(tmp_path, env)
    assert result.returncode == 1
    assert "cannot reach the Bot API" in result.stderr and "Traceback" not in result.stderr


def test_the_processes_started_run_this_checkouts_bot(tmp_path: Path) -> None:
    """A worktree's cluster (and its benchmarks) runs its own code, not the installed one."""
    env = environment(BotApiServer(TOKEN), "sqlite://")
    ran = subprocess.run(
        [sys.executable, "-c", "import bot; print(bot.__file__)"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(ran.stdout.strip()).resolve() == Path(bot.__file__).resolve()
