"""Which language each chat hears, read inside the transaction that queues its messages.

A private chat hears its person: their /language choice, else their Telegram language, else
English. A group hears its couple's language: set with /language in the group, else the
first partner's. A chat we know nothing of (a stranger's /start, a group not linked yet)
hears the language of the person whose update this is, else English.
"""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, select

from bot.storage.tables import COUPLES, PARTNERS
from bot.words.languages import ENGLISH, GENDERED, Voice, both, pick

Hint = tuple[int, str | None]  # (person id, Telegram language code) of the update's sender


# Built once: an alias made per call costs more than the query (its column collection is set
# up anew each time), and these two run for every message queued.
_OTHER = PARTNERS.alias("other")
_SPEAKERS = select(
    PARTNERS.c.id,
    PARTNERS.c.language,
    PARTNERS.c.language_code,
    PARTNERS.c.first_name,
    PARTNERS.c.form,
    _OTHER.c.first_name.label("partner_name"),
    _OTHER.c.form.label("partner_form"),
).outerjoin(_OTHER, (_OTHER.c.couple_id == PARTNERS.c.couple_id) & (_OTHER.c.id != PARTNERS.c.id))
_PRIVATE = _SPEAKERS.where(PARTNERS.c.id.in_(bindparam("people", expanding=True)))
# Most messages go to one person: an expanding IN is rendered anew on every execution, an
# equality is compiled once and cached (33 -> 23 µs a call, /tmp/voices_mb.py).
_PERSON = _SPEAKERS.where(PARTNERS.c.id == bindparam("person"))
_FIRST, _SECOND = PARTNERS.alias("first"), PARTNERS.alias("second")
_GROUPS = (
    select(
        COUPLES.c.group_chat_id,
        COUPLES.c.language,
        _FIRST.c.language.label("first_language"),
        _FIRST.c.language_code,
        _FIRST.c.first_name.label("first_name"),
        _FIRST.c.form.label("first_form"),
        _SECOND.c.first_name.label("second_name"),
        _SECOND.c.form.label("second_form"),
    )
    .select_from(COUPLES)
    .outerjoin(_FIRST, (_FIRST.c.couple_id == COUPLES.c.id) & (_FIRST.c.seat == 1))
    .outerjoin(_SECOND, (_SECOND.c.couple_id == COUPLES.c.id) & (_SECOND.c.seat == 2))
    .where(COUPLES.c.group_chat_id.in_(bindparam("groups", expanding=True)))
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
    if len(people) == 1:
        rows = conn.execute(_PERSON, {"person": people[0]}).all()
    else:
        rows = conn.execute(_PRIVATE, {"people": people}).all()
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
    rows = conn.execute(_GROUPS, {"groups": groups}).all()
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
