"""`us-coach`: run the bot, migrate the database, and (later) author flows."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from bot.config import ConfigError, Settings, load_settings
from bot.core import clock
from bot.engine.loading import FlowError


def _configure_logging(settings: Settings) -> None:
    if settings.log_format == "json":
        from bot.logs import JsonFormatter

        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        logging.basicConfig(level=settings.log_level, handlers=[handler])
    else:
        logging.basicConfig(
            level=settings.log_level,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
    # httpx logs every request URL, which contains the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line every tick otherwise


def cmd_run(_args: argparse.Namespace, settings: Settings) -> int:
    settings.require_token()

    def load() -> Any:
        from bot.telegram.main import serve

        return lambda stop: serve(settings, stop)

    try:
        _serve_until_signalled(load)
    except Exception as exc:
        from telegram.error import InvalidToken, NetworkError

        if isinstance(exc, InvalidToken):
            print(
                "us-coach: the Bot API rejected TELEGRAM_BOT_TOKEN; check it with @BotFather",
                file=sys.stderr,
            )
            return 1
        if isinstance(exc, NetworkError):
            print(
                f"us-coach: cannot reach the Bot API at {settings.telegram_api_base_url} ({exc})",
                file=sys.stderr,
            )
            return 1
        raise
    return 0


def _serve_until_signalled(load: Any) -> None:
    """Run `load()(stop)` until SIGTERM or Ctrl-C sets `stop`. The handler is installed
    before `load` imports the heavy modules: a SIGTERM while still starting means "stop
    once you are up", not a hard kill."""
    import asyncio
    import contextlib
    import gc

    asked: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, _frame: asked.append(signum))
    # Importing makes about a million objects that live as long as the process; the cyclic
    # collector would walk them again and again while they are made (about 15% of the time
    # to the first poll). Collect nothing while importing, then freeze what was made, so that
    # later collections never walk it again either.
    gc.disable()
    try:
        serve = load()
    finally:
        gc.freeze()
        gc.enable()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        if asked:
            stop.set()
        await serve(stop)

    asyncio.run(main())


def cmd_web(args: argparse.Namespace, settings: Settings) -> int:
    return _serve_process(args, settings, "bot.telegram.web", "serve_web")


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    return _serve_process(args, settings, "bot.telegram.worker", "serve_worker")


def _serve_process(args: argparse.Namespace, settings: Settings, module: str, name: str) -> int:
    """`us-coach web` or `worker`: its module is imported only once it is asked for."""
    settings.require_token()

    def load() -> Any:
        import importlib

        serve = getattr(importlib.import_module(module), name)
        return lambda stop: serve(settings, stop, host=args.host, port=args.port)

    _serve_until_signalled(load)
    return 0


def cmd_webhook(args: argparse.Namespace, settings: Settings) -> int:
    """A release step: point Telegram at URL with our secret, publish the menus."""
    import asyncio

    from bot.coaching.services import build_services
    from bot.telegram.intake import ALLOWED_UPDATES
    from bot.telegram.main import build_application, publish_commands

    settings.require_token()
    if args.action == "set" and not settings.webhook_secret:
        raise ConfigError("WEBHOOK_SECRET is not set: Telegram would send updates unsigned")

    async def main() -> None:
        services = build_services(settings, migrate=False)
        application = build_application(settings, services)
        try:
            async with application:
                if args.action == "set":
                    await application.bot.set_webhook(
                        args.url,
                        secret_token=settings.webhook_secret,
                        allowed_updates=ALLOWED_UPDATES,
                        max_connections=args.max_connections,
                    )
                    await publish_commands(application)
                else:
                    await application.bot.delete_webhook()
        finally:
            for request in application.bot_data["requests"]:
                await request.shutdown()
            services.db.dispose()

    asyncio.run(main())
    print(f"webhook {'set to ' + args.url if args.action == 'set' else 'deleted'}")
    return 0


def cmd_db_upgrade(_args: argparse.Namespace, settings: Settings) -> int:
    from bot.storage.db import make_engine, upgrade

    engine = make_engine(settings.database_url)
    try:
        applied = upgrade(engine)
    finally:
        engine.dispose()
    if applied:
        print(f"applied migrations {', '.join(applied)}; the database is up to date")
    else:
        print("the database was already up to date")
    return 0


def cmd_flows_schema(_args: argparse.Namespace, _settings: Settings) -> int:
    from bot.engine.schema import json_schema

    print(json.dumps(json_schema(), indent=2))
    return 0


def cmd_flows_check(args: argparse.Namespace, settings: Settings) -> int:
    from bot.coaching import practices
    from bot.engine.check import check_flows
    from bot.engine.check_languages import languages_in

    flows_dir = Path(args.flows) if args.flows else settings.flows_dir
    prompts_dir = Path(args.prompts) if args.prompts else settings.prompts_dir
    flows, problems = check_flows(flows_dir, prompts_dir, practices.names())
    for problem in problems:
        print(problem)
    errors = [p for p in problems if not p.warning]
    if errors:
        print(f"{len(errors)} problem(s) in {flows_dir} and {prompts_dir}")
        return 1
    languages = ["en", *languages_in(prompts_dir)]
    warned = f"; {len(problems)} warning(s)" if problems else ""
    print(f"{len(flows)} flows OK: {', '.join(sorted(flows))}")
    print(f"{len(languages)} languages OK: {', '.join(languages)}{warned}")
    return 0


