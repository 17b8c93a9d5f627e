"""The flow file format: frozen pydantic models that a coach's YAML is loaded into.

A flow is a set of named states. Each state says who it addresses (`to`), what it
waits for (free `text`, button `choices`, or nothing), where it goes next, and what
it does on entry (`do`). Its words live in `prompts/<flow id>/<state>.j2`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NAME = r"^[a-z][a-z0-9_]{0,39}$"
DURATION = re.compile(r"^(\d+)\s*(m|h|d)$")
SPECIAL_AUDIENCES = ("both", "group")


class Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def duration_minutes(value: str) -> int:
    match = DURATION.match(value.strip())
    if not match:
        raise ValueError(f"{value!r} is not a duration like 20m, 12h or 2d")
    amount, unit = int(match.group(1)), match.group(2)
    return amount * {"m": 1, "h": 60, "d": 1440}[unit]


Duration = Annotated[str, Field(pattern=DURATION.pattern, description="e.g. 20m, 12h, 2d")]


class Timing(Strict):
    """When the bot itself starts or offers this flow (for the role it fills)."""

    day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] | None = Field(
        default=None, description="a weekday, in the couple's timezone"
    )
    at: str | None = Field(
        default=None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM, local time"
    )
    after: Duration | None = Field(default=None, description="how long after what it follows")

    @property
    def weekday(self) -> int:
        """0 = Monday, as Python's weekday()."""
        return ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].index(self.day or "mon")

    @property
    def hour(self) -> int:
        return int((self.at or "00:00")[:2])

    @property
    def minute(self) -> int:
        return int((self.at or "00:00")[3:])


class Choice(Strict):
    """A button: its label, and the state it leads to (default: the state's `next`)."""

    label: str = Field(min_length=1, max_length=64)
    next: str | None = None
    value: int | str | None = Field(default=None, description="saved instead of the key")
    alone: bool = Field(
        default=False, description="with `from: both`, one press is enough for this choice"
    )


class Transition(Strict):
    """Go `to` a state, if the Jinja expression `if` is true on the run's context."""

    if_: str | None = Field(default=None, alias="if")
    to: str


class StartFlow(Strict):
    """Start another flow for the person holding role `for`, carrying context keys."""

    flow: str
    for_: str = Field(alias="for")
    carry: list[str] = []


class HandOff(Strict):
    """End this flow and start another with the same people, carrying context keys."""

    flow: str
    carry: list[str] = []


class StoreAgreement(Strict):
    """Store the couple's agreement: `text` and `follow_up_days` name context keys."""

    text: str
    follow_up_days: str | None = None


class Effect(Strict):
    """A named effect the bot provides (store a check-in, send a chart, plan "you" time),
    given context values: `with` maps each parameter to a context key."""

    name: str = Field(pattern=NAME)
    with_: dict[str, str] = Field(default_factory=dict, alias="with")


class Action(Strict):
    """One thing a state does when it is entered. Exactly one field is set."""

    swap_roles: tuple[str, str] | None = None
    increment: str | None = None
    set: dict[str, int | str | bool | None] | None = None
    calc: dict[str, str] | None = Field(
        default=None, description="context key -> Jinja expression on the context"
    )
    effect: Effect | None = None
    clear: list[str] | None = None
    store_agreement: StoreAgreement | None = None
    start_flow: StartFlow | None = None
    hand_off: HandOff | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Action:
        given = [name for name, value in self if value is not None]
        if len(given) != 1:
            raise ValueError(f"an action has exactly one of its fields, not {given or 'none'}")
        return self


