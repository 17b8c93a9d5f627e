"""The runner on small flows written in the test: no database, no Telegram."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.engine.check import load_yaml
from bot.engine.runner import BREAK, FlowRunner, Input, Member, Run
from bot.engine.schema import Flow
from bot.words.text import english
from bot.words.texts import Renderer, mention

NOW = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)
ALEX, SAM = Member(1, "Alex"), Member(2, "Sam")
MEMBERS = {1: ALEX, 2: SAM}

TURNS = """
id: turns
title: Turns
runs_in: group
roles: {speaker: starter, listener: partner}
break: {minutes: 5}
start: talk
states:
  talk:
    to: speaker
    expect: text
    save: words
    hold: hush
    next: check
  check:
    to: listener
    do: [{increment: tries}]
    choices:
      ok: {label: "Got it", next: swap}
      again: {label: "Again", next: retry}
  retry:
    to: group
    silent: true
    next:
      - {if: "tries < 2", to: talk}
      - {to: swap}
  swap:
    to: group
    silent: true
    do: [{swap_roles: [speaker, listener]}, {increment: rounds}]
    next:
      - {if: "rounds < 2", to: talk}
      - {to: agree}
  agree:
    to: group
    from: both
    choices:
      yes_both: {label: "Agree", next: done}
      no: {label: "No", next: talk, alone: true}
  done:
    to: both
    do: [{store_agreement: {text: words}}]
    end: true
