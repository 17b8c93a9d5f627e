"""/language: the language a person hears in private, and the couple's in their group.

A private chat follows the person's choice, else their Telegram language; the group follows
the couple's choice, else the first partner's. What a message says is chosen at the one way
out (bot/storage/voices.py), so the answer to a choice already speaks the new language.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.core.events import Event
from bot.core.outbox import Button, Notice, Outgoing, Reply
from bot.core.work import Tx
from bot.storage.couples import Couples
from bot.storage.partners import Partners
from bot.storage.tables import COUPLES, PARTNERS
from bot.storage.voices import voices
from bot.words.buttons import FormChoice, LanguageChoice
from bot.words.languages import FORMS, GENDERED, NAMES, SHIPPED, base, pick, unspoken
from bot.words.texts import Renderer

AUTO = "auto"


class LanguageSettings:
    def __init__(self, renderer: Renderer, reads: frozenset[str]) -> None:
        self.renderer = renderer
        self.reads = reads  # languages the safety detector has measured signals for

    def reads_code(self, telegram_code: str | None) -> bool:
        """Whether the safety check reads the language of someone with this Telegram
        language who has not chosen one (one we do not ship: it cannot)."""
        return unspoken(telegram_code) is None and pick(None, telegram_code) in self.reads

    def command(self, tx: Tx, event: Event, argument: str) -> Reply:
        whose = "us" if event.in_group else "me"
        if event.in_group and self._couple_of_group(tx, event) is None:
            return self._say(event, "language_group_refused")
        wanted = base(argument)
        if argument.strip():
            if wanted in SHIPPED or argument.strip().lower() == AUTO:
                return self._choose(tx, event, whose, wanted if wanted in SHIPPED else AUTO)
            return self._menu(event, whose, given=argument.strip()[:32])
        return self._menu(event, whose).extend(self.form_question(tx, event, again=True))

    def button(self, tx: Tx, event: Event, data: LanguageChoice) -> Reply:
        if data.whose not in ("me", "us") or (data.code not in SHIPPED and data.code != AUTO):
            return Reply(notice=Notice(self.renderer.render("common/button_unknown")))
        if (data.whose == "us") != event.in_group:
            return Reply(notice=Notice(self.renderer.render("common/button_unknown")))
        if event.in_group and self._couple_of_group(tx, event) is None:
            return Reply(notice=Notice(self.renderer.render("common/not_for_you")))
        return self._choose(tx, event, data.whose, data.code)

    # ----- helpers -------------------------------------------------------------------------

    @staticmethod
    def _couple_of_group(tx: Tx, event: Event) -> int | None:
        """The couple whose group this is, when the person asking is one of them."""
        return tx.conn.execute(
            select(COUPLES.c.id)
            .join(PARTNERS, PARTNERS.c.couple_id == COUPLES.c.id)
            .where(COUPLES.c.group_chat_id == event.chat_id, PARTNERS.c.id == event.person.id)
        ).scalar()

    def _choose(self, tx: Tx, event: Event, whose: str, code: str) -> Reply:
        chosen = None if code == AUTO else code
        if whose == "us":
            Couples.set_group_language(tx.conn, event.chat_id, chosen)
        else:
            Partners.set_language(tx.conn, event.person.id, chosen)
        reply = self._say(event, "language_set", auto=chosen is None, whose=whose)
        heard = chosen or pick(None, event.person.language_code)
        if whose == "me" and heard not in self.reads:
            reply.extend(self.safety_unread(event.chat_id))
        if whose == "me":
            reply.extend(self.form_question(tx, event))
        return reply

    def form_question(self, tx: Tx, event: Event, *, again: bool = False) -> Reply:
        """In a language whose words change with gender, how the person wants to be
        addressed: asked once (when they first write, or first choose such a language), and
        with /language again. Never in a group: it is each person's own choice."""
        if event.in_group:
            return Reply()
        person = event.person.id
        voice = voices(tx.conn, [person], (person, event.person.language_code))[person]
        form = voice.you or None  # their stored choice (a gendered language's voice carries it)
        if voice.lang not in GENDERED or (form is not None and not again):
            return Reply()
        rows = tuple(
            (Button(self.renderer.label(f"common/form_{f}_button"), data=FormChoice(f).pack()),)
            for f in FORMS
        )
        text = self.renderer.render("common/form_question", chosen=form)
        return Reply().add(Outgoing(event.chat_id, text, buttons=rows))

    def choose_form(self, tx: Tx, event: Event, form: str) -> Reply:
        if form not in FORMS or event.in_group:
            return Reply(notice=Notice(self.renderer.render("common/button_unknown")))
        if not Partners.set_form(tx.conn, event.person.id, form):
            return Reply(notice=Notice(self.renderer.render("common/not_paired")))
        return self._say(event, "form_set")

    def safety_unread(self, chat_id: int, telegram_code: str | None = None) -> Reply:
        """Said once a person hears a language the safety check cannot read: the help stays
        one command away."""
        return Reply().add(
            Outgoing(
                chat_id,
                self.renderer.render("common/safety_unread", other=unspoken(telegram_code)),
            )
        )

    def _menu(self, event: Event, whose: str, given: str | None = None) -> Reply:
        rows = [(Button(NAMES[code], data=LanguageChoice(whose, code).pack()),) for code in SHIPPED]
        rows.append(
            (
                Button(
                    self.renderer.label("common/language_auto_button", whose=whose),
                    data=LanguageChoice(whose, AUTO).pack(),
                ),
            )
        )
        text = self.renderer.render("common/language_menu", whose=whose, given=given)
        return Reply().add(Outgoing(event.chat_id, text, buttons=tuple(rows)))

    def _say(self, event: Event, template: str, **context: object) -> Reply:
        return Reply().add(
            Outgoing(event.chat_id, self.renderer.render(f"common/{template}", **context))
        )
