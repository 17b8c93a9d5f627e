"""Every kind of button data the bot makes, in one place: pack on the way out, unpack on the
way in. Nothing else splits button data by hand.

Telegram allows 1-64 bytes of UTF-8; `pack` checks it. The formats are those older
messages in people's chats already carry, so their buttons keep working.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

MAX_BYTES = 64


class ButtonData:
    prefix: ClassVar[str]

    def fields(self) -> tuple[object, ...]:
        return tuple(getattr(self, f.name) for f in dataclasses.fields(self))  # type: ignore[arg-type]

    def pack(self) -> str:
        data = ":".join([self.prefix, *(str(f) for f in self.fields())])
        if len(data.encode()) > MAX_BYTES:
            raise ValueError(f"button data over {MAX_BYTES} bytes: {data!r}")
        return data


@dataclass(frozen=True)
class FlowChoice(ButtonData):
    """A choice in a flow step; stale once the run moved past `step`."""

    prefix: ClassVar[str] = "f"
    run_id: int
    step: int
    choice: str


@dataclass(frozen=True)
class SwitchFlow(ButtonData):
    """Leave the running flow (if it is still at `version`) and start `flow_id`."""

    prefix: ClassVar[str] = "sw"
    run_id: int
    version: int
    flow_id: str


@dataclass(frozen=True)
class KeepFlow(ButtonData):
    prefix: ClassVar[str] = "keep"


@dataclass(frozen=True)
class StartMeeting(ButtonData):
    """The weekly prompt's "Start now"."""

    prefix: ClassVar[str] = "n:start"


@dataclass(frozen=True)
class Snooze(ButtonData):
    """The weekly prompt's "Tomorrow, same time"; `slot` is the prompt's UTC timestamp."""

    prefix: ClassVar[str] = "n:snooze"
    slot: int


@dataclass(frozen=True)
class StartSmall(ButtonData):
    """The Wednesday invitation to share a small struggle."""

    prefix: ClassVar[str] = "n:letgo"


@dataclass(frozen=True)
class FirstCheckIn(ButtonData):
    """The last onboarding card's button: a first private check-in."""

    prefix: ClassVar[str] = "n:checkin"


@dataclass(frozen=True)
class SafetyChoice(ButtonData):
    prefix: ClassVar[str] = "s"
    action: str  # continue, pause


@dataclass(frozen=True)
class AgreementChoice(ButtonData):
    """The answer to an agreement's follow-up: working, again, let_go."""

    prefix: ClassVar[str] = "a"
    agreement_id: int
    answer: str


@dataclass(frozen=True)
class ForgetChoice(ButtonData):
    prefix: ClassVar[str] = "p"
    action: str  # forget, keep


@dataclass(frozen=True)
class LanguageChoice(ButtonData):
    """/language: `whose` is "me" (a private chat) or "us" (the couple's group); `code` a
    shipped language, or "auto" for the person's Telegram language."""

    prefix: ClassVar[str] = "lang"
    whose: str
    code: str


@dataclass(frozen=True)
class FormChoice(ButtonData):
    """How a person is addressed in a gendered language: "m", "f" or "n" (without gender)."""

    prefix: ClassVar[str] = "form"
    form: str


@dataclass(frozen=True)
class TimezoneChoice(ButtonData):
    """A suggested time zone (an IANA name), or "other" for the next few."""

    prefix: ClassVar[str] = "tz"
    zone: str


@dataclass(frozen=True)
class VoiceChoice(ButtonData):
    """After "I heard: ...": "use" the transcript as the answer, or "type" it instead."""

    prefix: ClassVar[str] = "v"
    note_id: int
    action: str


Data = (
    FlowChoice
    | SwitchFlow
    | KeepFlow
    | StartMeeting
    | Snooze
    | StartSmall
    | FirstCheckIn
    | SafetyChoice
    | AgreementChoice
    | LanguageChoice
    | FormChoice
    | TimezoneChoice
    | VoiceChoice
)
AnyData = Data | ForgetChoice
# Longest prefixes first, so "n:start" is not read as an "n" with fields.
KINDS: tuple[type[ButtonData], ...] = (
    StartMeeting,
    Snooze,
    StartSmall,
    FirstCheckIn,
    SwitchFlow,
    KeepFlow,
    SafetyChoice,
    AgreementChoice,
    ForgetChoice,
    LanguageChoice,
    FormChoice,
    TimezoneChoice,
    VoiceChoice,
    FlowChoice,
)


def unpack(data: str | None) -> AnyData | None:
    """The button this data belongs to, or None for anything we did not make."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    for kind in KINDS:
        if data != kind.prefix and not data.startswith(kind.prefix + ":"):
            continue
        rest = data[len(kind.prefix) + 1 :]
        fields = dataclasses.fields(kind)  # type: ignore[arg-type]
        parts = rest.split(":", len(fields) - 1) if fields else []
        if (fields and data == kind.prefix) or (not fields and data != kind.prefix):
            return None
        if len(parts) != len(fields):
            return None
        values: list[object] = []
        for field, part in zip(fields, parts, strict=True):
            if field.type in ("int", int):
                if not part.isdigit():
                    return None
                values.append(int(part))
            elif not part:
                return None
            else:
                values.append(part)
        return kind(*values)  # type: ignore[return-value]
    return None
