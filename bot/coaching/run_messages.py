"""A flow step's messages, addressed: a person's private chat, or the couple's group (where a
text step also opens Telegram's reply box)."""

from __future__ import annotations

from bot.core.outbox import Button, Outgoing
from bot.engine.runner import BREAK, Said
from bot.storage.rows import RunRow
from bot.storage.runs import CoupleView
from bot.words.buttons import FlowChoice
from bot.words.texts import Renderer, mention


def addressed(
    renderer: Renderer, row: RunRow, saids: list[Said], couple: CoupleView
) -> list[Outgoing]:
    """Address the engine's messages: a person's private chat, or the couple's group."""
    out: list[Outgoing] = []
    for said in saids:
        buttons = tuple(
            (Button(label, data=FlowChoice(row.id or 0, said.step, key).pack()),)
            for key, label in said.choices
        )
        if said.person is not None:
            out.append(Outgoing(chat_id=said.person, text=said.text, buttons=buttons))
        elif row.in_group and couple.group_chat_id is not None:
            out.extend(_in_group(renderer, couple, said, buttons))
        else:  # the group was unlinked mid-flow: fall back to both private chats
            out.extend(Outgoing(chat_id=p, text=said.text, buttons=buttons) for p in couple.members)
    return out


def _in_group(
    renderer: Renderer,
    couple: CoupleView,
    said: Said,
    buttons: tuple[tuple[Button, ...], ...],
) -> list[Outgoing]:
    """A step's message in the group. A text step opens Telegram's reply box (ForceReply,
    aimed at whoever should answer), because under privacy mode only a reply reaches the
    bot. A message has one keyboard, so the step's own buttons come with its text and the
    reply box follows in a short message of its own; a break button alone is left out
    (an earlier one still works)."""
    group = couple.group_chat_id or 0
    target = couple.members.get(said.force_reply_to or 0)
    if target is None and not said.force_reply_all:
        return [Outgoing(chat_id=group, text=said.text, buttons=buttons)]
    aimed = (target.id, target.name) if target else None
    if all(key == BREAK for key, _label in said.choices):
        return [Outgoing(chat_id=group, text=said.text, force_reply=True, mention=aimed)]
    name = mention(target.id, target.name) if target else ""
    return [
        Outgoing(chat_id=group, text=said.text, buttons=buttons),
        Outgoing(
            chat_id=group,
            text=renderer.render("common/reply_here", name=name),
            force_reply=True,
            mention=aimed,
        ),
    ]
