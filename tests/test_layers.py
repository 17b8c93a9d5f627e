"""The layers of `bot/`, as the README's architecture section draws them, checked on the
import graph: a rule a reviewer would otherwise have to remember.

- `engine/` (flows as data) knows its words and nothing of storage, services or Telegram.
- `words/` (templates, labels, languages, parsing, button data) sits beside the engine.
- `storage/` and `core/` (unit of work, outbox, clock, budget) never import a service.
- `coaching/` and `safety/` (the services) never import the Telegram edge.
- `voice/` (hearing voice notes) imports nothing of the bot's world.
- Only `telegram/` imports python-telegram-bot (and `cli.py`, which starts it).
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

from bot import PROJECT_ROOT

BOT = PROJECT_ROOT / "bot"
PTB = "python-telegram-bot"
SERVICES = {"coaching", "safety"}
EDGE = {"telegram", PTB}
MAY_NOT = {
    "engine": {"storage", "core", "playground", "emulator"} | SERVICES | EDGE,
    "words": {"storage", "core", "playground", "emulator"} | SERVICES | EDGE,
    "storage": SERVICES | EDGE,
    "core": SERVICES | EDGE,
    "coaching": EDGE,
    "safety": EDGE,
    # audio in, words out: nothing of the couple's world
    # the couple's Mini App: services and storage, never Telegram's library
    "miniapp": {"playground", "emulator"} | EDGE,
    "voice": {"engine", "words", "storage", "core", "playground", "emulator"} | SERVICES | EDGE,
}


def layer_of(path: Path) -> str:
    relative = path.relative_to(BOT).parts
    return relative[0] if len(relative) > 1 else path.stem


def imports() -> dict[str, dict[str, set[str]]]:
    """layer -> imported layer -> the files that import it."""
    found: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in BOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
                if node.module == "bot":
                    names = [f"bot.{alias.name}" for alias in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] == "telegram":
                    target = PTB
                elif parts[0] == "bot" and len(parts) > 1:
                    target = parts[1]
                else:
                    continue
                found[layer_of(path)][target].add(str(path.relative_to(PROJECT_ROOT)))
    return found


GRAPH = imports()


@pytest.mark.parametrize("layer", sorted(MAY_NOT))
def test_a_layer_imports_only_what_lies_beneath_it(layer: str) -> None:
    assert (BOT / layer).is_dir()
    broken = {t: sorted(files) for t, files in GRAPH[layer].items() if t in MAY_NOT[layer]}
    assert not broken, f"{layer}/ may not import {sorted(broken)}: {broken}"


def test_only_the_telegram_edge_imports_python_telegram_bot() -> None:
    importers = {layer for layer, targets in GRAPH.items() if PTB in targets}
    assert importers <= {"telegram", "cli"}, importers
    assert "telegram" in importers  # the rule is about something real


def test_a_start_loads_no_orm() -> None:
    """The bot reads and writes Core tables: SQLModel and SQLAlchemy's ORM (and the classes
    of bot/storage/models.py) would cost every start about 0.2 s before its first reply."""
    import subprocess
    import sys

    script = (
        "import sys, bot.cli, bot.telegram.main, bot.telegram.web; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sqlmodel' "
        "or m.startswith('sqlalchemy.orm') or m == 'bot.storage.models'))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT
    ).stdout.strip()
    assert loaded == "[]", loaded


def test_the_flow_checkers_do_not_import_each_other() -> None:
    """check.py (flows) uses check_languages.py (translations); both share samples.py."""
    source = (BOT / "engine" / "check_languages.py").read_text(encoding="utf-8")
    assert "bot.engine.check import" not in source


def test_modules_and_functions_stay_small() -> None:
    """No module in bot/ over 400 lines and no function over 60 (the emulator, a test
    server, is exempt): a newcomer reads a module in one sitting."""
    big, long = [], set()
    for path in sorted(BOT.rglob("*.py")):
        if "emulator" in path.parts:
            continue
        source = path.read_text(encoding="utf-8")
        name = str(path.relative_to(PROJECT_ROOT))
        if len(source.splitlines()) > 400:
            big.append(name)
        for node in ast.walk(ast.parse(source)):
            functions = ast.FunctionDef | ast.AsyncFunctionDef
            if isinstance(node, functions) and (node.end_lineno or 0) - node.lineno + 1 > 60:
                long.add(f"{name}:{node.name}")
    assert not big, big
    assert not long, sorted(long)


# A table whose rows many modules write has no one place that says what a row can become:
# each table has one store, its only writer (by its Core name and its model's name).
STORES = {
    "bot/storage/agreements.py": ("AGREEMENTS", "Agreement"),
    "bot/storage/couples.py": ("COUPLES", "Couple"),
    "bot/storage/inbox.py": ("INBOX", "InboxUpdate"),
    "bot/storage/invites.py": ("INVITES", "Invite"),
    "bot/storage/nudge_claims.py": ("NUDGES", "NudgeLog"),
    "bot/storage/outbox.py": ("OUTBOX", "OutboxMessage"),
    "bot/storage/partners.py": ("PARTNERS", "Partner"),
    "bot/storage/practices.py": (
        "APPRECIATIONS",
        "Appreciation",
        "CHECKINS",
        "CheckIn",
        "METIMES",
        "MeTime",
    ),
    "bot/storage/runs.py": ("RUNS", "FlowRun"),
    "bot/storage/timers.py": ("TIMERS", "Timer"),
    "bot/storage/voice_notes.py": ("VOICE_NOTES", "VoiceNote"),
}
ONE_WRITER = {table: store for store, tables in STORES.items() for table in tables}


def test_every_table_has_a_store() -> None:
    from sqlalchemy import Table

    from bot.storage import tables

    names = {n for n, value in vars(tables).items() if isinstance(value, Table)}
    assert names == {t for t in ONE_WRITER if t.isupper()}


def _table_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):  # `tables.PARTNERS`, `t.COUPLES`
        return node.attr
    return None


def writes_in(source: str) -> list[tuple[int, str]]:
    """(line, table) of each insert/update/delete of a table, and each ORM add/delete or
    field assignment of a row, in a module's source."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = getattr(func, "id", None) or getattr(func, "attr", None)
            if name in ("insert", "update", "delete") and node.args:
                table = _table_name(node.args[0])
                if table in ONE_WRITER:
                    found.append((node.lineno, table))
            if name in ("add", "delete", "merge") and isinstance(func, ast.Attribute):
                for arg in node.args:
                    called = arg.func if isinstance(arg, ast.Call) else None
                    if called is not None and _table_name(called) in ONE_WRITER:
                        found.append((node.lineno, _table_name(called) or ""))
    return sorted(found)


