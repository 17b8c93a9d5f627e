"""Each partner's data: export, forget (scanning every table), retention, and a privacy sweep."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from sqlalchemy import inspect, text
from sqlmodel import Session, select

from bot.storage.db import utcnow
from bot.storage.models import Agreement, CheckIn, Couple, FlowRun, Partner
from tests.helpers import (
    Rig,
    check_in,
    lean_in_until_on_it,
    linked_group,
    pair,
    send_letgo,
    time_passes_for_waits,
)


async def test_export_holds_my_words_and_never_my_partners_private_ones(rig: Rig) -> None:
    alex, sam = await pair(rig)
    await send_letgo(alex, "ALEX-SHARED-WORDS")
    await alex.presses("Send it")
    await alex.sees("Sent to Sam", "That took courage")
    await sam.sees("Lean in")
    sam.says("/cancel")
    await sam.sees("closed")
    await send_letgo(sam, "SAM-PRIVATE-WORDS")
    await sam.presses("Keep it to myself")
    await sam.sees("nothing was sent", "/letgo whenever")
    await check_in(alex, "team", (4, 4, 4))
    await alex.sees("healthy middle")
    alex.says("/export")
    document = await alex.sees("everything I store about you")
    assert document.document is not None
    _name, content, _mime = rig.server.files[document.document["file_id"]]
    data = json.loads(content)
    assert data["profile"]["first_name"] == "Alex"
    assert data["couple"]["partner_first_name"] == "Sam"
    assert data["check_ins"][0]["leaning"] == "interdependent"
    answers = json.dumps(data["flow_answers"])
    assert "ALEX-SHARED-WORDS" in answers
    assert "SAM-PRIVATE-WORDS" not in content.decode()


def every_value(rig: Rig) -> list[tuple[str, str]]:
    """(table, row as text) for every row of every table."""
    found = []
    with rig.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                found.append((table, " ".join(str(v) for v in row)))
    return found


async def test_forget_deletes_everything_about_me_and_leaves_my_partners_data(
    rig: Rig,
) -> None:
    alex, sam = await pair(rig, "Zorblat", "Sam")
    group = await linked_group(rig, alex, sam)
    await lean_in_until_on_it(alex, sam, "ZORBLAT-STRUGGLE")
    time_passes_for_waits(rig.engine)
    await alex.sees("how did it feel")
    await alex.presses("It helped")
    await alex.sees("I've told Sam")
    await sam.sees("support")
    await send_letgo(sam, "SAM-KEEPS-THIS")
    await sam.presses("Keep it to myself")
    await sam.sees("nothing was sent", "/letgo whenever")
    await check_in(alex, "hyper", (3, 3, 3))
    await alex.presses("Done")
    await alex.sees("Thanks for checking in")
    await check_in(sam, "team", (4, 4, 4))
    await sam.sees("healthy middle")
    alex.says("/appreciate")
    await alex.sees("One or two sentences")  # /appreciate's invitation (any variant)
    alex.says("ZORBLAT-THANKS")
    await alex.sees("exactly what Sam will get")
    await alex.presses("Send it")
    await alex.sees("Sent 💛", "keeps fondness growing")
    await sam.sees("ZORBLAT-THANKS")

    alex.says("/forget")
    confirm = await alex.sees("deletes everything about you")
    assert [b["text"] for b in confirm.buttons] == ["Yes, delete everything", "Keep my data"]
    await alex.presses("Yes, delete everything")
    await alex.sees("Everything about you is deleted")
    left = await sam.sees("Your partner has left Us Coach")
    assert "Zorblat" not in left.text
    await rig.talk.settle()  # sent messages leave the outbox a moment after Telegram took them

    for table, row in every_value(rig):
        assert not re.search(rf"(?<!\d){alex.id}(?!\d)", row), (table, row)
        assert "ZORBLAT" not in row.upper(), (table, row)
    with Session(rig.engine) as session:
        me = session.get(Partner, sam.id)
        assert me is not None and me.couple_id is None
        assert session.exec(select(CheckIn)).one().partner_id == sam.id
        kept = [r.context for r in session.exec(select(FlowRun))]
        assert any(c.get("struggle") == "SAM-KEEPS-THIS" for c in kept)
        couple = session.exec(select(Couple)).one()
        assert couple.status == "dissolved" and couple.next_prompt_at is None
    sam.says("/sotu", group)
    await sam.sees("not paired yet", in_=group)
    sam.says("/schedule")
    await sam.sees("not paired yet")


async def test_keeping_my_data_deletes_nothing(rig: Rig) -> None:
    alex, _sam = await pair(rig)
    alex.says("/forget")
    await alex.presses("Keep my data")
    await rig.talk.settle()
    with Session(rig.engine) as session:
        assert session.get(Partner, alex.id) is not None


async def test_retention_purges_old_transcripts_and_keeps_agreements(rig: Rig) -> None:
    alex, _sam = await pair(rig)
    await send_letgo(alex, "old words")
    await alex.presses("Keep it to myself")
    await alex.sees("nothing was sent")
    with Session(rig.engine) as session:
        run = session.exec(select(FlowRun)).one()
        session.add(
            Agreement(
                couple_id=run.couple_id, run_id=run.id, text="tea on sundays", created_at=utcnow()
            )
        )
        session.commit()
    from bot.coaching.services import build_services
    from bot.config import load_settings

    services = build_services(
        load_settings(telegram_bot_token="1:" + "x" * 35, database_url=f"sqlite:///{rig.db_path}")
    )
    with services.work.open() as tx:
        assert services.rights.purge(tx.conn, utcnow() + timedelta(days=179)) == 0
    with services.work.open() as tx:
        assert services.rights.purge(tx.conn, utcnow() + timedelta(days=181)) == 1
    with Session(rig.engine) as session:
        assert session.exec(select(FlowRun)).all() == []
        assert session.exec(select(Agreement)).one().text == "tea on sundays"
    services.engine.dispose()


async def test_privacy_explains_what_is_stored(rig: Rig) -> None:
    alex = rig.person("Alex")
    alex.says("/privacy")
    message = await alex.sees("What I store", "180 days")
    assert "/export" in message.text and "/forget" in message.text


async def test_privacy_sweep_private_words_reach_nobody_without_consent(rig: Rig) -> None:
    alex, sam = await pair(rig)
    group = await linked_group(rig, alex, sam)
    markers = []

    def mark(step: str) -> str:
        markers.append(f"MARK-{step}")
        return markers[-1]

    alex.says(mark("idle"))
    await alex.sees("nothing is running")
    await send_letgo(alex, mark("letgo"))
    await alex.presses("Change it")
    await alex.sees("Put it in a sentence")
    alex.says(mark("letgo-again"))
    await alex.sees("What would help")
    await alex.presses("Some company")
    await alex.sees("exactly what")
    await alex.presses("Keep it to myself")
    await alex.sees("nothing was sent")
    alex.says("/appreciate")
    await alex.sees("One or two sentences")  # /appreciate's invitation (any variant)
    alex.says(mark("appreciate"))
    await alex.sees("exactly what Sam will get")
    await alex.presses("Not now")
    await alex.sees("nothing was sent", "/appreciate whenever")
    alex.says("/metime")
    await alex.presses("Let's plan it")
    await alex.sees("What will you do?")
    alex.says(mark("metime"))
    await alex.sees("When?")
    alex.says(mark("metime-when"))
    await alex.sees("couldn't read")
    alex.says("sun 10:00")
    await alex.sees("Shall I tell Sam")
    await alex.presses("No, just me")
    await alex.sees("Planned")
    alex.says(f"I'm scared of him {mark('safety')}")
    await alex.sees("Thank you for telling me")
    await check_in(alex, "fused", (1, 2, 3))
    await alex.presses("Done")
    await alex.sees("Thanks for checking in")
    await rig.talk.settle()

    reached = sam.inbox() + [m.text for m in rig.server.bot_messages(group.id)]
    for marker in markers:
        assert not any(marker in t for t in reached), marker
    assert not any("leaning" in t or "serious" in t for t in reached)
