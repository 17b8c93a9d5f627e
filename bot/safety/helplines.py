"""Where to get help, by the country a person's Telegram language code names."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Helplines:
    emergency: str
    lines: list[str]


@cache
def _data(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


def helplines_for(language_code: str | None, path: Path = HERE / "helplines.yaml") -> Helplines:
    """The entry for the person's country where their language code names one."""
    data = _data(path)
    code = (language_code or "").lower()
    country = data["languages"].get(code) or data["languages"].get(code.split("-")[0])
    entry = data["countries"].get(country or "international") or data["countries"]["international"]
    return Helplines(emergency=entry["emergency"], lines=list(entry["lines"]))
