"""/space: Our space, the couple's Mini App. In a private chat a `web_app` button opens it;
in the group (where Telegram allows no `web_app` button) a link to the app's direct link,
whose `startapp` names the couple (the app checks the opener is a member)."""

from __future__ import annotations

from bot.coaching.couples import CoupleService
from bot.core.events import Event
from bot.core.outbox import Button, Outgoing, Reply
from bot.core.work import Tx


def start_param_for(couple_id: int) -> str:
    """The `startapp` payload naming a couple (t.me/<bot>/<app>?startapp=c42); the app reads
    it back (bot/miniapp/views.py) and checks the opener belongs to that couple."""
    return f"c{couple_id}"


class OurSpace:
    def __init__(self, couples: CoupleService, url: str, short_name: str) -> None:
        self.couples = couples
        self.url = url  # the page's public HTTPS address (MINIAPP_URL)
        self.short_name = short_name  # the name BotFather gave the app (MINIAPP_SHORT_NAME)

    def open(self, tx: Tx, event: Event) -> Reply:
        label = self.couples.renderer.label("common/space_button")
        if not event.in_group:
            if not self.url:
                return self.couples.reply(event, "space_off")
            button = Button(label, web_app=self.url)
        else:
            couple = self.couples.couple_by_group(tx, event.chat_id)
            if couple is None or couple.id is None or not self.short_name:
                return self.couples.reply(event, "space_off")
            bot = self.couples.bot_username
            button = Button(
                label,
                url=f"https://t.me/{bot}/{self.short_name}?startapp={start_param_for(couple.id)}",
            )
        text = self.couples.renderer.render("common/space")
        return Reply().add(Outgoing(chat_id=event.chat_id, text=text, buttons=((button,),)))
