"""A new flow is a YAML file and its templates: no Python. Written here, played through the bot."""

from __future__ import annotations

from pathlib import Path

from bot.emulator import BotApiServer, Conversation
from tests.helpers import Rig, copy_flows, engine_for, pair, settings_for, start_bot, until

THANKS = """
id: thanks
title: Thank you note
command: thanks
description: Send your partner a thank-you
runs_in: private
roles: {giver: starter, receiver: partner}
start: write_it
states:
  write_it:
    to: giver
    expect: text
    save: note
    next: check_it
  check_it:
    to: giver
    choices:
      send: {label: "Send", next: delivered}
      no: {label: "Don't send", next: kept}
  delivered:
    to: receiver
    end: true
  kept:
    to: giver
    end: true
"""
WORDS = {
    "write_it": "What are you thankful for, {{ you }}?",
    "check_it": "{{ name.receiver }} will read: {{ note }}",
    "delivered": "{{ name.giver }} thanks you: {{ note }}",
    "kept": "Kept it.",
}


async def test_a_flow_written_in_a_temporary_folder_runs(
    server: BotApiServer, tmp_path: Path
) -> None:
    flows, prompts = copy_flows(tmp_path)
    (flows / "thanks.yaml").write_text(THANKS)
    (prompts / "en" / "thanks").mkdir()
    for name, text in WORDS.items():
        (prompts / "en" / "thanks" / f"{name}.j2").write_text(text)

    db_path = tmp_path / "coach.db"
    bot = await start_bot(
        settings_for(db_path, server.base_url, flows_dir=flows, prompts_dir=prompts)
    )
    rig = Rig(
        server=server,
        talk=Conversation(server),
        db_path=db_path,
        bot=bot,
        engine=engine_for(db_path),
    )
    try:
        # The menus are published beside the first conversations (bot/telegram/main.py).
        await until(lambda: "all_private_chats" in server.commands, what="the menus")
        assert "thanks" in [c["command"] for c in server.commands["all_private_chats"]]
        alex, sam = await pair(rig)
        alex.says("/thanks")
        await alex.sees("What are you thankful for, Alex?")
        alex.says("the soup when I was ill")
        await alex.sees("Sam will read: the soup when I was ill")
        await alex.presses("Send")
        await sam.sees("Alex thanks you: the soup when I was ill")
    finally:
        await rig.bot.shutdown()
        rig.engine.dispose()
