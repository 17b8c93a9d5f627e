"""Docker cannot run here, so the compose file and the Dockerfile are checked against the
CLI they call: every command parses and reaches the command it means, the order of start
is migrate-then-serve, the image runs as a non-root user, the balancer points at the web
processes' ports. The same topology runs as plain processes in tests/telegram/test_scale.py."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import yaml

from bot import PROJECT_ROOT, cli

COMPOSE = yaml.safe_load((PROJECT_ROOT / "compose.yaml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
EXPECTED = {
    "migrate": cli.cmd_db_upgrade,
    "web1": cli.cmd_web,
    "web2": cli.cmd_web,
    "worker": cli.cmd_worker,
    "webhook": cli.cmd_webhook,
}


def test_every_service_command_is_a_real_cli_command() -> None:
    assert {"postgres", "balancer", *EXPECTED} <= set(SERVICES)
    for name, func in EXPECTED.items():
        args = cli.parser().parse_args(SERVICES[name]["command"])
        assert args.func is func, name


def test_migrations_run_once_before_any_web_or_worker_process() -> None:
    assert SERVICES["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert SERVICES["migrate"]["restart"] == "no"
    for name in ("web1", "web2", "worker"):
        assert SERVICES[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )


def test_processes_use_postgresql_with_psycopg_and_json_logs() -> None:
    for name in EXPECTED:
        env = SERVICES[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgresql+psycopg://"), name
        assert env["LOG_FORMAT"] == "json"


def test_health_checks_and_the_balancer_use_the_ports_the_commands_listen_on() -> None:
    nginx = (PROJECT_ROOT / "deploy" / "nginx.conf").read_text()
    for name in ("web1", "web2", "worker"):
        args = cli.parser().parse_args(SERVICES[name]["command"])
        assert SERVICES[name]["environment"]["HEALTH_PORT"] == str(args.port)
    for name in ("web1", "web2"):
        port = cli.parser().parse_args(SERVICES[name]["command"]).port
        assert f"server {name}:{port}" in nginx
    webhook_url = SERVICES["webhook"]["command"][-1]
    assert webhook_url.endswith(cli.load_settings().webhook_path)
    assert "location " + cli.load_settings().webhook_path in nginx


def test_the_image_runs_us_coach_as_a_non_root_user() -> None:
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.MULTILINE)
    assert users and users[-1] not in {"root", "0"}
    assert re.search(r'^ENTRYPOINT \["us-coach"\]', dockerfile, re.MULTILINE)
    scripts = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["us-coach"] == "bot.cli:main"
    for folder in ("bot", "flows", "prompts"):
        assert f"COPY {folder} ./{folder}" in dockerfile
