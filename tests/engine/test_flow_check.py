"""The flow linter (`us-coach flows check`), one broken flow per kind of problem."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot import PROJECT_ROOT
from bot.coaching.practices import names
from bot.engine.check import Names, check_flows, load_yaml, mermaid
from tests.helpers import run_cli

BASE = """
id: tiny
title: Tiny
command: tiny
runs_in: private
roles: {asker: starter, answerer: partner}
start: ask
states:
  ask:
    to: asker
    expect: text
    save: answer
    next: confirm
  confirm:
    to: asker
    choices:
      ok: {label: "OK", next: done}
  done:
    to: both
    end: true
"""
TEMPLATES = {"ask": "Ask {{ name.answerer }}", "confirm": "You said {{ answer }}", "done": "Done"}


def write(
    tmp_path: Path, flow: dict[str, Any] | str, templates: dict[str, str]
) -> tuple[Path, Path]:
    flows, prompts = tmp_path / "flows", tmp_path / "prompts"
    (prompts / "en" / "tiny").mkdir(parents=True, exist_ok=True)
    flows.mkdir(exist_ok=True)
    text = flow if isinstance(flow, str) else yaml.safe_dump(flow, sort_keys=False)
    (flows / "tiny.yaml").write_text(text)
    for name, body in templates.items():
        (prompts / "en" / "tiny" / f"{name}.j2").write_text(body)
    return flows, prompts


def kinds(
    tmp_path: Path,
    change: Callable[[dict[str, Any]], None] | None = None,
    templates: dict[str, str] | None = None,
    raw: str | None = None,
) -> list[str]:
    flow = load_yaml(BASE)
    if change:
        change(flow)
    flows, prompts = write(
        tmp_path, raw if raw is not None else flow, TEMPLATES if templates is None else templates
    )
    _, problems = check_flows(flows, prompts)
    return [p.kind for p in problems]


def test_the_base_flow_is_clean(tmp_path: Path) -> None:
    assert kinds(tmp_path) == []


def test_shipped_flows_are_clean() -> None:
    flows, problems = check_flows(PROJECT_ROOT / "flows", PROJECT_ROOT / "prompts", names())
    assert [str(p) for p in problems] == []
    assert {"sotu", "letgo", "leanin"} <= set(flows)


def test_unknown_state(tmp_path: Path) -> None:
    assert kinds(tmp_path, lambda f: f["states"]["ask"].update(next="nowhere")) == ["unknown-state"]


def test_unknown_role(tmp_path: Path) -> None:
    assert kinds(tmp_path, lambda f: f["states"]["ask"].update(to="stranger")) == ["unknown-role"]


def test_unreachable_state(tmp_path: Path) -> None:
    def change(flow: dict[str, Any]) -> None:
        flow["states"]["orphan"] = {"to": "asker", "end": True}

    assert kinds(tmp_path, change, {**TEMPLATES, "orphan": "lost"}) == ["unreachable"]


def test_dead_end(tmp_path: Path) -> None:
    def change(flow: dict[str, Any]) -> None:
        flow["states"]["confirm"]["choices"]["ok"]["next"] = "limbo"
        flow["states"]["limbo"] = {
            "to": "asker",
            "choices": {"again": {"label": "Again", "next": "limbo"}},
        }

    assert "dead-end" in kinds(tmp_path, change, {**TEMPLATES, "limbo": "stuck"})


def test_state_that_goes_nowhere(tmp_path: Path) -> None:
    assert kinds(tmp_path, lambda f: f["states"]["done"].update(end=False)) == ["dead-end"]


def test_missing_template(tmp_path: Path) -> None:
    templates = {k: v for k, v in TEMPLATES.items() if k != "confirm"}
    assert kinds(tmp_path, templates=templates) == ["missing-template"]


def test_unused_template(tmp_path: Path) -> None:
    assert kinds(tmp_path, templates={**TEMPLATES, "forgotten": "hi"}) == ["unused-template"]


def test_template_that_fails_to_render(tmp_path: Path) -> None:
    assert kinds(tmp_path, templates={**TEMPLATES, "confirm": "{{ answr }}"}) == ["render"]
    assert kinds(tmp_path, templates={**TEMPLATES, "confirm": "{% if %}"}) == ["render"]


def test_button_data_over_64_bytes(tmp_path: Path) -> None:
    def change(flow: dict[str, Any]) -> None:
        choices = flow["states"]["confirm"]["choices"]
        choices["a_very_long_choice_key_that_makes_the_button_data_too_long"] = {
            "label": "Long",
            "next": "done",
        }

    assert kinds(tmp_path, change) == ["button-data"]


def test_text_over_4096_characters(tmp_path: Path) -> None:
    assert kinds(tmp_path, templates={**TEMPLATES, "done": "x" * 5000}) == ["too-long"]


def test_schema_error_names_the_state(tmp_path: Path) -> None:
    flow = load_yaml(BASE)
    flow["states"]["ask"]["expect"] = "telepathy"
    flows, prompts = write(tmp_path, flow, TEMPLATES)
    _, problems = check_flows(flows, prompts)
    assert [(p.kind, p.state, p.file) for p in problems] == [("schema", "ask", "tiny.yaml")]
    assert "expect" in problems[0].message


def test_not_yaml(tmp_path: Path) -> None:
    assert kinds(tmp_path, raw="id: [unclosed") == ["yaml"]


def test_unknown_flow_started(tmp_path: Path) -> None:
    def change(flow: dict[str, Any]) -> None:
        flow["states"]["done"]["do"] = [{"start_flow": {"flow": "ghost", "for": "answerer"}}]

    assert kinds(tmp_path, change) == ["unknown-flow"]


def test_bad_condition(tmp_path: Path) -> None:
    def change(flow: dict[str, Any]) -> None:
        flow["states"]["ask"]["next"] = [{"if": "tries <", "to": "confirm"}, {"to": "done"}]

    assert kinds(tmp_path, change) == ["condition"]


def test_yes_and_no_are_plain_words_in_flow_files(tmp_path: Path) -> None:
    raw = BASE.replace("ok: {label", "no: {label").replace('"OK"', '"No"')
    assert kinds(tmp_path, raw=raw) == []


def test_cli_check_exit_codes(tmp_path: Path) -> None:
    ok = run_cli("flows", "check")
    assert ok.returncode == 0 and "flows OK" in ok.stdout
    flow = load_yaml(BASE)
    flow["states"]["ask"]["next"] = "nowhere"
    flows, prompts = write(tmp_path, flow, TEMPLATES)
    bad = run_cli("flows", "check", "--flows", str(flows), "--prompts", str(prompts))
    assert bad.returncode == 1
    assert "tiny.yaml: state ask: goes to 'nowhere'" in bad.stdout


def test_the_bot_refuses_to_start_on_an_invalid_flow(tmp_path: Path) -> None:
    flow = load_yaml(BASE)
    flow["states"]["confirm"]["choices"]["ok"]["next"] = "nowhere"
    flows, prompts = write(tmp_path, flow, TEMPLATES)
    result = run_cli(
        "run",
        env={
            "TELEGRAM_BOT_TOKEN": "123456:TEST-token-for-the-local-bot-api",
            "FLOWS_DIR": str(flows),
            "PROMPTS_DIR": str(prompts),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        },
    )
    assert result.returncode == 1
    assert "tiny.yaml: state confirm: goes to 'nowhere'" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_schema_is_json_schema_with_the_states() -> None:
    result = run_cli("flows", "schema")
    schema = json.loads(result.stdout)
    assert schema["title"] == "Us Coach flow"
    assert "states" in schema["properties"] and "State" in schema["$defs"]


def test_cli_graph_draws_the_meeting() -> None:
    result = run_cli("flows", "graph", "sotu")
    assert result.returncode == 0
    assert result.stdout.startswith("stateDiagram-v2")
    assert "speaker_corrects --> listener_summarizes: if retry" in result.stdout
    assert "confirm_issue --> who_first" in result.stdout
    assert run_cli("flows", "graph", "nope").returncode == 1


@pytest.mark.parametrize(
    "flow_id",
    [
        "sotu",
        "letgo",
        "leanin",
        "checkin",
        "appreciate",
        "metime",
        "metime_review",
        "repair",
        "feel_loved",
    ],
)
def test_every_shipped_state_appears_in_its_graph(flow_id: str) -> None:
    flows, _ = check_flows(PROJECT_ROOT / "flows", PROJECT_ROOT / "prompts")
    graph = mermaid(flows[flow_id])
    for state in flows[flow_id].states:
        assert state in graph


def test_unknown_effect_and_seed(tmp_path: Path) -> None:
    flow = load_yaml(BASE)
    flow["seed"] = ["nothing_like_this"]
    flow["states"]["done"]["do"] = [{"effect": {"name": "teleport"}}]
    flows, prompts = write(tmp_path, flow, TEMPLATES)
    _, problems = check_flows(
        flows, prompts, Names(effects=frozenset({"store_checkin"}), seeds=frozenset())
    )
    assert sorted(p.kind for p in problems) == ["unknown-effect", "unknown-seed"]


def test_a_start_looks_for_templates_and_leaves_rendering_to_flows_check(tmp_path: Path) -> None:
    """Rendering every template in every language takes seconds: a starting process only
    makes sure each exists; `flows check` (run by CI on every change) renders them all."""
    from bot.engine.check import FlowError, load_flows

    broken = {**TEMPLATES, "confirm": "You said {{ answer | no_such_filter }}"}
    flows, prompts = write(tmp_path, BASE, broken)
    assert set(load_flows(flows, prompts)) == {"tiny"}
    _, problems = check_flows(flows, prompts)
    assert [p.kind for p in problems if not p.warning] == ["render"]
    (prompts / "en" / "tiny" / "confirm.j2").unlink()
    with pytest.raises(FlowError, match="missing-template"):
        load_flows(flows, prompts)


def test_choices_after_the_end_must_lead_to_an_end(tmp_path: Path) -> None:
    def change(flow: dict[str, Any]) -> None:
        flow["states"]["done"]["choices"] = {"thanks": {"label": "Thanks", "next": "ask"}}

    assert kinds(tmp_path, change) == ["end-state"]


def test_pick_needs_a_way_on_and_in_private_needs_text(tmp_path: Path) -> None:
    def change(flow: dict[str, Any]) -> None:
        flow["states"]["confirm"].update(pick=2, save="picked")
        flow["states"]["confirm"]["choices"] = {"a": {"label": "A"}, "b": {"label": "B"}}
        flow["states"]["confirm"]["next"] = "done"
        flow["states"]["done"]["in_private"] = True

    assert sorted(kinds(tmp_path, change)) == ["in-private", "pick"]
