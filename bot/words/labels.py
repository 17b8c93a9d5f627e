"""Flow titles, descriptions and button labels, and the command menus, per language.

English lives in the flow YAML (flows/<id>.yaml) and prompts/en/commands.yaml; a language
translates them in prompts/<lang>/<flow id>/labels.yaml and prompts/<lang>/commands.yaml, so
a coach translates without Python. Button data never changes with the language. Each file
records the hash of the English it was made from (`source:`); `flows check` lists the stale.
"""

from __future__ import annotations

import json
import re
from functools import partial
from pathlib import Path
from typing import Any

from bot.engine.schema import Flow
from bot.words.languages import ENGLISH, Voice, english_hash
from bot.words.text import Phrase
from bot.yaml_files import read_yaml

ROLE = re.compile(r"\{([a-z_]+)\}")


def fill(label: str, names: dict[str, str]) -> str:
    """A label with its role placeholders filled in: "{speaker} first" -> "Sam first"."""
    return ROLE.sub(lambda m: names.get(m.group(1), m.group(0)), label)


def english_labels(flow: Flow) -> dict[str, Any]:
    """What a flow's labels.yaml translates, as English says it."""
    labels: dict[str, Any] = {"title": flow.title, "description": flow.description}
    if flow.break_ is not None:
        labels["break"] = flow.break_.label
    choices = {
        sid: {key: c.label for key, c in state.choices.items()}
        for sid, state in flow.states.items()
        if state.choices
    }
    if choices:
        labels["choices"] = choices
    # A button that suggests words as the answer (a topic, an idea) saves them: words too.
    values = {
        sid: {key: c.value for key, c in state.choices.items() if isinstance(c.value, str)}
        for sid, state in flow.states.items()
    }
    values = {sid: v for sid, v in values.items() if v}
    if values:
        labels["values"] = values
    return labels


def source_hash(english: dict[str, Any]) -> str:
    return english_hash(json.dumps(english, sort_keys=True, ensure_ascii=False))


class Labels:
    def __init__(self, prompts_root: Path) -> None:
        self.root = prompts_root
        self._files: dict[tuple[str, str], dict[str, Any]] = {}  # read once, a few dozen

    def file(self, lang: str, name: str) -> dict[str, Any]:
        if (lang, name) not in self._files:
            path = self.root / lang / name
            loaded = read_yaml(path) if path.is_file() else None
            self._files[lang, name] = loaded or {}
        return self._files[lang, name]

    def _flow(self, lang: str, flow_id: str) -> dict[str, Any]:
        return self.file(lang, f"{flow_id}/labels.yaml")

    def _look(self, flow: Flow, path: tuple[str, ...], english: str, voice: Voice) -> str:
        """A translated label; in a gendered language it may be `{m: ..., f: ..., n: ...}`,
        said in the reader's form (neutral until they chose)."""
        if voice.lang == ENGLISH:
            return english
        found: Any = self._flow(voice.lang, flow.id)
        for part in path:
            found = found.get(part) if isinstance(found, dict) and part in found else None
        if isinstance(found, dict) and set(found) == {"m", "f", "n"}:
            found = found.get(voice.you) if voice.you in ("m", "f") else found["n"]
        return str(found) if isinstance(found, str) and found else english

    def title(self, flow: Flow) -> Phrase:
        return Phrase(flow.title, partial(self._look, flow, ("title",), flow.title))

    def description(self, flow: Flow) -> Phrase:
        return Phrase(
            flow.description, partial(self._look, flow, ("description",), flow.description)
        )

    def break_label(self, flow: Flow) -> Phrase:
        english = flow.break_.label if flow.break_ else ""
        return Phrase(english, partial(self._look, flow, ("break",), english))

    def choice(self, flow: Flow, state: str, key: str, names: dict[str, str]) -> Phrase:
        english = flow.states[state].choices[key].label
        path = ("choices", state, key)
        return Phrase(
            fill(english, names),
            lambda voice: fill(self._look(flow, path, english, voice), names),
        )

    def value(self, flow: Flow, state: str, key: str) -> Phrase:
        """The words a suggested answer saves ("Money", "a picnic in the park")."""
        english = str(flow.states[state].choices[key].value)
        return Phrase(english, partial(self._look, flow, ("values", state, key), english))

    def commands(self, scope: str) -> list[tuple[str, Phrase]]:
        """The built-in commands of a menu ("private" or "group"), described in English."""
        english = self.file(ENGLISH, "commands.yaml").get(scope, {})
        return [
            (name, Phrase.per_language(text, partial(self._command, scope, name, text)))
            for name, text in english.items()
        ]

    def _command(self, scope: str, name: str, english: str, lang: str) -> str:
        found = self.file(lang, "commands.yaml").get(scope, {}).get(name)
        return str(found) if found else english
