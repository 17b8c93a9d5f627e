"""The built-in commands of the menus (setMyCommands) and /help; their descriptions, in every
language, are in prompts/<lang>/commands.yaml (see bot/words/labels.py)."""

from __future__ import annotations

import yaml

from bot import PROJECT_ROOT

_ENGLISH = PROJECT_ROOT / "prompts" / "en" / "commands.yaml"
_MENUS = yaml.safe_load(_ENGLISH.read_text(encoding="utf-8"))

PRIVATE = list(_MENUS["private"].items())
GROUP = list(_MENUS["group"].items())