"""


@pytest.fixture
def runner(tmp_path: Path) -> FlowRunner:
    prompts = tmp_path / "prompts"
    (prompts / "en" / "turns").mkdir(parents=True)
    (prompts / "en" / "common").mkdir()
    for name, text in {
        "talk": "{{ name.speaker }} talks",
        "check": "{{ name.listener }}: did you get '{{ words }}'?",
        "hush": "Hush, {{ name.listener }}",
        "agree": "Agree on {{ words }}?",
        "done": "Done: {{ words }}",
    }.items():
        (prompts / "en" / "turns" / f"{name}.j2").write_text(text)
    for name in ("on_break", "break_over", "back_button", "waiting_for"):
        (prompts / "en" / "common" / f"{name}.j2").write_text(name)
    flow = Flow.model_validate(load_yaml(TURNS))
    return FlowRunner({"turns": flow}, Renderer(prompts))


def say(runner: FlowRunner, run: Run, person: int, text: str):  # type: ignore[no-untyped-def]
    return runner.handle(run, MEMBERS, Input(person=person, at=NOW, text=text))


def press(runner: FlowRunner, run: Run, person: int, choice: str, step: int | None = None):  # type: ignore[no-untyped-def]
    return runner.handle(
        run, MEMBERS, Input(person=person, at=NOW, choice=choice, step=step or run.step)
    )


def test_start_assigns_roles_and_asks_the_starter(runner: FlowRunner) -> None:
    outcome = runner.start("turns", ALEX, SAM, in_group=True)
    assert outcome.run.roles == {"speaker": 1, "listener": 2}
    assert outcome.run.state == "talk"
    [message] = outcome.messages
    assert message.person is None and "Alex" in english(message.text)
    assert message.force_reply_to == 1
    assert (BREAK, "We need a break") in [(k, english(label)) for k, label in message.choices]


def test_the_listener_is_held_and_nothing_moves(runner: FlowRunner) -> None:
    run = runner.start("turns", ALEX, SAM, in_group=True).run
    outcome = say(runner, run, 2, "interrupting")
    assert not outcome.changed and outcome.run.state == "talk"
    assert [english(m.text) for m in outcome.messages] == ["Hush, Sam"]


def test_conditions_swaps_and_a_loop_count(runner: FlowRunner) -> None:
    run = runner.start("turns", ALEX, SAM, in_group=True).run
    run = say(runner, run, 1, "first").run
    assert run.state == "check" and run.context["tries"] == 1
    run = press(runner, run, 2, "again").run  # tries 1 < 2: back to talk
    assert run.state == "talk"
    run = say(runner, run, 1, "second").run
    run = press(runner, run, 2, "again").run  # tries 2: give up and swap
    assert run.roles == {"speaker": 2, "listener": 1} and run.state == "talk"
    run = say(runner, run, 2, "sam speaks").run
    run = press(runner, run, 1, "ok").run
    assert run.state == "agree" and run.context["rounds"] == 2


def test_both_must_agree_unless_a_choice_stands_alone(runner: FlowRunner) -> None:
    run = runner.start("turns", ALEX, SAM, in_group=True).run
    run.state, run.context = "agree", {"words": "tea", "rounds": 2}
    half = press(runner, run, 1, "yes_both")
    assert half.run.state == "agree" and half.notice == "waiting_for"
    done = press(runner, half.run, 2, "yes_both")
    assert done.ended and done.agreements == [("tea", None, None)]
    alone = press(runner, run, 2, "no")
    assert alone.run.state == "talk"


def test_stale_and_foreign_presses_change_nothing(runner: FlowRunner) -> None:
    run = runner.start("turns", ALEX, SAM, in_group=True).run
    moved = say(runner, run, 1, "hi").run
    stale = press(runner, moved, 2, "ok", step=run.step)
    assert stale.notice == "step_passed" and not stale.changed
    stranger = runner.handle(moved, MEMBERS, Input(person=99, at=NOW, choice="ok", step=moved.step))
    assert stranger.notice == "not_for_you" and not stranger.changed
    wrong_person = press(runner, moved, 1, "ok")
    assert wrong_person.notice == "not_your_turn" and not wrong_person.changed


def test_a_break_holds_everything_until_resumed(runner: FlowRunner) -> None:
    run = runner.start("turns", ALEX, SAM, in_group=True).run
    paused = press(runner, run, 2, BREAK)
    assert paused.run.break_until is not None and paused.break_minutes == 5
    blocked = say(runner, paused.run, 1, "hello")
    assert blocked.notice == "still_on_break" and not blocked.changed
    resumed = runner.resume(paused.run, MEMBERS)
    assert resumed.run.break_until is None
    assert [english(m.text) for m in resumed.messages] == [
        "break_over",
        mention(1, "Alex") + " talks",
    ]


def test_the_input_run_is_never_mutated(runner: FlowRunner) -> None:
    run = runner.start("turns", ALEX, SAM, in_group=True).run
    before = (run.state, run.step, dict(run.context))
    say(runner, run, 1, "words")
    assert (run.state, run.step, run.context) == before


def test_private_mode_addresses_private_chats(runner: FlowRunner) -> None:
    outcome = runner.start("turns", ALEX, SAM, in_group=False)
    assert [m.person for m in outcome.messages] == [1]
    assert outcome.messages[0].force_reply_to is None


def test_a_runs_own_copy_shares_nothing_a_step_may_change() -> None:
    from bot.engine.marks import Marks
    from bot.engine.run import own_copy

    when = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    run = Run(
        "letgo",
        "listen",
        3,
        {"sharer": 1, "listener": 2},
        {
            "struggle": "tired after work",
            "struggle_label": {"button": "letgo:ask.listen", "label": "Just listen"},
            "feelings": ["tired", ["nested"]],
            "pair": ("a", ["b"]),
            "at": when,
        },
        False,
        marks=Marks(seen=[1], answered={"1": "x"}, by={"struggle": 1}),
    )
    copied = own_copy(run)
    assert copied == run
    copied.roles["other"] = 3
    copied.context["feelings"][1].append("more")
    copied.context["struggle_label"]["label"] = "changed"
    copied.context["pair"][1].append("c")
    copied.marks.seen.append(2)
    copied.marks.answered["2"] = "y"
    copied.marks.by["struggle"] = 2
    assert run.roles == {"sharer": 1, "listener": 2}
    assert run.context["feelings"] == ["tired", ["nested"]]
    assert run.context["struggle_label"]["label"] == "Just listen"
    assert run.context["pair"] == ("a", ["b"])
    assert run.context["at"] is when
    assert (run.marks.seen, run.marks.answered, run.marks.by) == ([1], {"1": "x"}, {"struggle": 1})
