"""Telegram HTML -> (plain text, entities), the way the Bot API parses `parse_mode=HTML`."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

ALLOWED = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "tg-spoiler": "spoiler",
    "blockquote": "blockquote",
    "span": "spoiler",
    "tg-emoji": "custom_emoji",
}


class EntityError(ValueError):
    pass


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text = ""
        self.stack: list[tuple[str, int, dict[str, str | None]]] = []
        self.entities: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED:
            raise EntityError(f'Unsupported start tag "{tag}"')
        self.stack.append((tag, utf16_len(self.text), dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1][0] != tag:
            raise EntityError(f'Unmatched end tag "{tag}"')
        _tag, start, attrs = self.stack.pop()
        length = utf16_len(self.text) - start
        if length == 0:
            return
        entity: dict[str, Any] = {"type": ALLOWED[tag], "offset": start, "length": length}
        if tag == "a":
            href = attrs.get("href") or ""
            if href.startswith("tg://user?id="):
                entity = {
                    "type": "text_mention",
                    "offset": start,
                    "length": length,
                    "user": {"id": int(href.split("=", 1)[1]), "is_bot": False, "first_name": ""},
                }
            else:
                entity["url"] = href
        self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        self.text += data


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    parser = _Parser()
    parser.feed(source)
    parser.close()
    if parser.stack:
        raise EntityError(f'Can\'t find end tag corresponding to start tag "{parser.stack[-1][0]}"')
    return parser.text, sorted(parser.entities, key=lambda e: e["offset"])
