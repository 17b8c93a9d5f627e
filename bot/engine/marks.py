"""The engine's own bookkeeping, kept beside a run's answers rather than inside them.

A run's `context` holds what the couple said and chose (templates and conditions read
it); `Marks` holds who the run has spoken to, who answered or voted in the current step,
and who wrote each saved answer. Export and /forget ask the marks: `authored_by` and
`scrub`. Telegram-free, JSON-safe.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Marks:
    seen: list[int] = field(default_factory=list)  # who the run has addressed so far
    answered: dict[str, str] = field(default_factory=dict)  # this step: person -> text
    votes: dict[str, str] = field(default_factory=dict)  # this step: person -> choice
    by: dict[str, int] = field(default_factory=dict)  # saved answer's key -> its author
    disagreed: int = 0  # this step: how often both voted and their votes differed

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Marks:
        data = data or {}
        return cls(
            seen=[int(p) for p in data.get("seen", [])],
            answered=dict(data.get("answered", {})),
            votes=dict(data.get("votes", {})),
            by={k: int(v) for k, v in data.get("by", {}).items()},
            disagreed=int(data.get("disagreed", 0)),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "seen": list(self.seen),
            "answered": dict(self.answered),
            "votes": dict(self.votes),
            "by": dict(self.by),
            "disagreed": self.disagreed,
        }

    def copy(self) -> Marks:
        return copy.deepcopy(self)

    def next_step(self) -> None:
        """A new step: its answers and votes start afresh."""
        self.answered.clear()
        self.votes.clear()
        self.disagreed = 0

    def authored_by(self, context: dict[str, Any], person: int) -> dict[str, Any]:
        """The answers in `context` that `person` wrote, and nothing else."""
        mine: dict[str, Any] = {
            k: context[k] for k, who in self.by.items() if who == person and k in context
        }
        for key, value in context.items():
            if isinstance(value, list):
                items = [i for i in value if isinstance(i, dict) and i.get("by") == person]
                if items:
                    mine[key] = [i.get("text") for i in items]
        for name, given in (("answered", self.answered), ("votes", self.votes)):
            if str(person) in given:
                mine[name] = given[str(person)]
        return mine

    def scrub(self, context: dict[str, Any], person: int) -> tuple[dict[str, Any], Marks]:
        """`context` and these marks with everything `person` wrote or was named by gone."""
        clean: dict[str, Any] = {}
        for key, value in context.items():
            if self.by.get(key) == person:
                continue
            if isinstance(value, list):
                value = [i for i in value if not (isinstance(i, dict) and i.get("by") == person)]
            clean[key] = value
        marks = Marks(
            seen=[p for p in self.seen if p != person],
            answered={k: v for k, v in self.answered.items() if k != str(person)},
            votes={k: v for k, v in self.votes.items() if k != str(person)},
            by={k: v for k, v in self.by.items() if v != person},
        )
        return clean, marks
