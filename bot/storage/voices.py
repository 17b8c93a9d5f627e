"""Which language each chat hears, read inside the transaction that queues its messages.

A private chat hears its person: their /language choice, else their Telegram language, else
English. A group hears its couple's language: set with /language in the group, else the
first partner's. A chat we know nothing of (a stranger's /start, a group not linked yet)
hears the language of the person whose update this is, else English.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import Connection, select, update

from bot.core.outbox import Button, Notice, Outgoing
from bot.storage.tables import COUPLES, PARTNERS
from bot.words.languages import ENGLISH, GENDERED, Voice, both, pick, said_in

Hint = tuple[int, str | None]  # (person id, Telegram language code) of the update's sender


def remember(conn: Connection, hint: Hint) -> None:
    """Keep a person's Telegram language as Telegram last said it (they may change it)."""
    person, code = hint
    if code:
        conn.execute(
            update(PARTNERS)
            .where(PARTNERS.c.id == person, PARTNERS.c.language_code.is_distinct_from(code))
            .values(language_code=code[:16])
        )


def person_language(conn: Connection, person_id: int, hint: Hint | None = None) -> str:
    return languages(conn, [person_id], hint)[person_id]


def languages(conn: Connection, chat_ids: list[int], hint: Hint | None = None) -> dict[int, str]:
    return {chat: voice.lang for chat, voice in voices(conn, chat_ids, hint).items()}


def voices(conn: Connection, chat_ids: list[int], hint: Hint | None = None) -> dict[int, Voice]:
    """Each chat's language and, in a gendered language, the forms its words take: a private
    chat's person and their partner; a group's couple (plural) and each partner by name."""
    people = sorted({c for c in chat_ids if c > 0} | ({hint[0]} if hint else set()))
    groups = sorted({c for c in chat_ids if c < 0})
    found = _private(conn, people, hint) if people else {}
    if groups:
        found |= _groups(conn, groups)
    # A chat we know nothing of (a group not linked yet) hears whoever is acting in it.
    unknown = Voice(found[hint[0]].lang) if hint else Voice(ENGLISH)
    return {chat: found.get(chat, unknown) for chat in chat_ids} | (
        {hint[0]: found[hint[0]]} if hint else {}
    )


def _private(conn: Connection, people: list[int], hint: Hint | None) -> dict[int, Voice]:
    other = PARTNERS.alias("other")
    rows = conn.execute(
        select(
            PARTNERS.c.id,
            PARTNERS.c.language,
            PARTNERS.c.language_code,
            PARTNERS.c.first_name,
            PARTNERS.c.form,
            other.c.first_name.label("partner_name"),
            other.c.form.label("partner_form"),
        )
        .outerjoin(
            other, (other.c.couple_id == PARTNERS.c.couple_id) & (other.c.id != PARTNERS.c.id)
        )
        .where(PARTNERS.c.id.in_(people))
    ).all()
    found: dict[int, Voice] = {}
    for row in rows:
        code = row.language_code
        if hint and row.id == hint[0] and hint[1]:
            code = hint[1]  # what Telegram says now beats what we stored
        lang = pick(row.language, code)
        if lang not in GENDERED:
            found[row.id] = Voice(lang)
            continue
        mine = [(row.first_name, row.form or "")]
        if row.partner_name is not None:
            mine.append((row.partner_name, row.partner_form or ""))
        found[row.id] = Voice(lang, row.form or "", row.partner_form or "", tuple(mine))
    if hint and hint[0] not in found:
        found[hint[0]] = Voice(pick(None, hint[1]))
    return found


def _groups(conn: Connection, groups: list[int]) -> dict[int, Voice]:
    first, second = PARTNERS.alias("first"), PARTNERS.alias("second")
    rows = conn.execute(
        select(
            COUPLES.c.group_chat_id,
            COUPLES.c.language,
            first.c.language.label("first_language"),
            first.c.language_code,
            first.c.first_name.label("first_name"),
            first.c.form.label("first_form"),
            second.c.first_name.label("second_name"),
            second.c.form.label("second_form"),
        )
        .select_from(COUPLES)
        .outerjoin(first, (first.c.couple_id == COUPLES.c.id) & (first.c.seat == 1))
        .outerjoin(second, (second.c.couple_id == COUPLES.c.id) & (second.c.seat == 2))
        .where(COUPLES.c.group_chat_id.in_(groups))
    ).all()
    found: dict[int, Voice] = {}
    for group in rows:
        lang = group.language or pick(group.first_language, group.language_code)
        if lang not in GENDERED:
            found[group.group_chat_id] = Voice(lang)
            continue
        known = tuple(
            (name, form or "")
            for name, form in (
                (group.first_name, group.first_form),
                (group.second_name, group.second_form),
            )
            if name is not None
        )
        plural = both(group.first_form, group.second_form)
        found[group.group_chat_id] = Voice(lang, plural, "", known)
    return found


def translated(message: Outgoing, voice: Voice | str) -> Outgoing:
    """The message in `voice`: its Words said again (anything else stays as it is)."""
    lang = voice if isinstance(voice, Voice) else Voice(voice)
    if lang.lang == ENGLISH:
        return message
    return replace(
        message,
        text=str(said_in(message.text, lang)),
        placeholder=str(said_in(message.placeholder, lang)) if message.placeholder else None,
        ask_location=str(said_in(message.ask_location, lang)) if message.ask_location else None,
        chart_labels=str(said_in(message.chart_labels, lang)) if message.chart_labels else None,
        buttons=tuple(
            tuple(Button(str(said_in(b.label, lang)), b.data, b.url) for b in row)
            for row in message.buttons
        ),
    )


def translated_notice(notice: Notice, lang: Voice | str) -> Notice:
    return Notice(str(said_in(notice.text, lang)))
