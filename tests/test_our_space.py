"""/space and the chat's menu button open Our space: a `web_app` button in private, a link to
the app's direct link naming the couple in the group (Telegram allows no `web_app` button
there), and a plain answer where the operator has not switched it on."""

from __future__ import annotations

from tests.helpers import Rig, linked_group, pair

URL = "https://coach.example.org/app/"


async def test_space_is_a_kind_answer_until_the_operator_switches_it_on(rig: Rig) -> None:
    alex, _sam = await pair(rig)
    alex.says("/space")
    said = await alex.sees("isn't switched on")
    assert said.buttons == []
    assert rig.server.menu_button is None


async def test_space_opens_the_mini_app_in_private_and_links_it_in_the_group(rig: Rig) -> None:
    await rig.restart(miniapp_url=URL, miniapp_short_name="space")
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