def test_each_table_has_one_writer() -> None:
    """Only a table's store inserts, updates or deletes its rows (bot/storage/partners.py
    the partners', bot/storage/couples.py the couples', ...); the emulator is not the bot."""
    strays = []
    for path in sorted(BOT.rglob("*.py")):
        name = str(path.relative_to(PROJECT_ROOT))
        if "emulator" in path.parts:
            continue
        for line, table in writes_in(path.read_text(encoding="utf-8")):
            if ONE_WRITER[table] != name:
                strays.append(f"{name}:{line} writes {table}")
    assert not strays, strays


def test_the_writer_check_sees_a_stray_write() -> None:
    stray = (
        "conn.execute(update(t.PARTNERS).values(hushed=True))\nsession.add(Couple(timezone='UTC'))"
    )
    assert writes_in(stray) == [(1, "PARTNERS"), (2, "Couple")]


# The only places in the services' layers (`coaching/`, `safety/`) that open a transaction:
# the clock's, `Nudging.run` (a read, then one unit per due item), `WakeUps.run` (the lease,
# then one unit per wake-up) and the start-up fill of weekly slots (batches of a few thousand
# couples); and the services' front (`Services`), for what the sender reports (a group that
# moved) and the safety reading before the unit. Every other service is handed its unit
# (`tx`) by the one way in (bot/core/work.py).
UNIT_OPENERS = {
    "bot/coaching/services.py": 2,
    "bot/coaching/nudges/common.py": 2,
    "bot/coaching/nudges/timers.py": 2,
    "bot/coaching/nudges/weekly.py": 1,
}
OPENS = re.compile(
    r"\.(?:db|engine)\.(begin|connect|session|unit)\(|\bSession\(|\bwork\.(?:open|reading)\("
)


def test_services_are_handed_their_unit_of_work() -> None:
    """A service takes the unit (`tx`: its connection and its one `now`) and never opens a
    transaction itself: one that did could commit half of what a piece of work promises, and
    what a call wrote would not be plain from its signature."""
    found = {
        str(path.relative_to(PROJECT_ROOT)): len(OPENS.findall(path.read_text(encoding="utf-8")))
        for layer in sorted(SERVICES)
        for path in sorted((BOT / layer).rglob("*.py"))
    }
    assert {name: n for name, n in found.items() if n} == UNIT_OPENERS


def test_the_unit_check_sees_a_service_that_opens_its_own() -> None:
    strays = "with self.db.begin() as conn:\nwith self.couples.db.connect() as c:\nSession(e)"
    assert len(OPENS.findall(strays)) == 3


def test_only_the_way_out_stores_messages() -> None:
    """Every message is said in its reader's voice before it is stored: `Outbox.put` has one
    caller, bot/core/way_out.py (a second caller could store a Text no one has said)."""
    callers = sorted(
        str(path.relative_to(PROJECT_ROOT))
        for path in BOT.rglob("*.py")
        if re.search(r"\boutbox\.put\(", path.read_text(encoding="utf-8"))
    )
    assert callers == ["bot/core/way_out.py"]
