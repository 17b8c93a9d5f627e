"""`us-coach`: run the bot, migrate the database, and (later) author flows."""

from __future__ import annotations

import argparse
import logging
import sys

from bot.config import ConfigError, Settings, load_settings


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request URL, which contains the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def cmd_run(_args: argparse.Namespace, settings: Settings) -> int:
    from bot.main import run

    settings.require_token()
    run(settings)
    return 0


def cmd_db_upgrade(_args: argparse.Namespace, settings: Settings) -> int:
    from bot.storage.db import make_engine, upgrade

    upgrade(make_engine(settings.database_url))
    print("database is up to date")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="us-coach", description="Us Coach, the couples' bot")
    sub = root.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the bot with long polling").set_defaults(func=cmd_run)
    db = sub.add_parser("db", help="database tasks").add_subparsers(
        dest="db_command", required=True
    )
    db.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
        _configure_logging(settings)
        return int(args.func(args, settings))
    except ConfigError as exc:
        print(f"us-coach: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
