"""/space and the chat's menu button open Our space: a `web_app` button in private, a link to
the app's direct link naming the couple in the group (Telegram allows no `web_app` button
there), and a plain answer where the operator has not switched it on."""

from __future__ import annotations

from typing import Any

import aiohttp

from bot.emulator import Human
from bot.emulator.cluster import free_port
from bot.miniapp.auth import sign_init_data
from tests.helpers import (
    TOKEN,
    Rig,
    a_week_of_practices,
    linked_group,
    pair,
    until,
)

URL = "https://coach.example.org/app/"


async def test_space_is_a_kind_answer_until_the_operator_switches_it_on(rig: Rig) -> None:
    alex, _sam = await pair(rig)
    alex.says("/space")
    said = await alex.sees("isn't switched on")
    assert said.buttons == []
    assert rig.server.menu_button is None


async def test_space_opens_the_mini_app_in_private_and_links_it_in_the_group(rig: Rig) -> None:
    await rig.restart(miniapp_url=URL, miniapp_short_name="space")
    # Published beside the first conversations (bot/telegram/main.py), so waited for.
    await until(lambda: rig.server.menu_button is not None, what="the menu button")
    assert rig.server.menu_button == {
        "type": "web_app",
        "text": "Open Our space",
        "web_app": {"url": URL},
    }
    alex, sam = await pair(rig)
    alex.says("/space")
    said = await alex.sees("Our space", "appreciations you received")
    assert said.buttons == [{"text": "Open Our space", "web_app": {"url": URL}}]
    group = await linked_group(rig, alex, sam)
    sam.says("/space", group)
    said = await sam.sees("Our space", in_=group)
    (button,) = said.buttons
    assert button["url"].startswith(f"https://t.me/{rig.server.bot_username}/space?startapp=c")
    assert "web_app" not in button


async def test_what_each_partner_sees_after_a_real_week(rig: Rig) -> None:
    """A whole meeting with an agreement, check-ins shared by both (and one Sam kept), an
    appreciation: then each opens Our space over HTTP, signed as Telegram would sign it."""
    port = free_port()
    await rig.restart(miniapp_port=port)
    alex, sam = await pair(rig)
    group = await linked_group(rig, alex, sam)
    await a_week_of_practices(alex, sam, group, "the soup you made when I was ill")
    await rig.talk.settle()
    rig.talk.mark_read(alex.private)
    rig.talk.mark_read(sam.private)
    rig.talk.mark_read(group)

    base = f"http://127.0.0.1:{port}/app/api/"
    async with aiohttp.ClientSession() as session:

        async def me(person: Human) -> dict[str, Any]:
            init = sign_init_data(TOKEN, {"id": person.id, "first_name": person.name})
            async with session.get(base + "me", headers={"Authorization": f"tma {init}"}) as r:
                assert r.status == 200
                return dict(await r.json())

        seen_by_alex, seen_by_sam = await me(alex), await me(sam)
        async with session.get(base + "me") as r:
            assert r.status == 401  # no initData, no couple
        for seen in (seen_by_alex, seen_by_sam):
            assert [a["text"] for a in seen["agreements"]] == ["Phones away at dinner"]
        assert [a["text"] for a in seen_by_sam["appreciations"]] == [
            "the soup you made when I was ill"
        ]
        assert seen_by_alex["appreciations"] == []  # sent, not received
        assert len(seen_by_alex["checkins"]["partner"]) == 1  # Sam's shared one, not the kept
        assert len(seen_by_sam["checkins"]["mine"]) == 2

        init = sign_init_data(TOKEN, {"id": alex.id, "first_name": alex.name})
        async with session.post(
            base + "settings/timezone",
            json={"zone": "Asia/Tokyo"},
            headers={"Authorization": f"tma {init}"},
        ) as r:
            assert r.status == 200 and (await r.json())["confirmed"] is True
    await alex.sees("Tokyo")  # the chat confirms it, as after /timezone
    await sam.sees("Alex", "Tokyo")  # and the partner hears of it, as after the command
