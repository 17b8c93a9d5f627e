"""What the flow runner works on: a run, an input, what it says and what came of it; the
conditions flows may use, and the engine's own markers. Plain data, no behaviour."""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from jinja2.sandbox import SandboxedEnvironment

from bot.engine.marks import Marks
from bot.words.parsing import ParseError, parse_weekly_slot
from bot.words.text import Text

BREAK = "_break"
RESUME = "_resume"
MAX_AUTO_STEPS = 50  # a guard against flows that loop through silent states forever
CONDITIONS = SandboxedEnvironment()


def _is_weekly_slot(text: object) -> bool:
    try:
        parse_weekly_slot(str(text))
    except ParseError:
        return False
    return True


# Conditions may check a typed "sat 15:00" before a flow relies on it.
CONDITIONS.filters["is_weekly_slot"] = _is_weekly_slot


class FlowBug(Exception):
    """The flow file is wrong in a way the checker could not see (e.g. an endless loop)."""


@dataclass(frozen=True)
class Member:
    id: int
    name: str
    lang: str = "en"  # what they hear in private: a word they choose is saved in it


@dataclass
class Run:
    """The engine's view of a stored FlowRun (plain data; JSON-safe context)."""

    flow_id: str
    state: str
    step: int
    roles: dict[str, int]
    context: dict[str, Any]
    in_group: bool
    status: str = "active"
    break_until: datetime | None = None
    marks: Marks = field(default_factory=Marks)  # the engine's bookkeeping, beside the answers


def own_copy(run: Run) -> Run:
    """A copy of `run` a step may change without touching the caller's. The context is
    JSON-safe (dicts, lists and immutable leaves), so copying its containers is enough:
    copy.deepcopy's memo and dispatch cost 3% of a Let go step (bench/flow_steps.py)."""
    return replace(
        run,
        roles=dict(run.roles),
        context=_containers(run.context),
        marks=Marks.from_json(run.marks.to_json()),
    )


def _containers(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _containers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_containers(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_containers(v) for v in value)
    if value is None or isinstance(value, (str, int, float, datetime)):
        return value  # immutable
    return copy.deepcopy(value)  # anything else: the careful way


@dataclass(frozen=True)
class Said:
    """One message: to a person's private chat (`person`) or to the group (`person` None)."""

    text: str | Text
    person: int | None
    choices: tuple[tuple[str, str | Text], ...] = ()  # (key, label); the caller builds button data
    step: int = 0
    force_reply_to: int | None = None  # in a group: whose reply the message asks for
    force_reply_all: bool = False


@dataclass(frozen=True)
class StartRequest:
    flow: str
    starter: int
    carry: dict[str, Any]
    authors: dict[str, int] = field(default_factory=dict)  # who wrote each carried answer


@dataclass
class Outcome:
    """What an input did. `changed` runs must be stored before the messages are sent."""

    run: Run
    messages: list[Said] = field(default_factory=list)
    changed: bool = False
    notice: str | None = None  # short answer to a button press (template name in common/)
    notice_args: dict[str, Any] = field(default_factory=dict)
    agreements: list[tuple[str, int | None, int | None]] = field(default_factory=list)
    effects: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    start_flows: list[StartRequest] = field(default_factory=list)
    hand_off: StartRequest | None = None
    break_minutes: int | None = None

    @property
    def ended(self) -> bool:
        return self.run.status != "active"


@dataclass(frozen=True)
class Input:
    person: int
    at: datetime
    text: str | None = None
    choice: str | None = None
    step: int | None = None  # the step the pressed button was made for
    private: bool = False  # typed or pressed in a private chat


def evaluate(expression: str, context: dict[str, Any]) -> bool:
    return bool(CONDITIONS.compile_expression(expression)(**context))


REACHED_PARTNER = "_reached_partner"


def pressed(flow_id: str, state: str, key: str, english: str) -> dict[str, str]:
    """A pressed button as a run keeps it (`<save>_label`, each of `<save>_labels`): which
    button it was, so each reader hears its label in their own language, and its English
    words for a reader of a newer flow that no longer has it."""
    return {"button": f"{flow_id}:{state}.{key}", "label": english}


def button_of(value: object) -> str | None:
    """The button ("flow:state.key") a stored value names, if it is a pressed button."""
    if isinstance(value, dict) and isinstance(value.get("button"), str) and "label" in value:
        return str(value["button"])
    return None


def shuffled(person: int | None, week: object, key: str) -> str:
    """A choice's place in a shuffled state: the same for one person all week, another the
    next week (a hash, so a restart or another process gives the same order)."""
    return hashlib.sha256(f"{person}:{week}:{key}".encode()).hexdigest()
