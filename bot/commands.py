"""The built-in commands of the menus (setMyCommands) and /help; their descriptions, in every
language, are in prompts/<lang>/commands.yaml (see bot/labels.py)."""

from __future__ import annotations

from pathlib import Path

import yaml

_ENGLISH = Path(__file__).resolve().parent.parent / "prompts" / "en" / "commands.yaml"
_MENUS = yaml.safe_load(_ENGLISH.read_text(encoding="utf-8"))

PRIVATE = list(_MENUS["private"].items())
GROUP = list(_MENUS["group"].items())