class State(Strict):
    to: str = Field(description="a role, `both`, or `group` (the couple's shared space)")
    template: str | None = Field(
        default=None, description="template name; default: the state's own name"
    )
    silent: bool = Field(default=False, description="send no message on entry")
    expect: Literal["text", "choice", "nothing"] | None = Field(
        default=None, description="default: choice if there are choices, else nothing"
    )
    from_: str | None = Field(
        default=None,
        alias="from",
        description="who may answer: a role, `any` or `both` (default: the addressed role)",
    )
    save: str | None = Field(default=None, pattern=NAME)
    collect: bool = Field(
        default=False, description="keep taking text (appending it) until a button is pressed"
    )
    share: bool = Field(
        default=False,
        description="in private chats, pass this text on to the other partner (the flow's "
        "words must say so before they type)",
    )
    choices: dict[str, Choice] = {}
    pick: int | None = Field(
        default=None,
        ge=2,
        description="press up to this many of the choices that have no `next` (saved as a "
        "list, shown as `<save>_labels`); a choice with `next` moves on after at least one",
    )
    shuffle: bool = Field(
        default=False,
        description="show the choices in an order of their own for each person and week "
        "(the run's `week`), so no answer sits where the expected one would",
    )
    in_private: bool = Field(
        default=False,
        description="in a group run, ask for this text in each partner's private chat, so "
        "neither reads the other's answer before writing (the flow shows the answers later)",
    )
    min_each: int | None = Field(
        default=None, ge=1, description="collect: each must write this many before a button counts"
    )
    max_each: int | None = Field(
        default=None, ge=1, description="collect: at most this many texts from each person"
    )
    next: str | list[Transition] | None = None
    disagree: str | None = Field(
        default=None,
        description="from: both: where to go when the partners choose differently a second "
        "time (each time they are told what each chose; without it they choose again)",
    )
    do: list[Action] = []
    hold: str | None = Field(
        default=None, description="template answering the other partner's text meanwhile"
    )
    ack: str | None = Field(
        default=None, description="template answering each collected text (collect states)"
    )
    reminder: Duration | None = None
    expires: Duration | None = None
    wait: Duration | None = Field(
        default=None,
        description="after its message, stay here this long, then go on to `next` by itself",
    )
    breakable: bool = True
    end: bool = Field(
        default=False,
        description="the run ends here; `choices` on an end state may still be answered once "
        "(each leading to an end state), so a note can be answered without holding anyone",
    )

    @field_validator("choices")
    @classmethod
    def _choice_keys(cls, value: dict[str, Choice]) -> dict[str, Choice]:
        for key in value:  # their length is the linter's business (64-byte button data)
            if not re.match(r"^[a-z][a-z0-9_]*$", key):
                raise ValueError(f"choice key {key!r} must be lowercase letters, digits, _")
        return value

    @model_validator(mode="after")
    def _wait_alone(self) -> State:
        if self.wait is not None:
            if self.choices or self.expect == "text" or self.collect or self.end:
                raise ValueError("a `wait` step takes no answer and does not end the flow")
            if self.next is None:
                raise ValueError("a `wait` step needs `next`: where to go when the wait is over")
        return self

    @property
    def expects(self) -> str:
        if self.expect is not None:
            return self.expect
        return "choice" if self.choices else "nothing"

    @property
    def takes_text(self) -> bool:
        return self.expects == "text" or self.collect

    @property
    def waits(self) -> bool:
        return self.takes_text or bool(self.choices) or self.wait is not None


class FlowBreak(Strict):
    """A button on every waiting state that pauses the flow, then checks back."""

    label: str = "We need a break"
    minutes: int = Field(default=20, ge=1, le=24 * 60)


class Flow(Strict):
    id: str = Field(pattern=NAME)
    version: int = 1
    title: str
    command: str | None = Field(default=None, pattern=r"^[a-z0-9_]{1,32}$")
    description: str = Field(default="", max_length=256)
    runs_in: Literal["private", "group"]
    fills: list[str] = Field(
        default_factory=list,
        description="what this flow is for the bot, e.g. weekly_meeting (coaching/roles.py)",
    )
    roles: dict[str, Literal["starter", "partner"]]
    timing: Timing | None = Field(
        default=None, description="when the bot offers or starts it (start_small, after_metime)"
    )
    start: str
    defaults: dict[str, Any] = Field(
        default_factory=dict, description="context values a run starts with (carried ones win)"
    )
    seed: list[str] = Field(
        default_factory=list,
        description="named sources of context for a new run, e.g. appreciations_this_week",
    )
    states: dict[str, State]
    break_: FlowBreak | None = Field(default=None, alias="break")
    reminder: Duration = "12h"
    expires: Duration = "3d"
    on_expiry: dict[str, str] = Field(
        default_factory=dict,
        description="role -> template (in the flow's folder) told privately when a run "
        "expires, besides the closing note to those it spoke to; an empty text is not sent",
    )

    @field_validator("roles")
    @classmethod
    def _roles(cls, value: dict[str, str]) -> dict[str, str]:
        for role in value:
            if not re.match(NAME, role) or role in (*SPECIAL_AUDIENCES, "any"):
                raise ValueError(f"role name {role!r} is not allowed")
        if sorted(value.values()) != ["partner", "starter"]:
            raise ValueError("roles must give one role to the starter and one to the partner")
        return value

    @field_validator("states")
    @classmethod
    def _state_names(cls, value: dict[str, State]) -> dict[str, State]:
        for name in value:
            if not re.match(NAME, name):
                raise ValueError(f"state name {name!r} must be lowercase letters, digits, _")
        return value

    def role_names(self) -> list[str]:
        return list(self.roles)

    def template_of(self, state_name: str) -> str | None:
        """`prompts/<flow>/<state>` unless the state names another or is silent."""
        state = self.states[state_name]
        if state.silent:
            return None
        return f"{self.id}/{state.template or state_name}"


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a flow file, for editors."""
    schema = Flow.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Us Coach flow"
    return schema