def cmd_flows_stamp(args: argparse.Namespace, settings: Settings) -> int:
    from bot.coaching import practices
    from bot.engine.check import check_flows
    from bot.words.translations import stamp

    flows, _problems = check_flows(
        settings.flows_dir, settings.prompts_dir, practices.names(), languages=False
    )
    for name in stamp(settings.prompts_dir, args.lang, flows, args.names):
        print(f"stamped prompts/{args.lang}/{name}")
    return 0


def cmd_flows_graph(args: argparse.Namespace, settings: Settings) -> int:
    from bot.coaching import practices
    from bot.engine.check import mermaid
    from bot.engine.loading import read_flows

    # Drawing needs the flows, not every template rendered in every language.
    flows, _good, _carried, _problems = read_flows(
        settings.flows_dir, settings.prompts_dir, practices.names()
    )
    flow = flows.get(args.flow)
    if flow is None:
        print(
            f"us-coach: no flow {args.flow!r} (have: {', '.join(sorted(flows))})", file=sys.stderr
        )
        return 1
    print(mermaid(flow), end="")
    return 0


def cmd_safety_train(_args: argparse.Namespace, _settings: Settings) -> int:
    from bot.safety.calibrate import train
    from bot.safety.model import TRAINED

    trained = train()
    trained.save()
    asks = ", ".join(f"{lang} {ask}" for lang, ask in sorted(trained.asks.items()))
    print(f"wrote {TRAINED.name} ({TRAINED.stat().st_size // 1024} KB); asks at {asks}")
    return 0


def cmd_playground(args: argparse.Namespace, _settings: Settings) -> int:
    def load() -> Any:
        from bot.playground.app import run_playground

        return lambda stop: run_playground(args.port, args.db, stop)

    _serve_until_signalled(load)
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="us-coach", description="Us Coach, the couples' bot")
    sub = root.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the bot with long polling").set_defaults(func=cmd_run)
    web = sub.add_parser("web", help="serve Telegram's webhook (several may run)")
    web.add_argument("--host", default="0.0.0.0")
    web.add_argument("--port", type=int, default=8080)
    web.set_defaults(func=cmd_web)
    worker = sub.add_parser("worker", help="scheduled work and sending (several may run)")
    worker.add_argument("--host", default="0.0.0.0", help="health and metrics address")
    worker.add_argument("--port", type=int, default=9100)
    worker.set_defaults(func=cmd_worker)
    webhook = sub.add_parser("webhook", help="point Telegram at the web processes").add_subparsers(
        dest="action", required=True
    )
    hook_set = webhook.add_parser("set", help="setWebhook URL with WEBHOOK_SECRET, and menus")
    hook_set.add_argument("url")
    hook_set.add_argument("--max-connections", type=int, default=40)
    hook_set.set_defaults(func=cmd_webhook)
    webhook.add_parser("delete", help="back to polling").set_defaults(func=cmd_webhook)
    db = sub.add_parser("db", help="database tasks").add_subparsers(
        dest="db_command", required=True
    )
    db.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)
    flows = sub.add_parser("flows", help="flow authoring tools").add_subparsers(
        dest="flows_command", required=True
    )
    flows.add_parser("schema", help="print the flow files' JSON Schema").set_defaults(
        func=cmd_flows_schema
    )
    check = flows.add_parser("check", help="lint every flow and its templates")
    check.add_argument("--flows", help="folder of flow files (default: FLOWS_DIR)")
    check.add_argument("--prompts", help="folder of templates (default: PROMPTS_DIR)")
    check.set_defaults(func=cmd_flows_check)
    safety = sub.add_parser("safety", help="the safety detector").add_subparsers(
        dest="safety_command", required=True
    )
    safety.add_parser(
        "train", help="train the classifiers on the development sets and write trained.npz"
    ).set_defaults(func=cmd_safety_train)
    playground = sub.add_parser("playground", help="try the bot in a browser, no Telegram")
    playground.add_argument("--port", type=int, default=8080)
    playground.add_argument("--db", default="us-coach-playground.db", help="SQLite file")
    playground.set_defaults(func=cmd_playground)
    stamp = flows.add_parser(
        "stamp",
        help="mark translations as made from today's English (after checking them)",
    )
    stamp.add_argument("lang", help="a language folder in prompts/, e.g. de")
    stamp.add_argument(
        "names",
        nargs="*",
        help="templates (common/help.j2) or labels "
        "(sotu/labels.yaml, commands.yaml); default: every one in the language",
    )
    stamp.set_defaults(func=cmd_flows_stamp)
    graph = flows.add_parser("graph", help="print a Mermaid diagram of a flow")
    graph.add_argument("flow")
    graph.set_defaults(func=cmd_flows_graph)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
        clock.set_offset(settings.clock_offset_seconds)
        _configure_logging(settings)
        return int(args.func(args, settings))
    except ConfigError as exc:
        print(f"us-coach: {exc}", file=sys.stderr)
        return 2
    except FlowError as exc:
        print("us-coach: refusing to start, a flow is invalid:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
