"""Our space's API over HTTP (Starlette's TestClient) against a real SQLite database built by
`build_services`: who may see what, and settings changed through the chat commands' own
services, confirmed in the person's private chat through the outbox."""

from __future__ import annotations

import ast
import base64
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import insert, select, update
from starlette.applications import Starlette
from starlette.testclient import TestClient

from bot import PROJECT_ROOT
from bot.coaching.services import Services, build_services
from bot.core import clock
from bot.core.events import Event, Person
from bot.miniapp.app import miniapp_routes
from bot.miniapp.auth import (
    ExpiredInitData,
    ForgedInitData,
    MissingInitData,
    from_header,
    sign_init_data,
    validate,
)
from bot.miniapp.page import labels
from bot.miniapp.stand_in import PATH, launch_url, stand_in_routes
from bot.storage.tables import (
    AGREEMENTS,
    APPRECIATIONS,
    CHECKINS,
    COUPLES,
    METIMES,
    OUTBOX,
    PARTNERS,
)
from bot.words.languages import SHIPPED
from tests.helpers import TOKEN, in_units, settings_for

ALEX, SAM = Person(1001, "Alex", "en"), Person(1002, "Sam", "en")
KIM, LEE = Person(2001, "Kim", "de"), Person(2002, "Lee", "de")
STRANGER = Person(3001, "Robin", "en")

# Every endpoint, as (method, path, body) that would succeed with a valid initData.
ENDPOINTS = [
    ("GET", "/app/api/me", None),
    ("GET", "/app/api/timezones?q=ber", None),
    ("POST", "/app/api/settings/timezone", {"zone": "Europe/Berlin"}),
    ("POST", "/app/api/settings/meeting", {"day": 6, "time": "19:00"}),
    ("POST", "/app/api/settings/quiet", {"start": "23:00", "end": "07:30"}),
    ("POST", "/app/api/settings/language", {"language": "de"}),
    ("POST", "/app/api/settings/form", {"form": "f"}),
    ("POST", "/app/api/settings/pause", {}),
    ("POST", "/app/api/settings/resume", {}),
]


@dataclass
class World:
    services: Services
    client: TestClient

    def rows(self, table: Any, *where: Any) -> list[Any]:
        with self.services.engine.connect() as conn:
            return list(conn.execute(select(table).where(*where)).mappings())

    def write(self, statement: Any) -> None:
        with self.services.engine.begin() as conn:
            conn.execute(statement)

    def call(
        self, person: Person, method: str, path: str, body: Any = None, start: str | None = None
    ) -> Any:
        headers = {"Authorization": f"tma {init_data(person, start)}"}
        if method == "GET":
            return self.client.get(path, headers=headers)
        return self.client.post(path, headers=headers, json=body)

    def view(self, person: Person, start: str | None = None) -> dict[str, Any]:
        answer = self.call(person, "GET", "/app/api/me", start=start)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())


def init_data(person: Person, start: str | None = None, **kwargs: Any) -> str:
    user = {"id": person.id, "first_name": person.first_name, "language_code": person.language_code}
    return sign_init_data(kwargs.pop("token", TOKEN), user, start, **kwargs)


def built(folder: Path) -> Iterator[World]:
    services = build_services(settings_for(folder / "coach.db", "http://127.0.0.1:9/bot"))
    with TestClient(Starlette(routes=miniapp_routes(services, TOKEN))) as client:
        yield World(services, client)
    services.engine.dispose()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """A fresh database for a test that changes something."""
    yield from built(tmp_path)


@pytest.fixture(scope="module")
def refusing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One paired couple for the tests that must change nothing (every request refused)."""
    for made in built(tmp_path_factory.mktemp("refusing")):
        pair(made, ALEX, SAM)
        yield made


def pair(world: World, first: Person, second: Person) -> int:
    """Two people pair through the services, as /invite and /start CODE do."""
    couples = in_units(world.services).couples
    now = clock.now()
    couples.register(first)
    couples.register(second)
    invite = couples.invite(Event(first, first.id, False, now))
    code = invite.messages[0].text.split("?start=")[1].split()[0].split('"')[0]
    couples.join(Event(second, second.id, False, now), code)
    (partner,) = world.rows(PARTNERS, PARTNERS.c.id == first.id)
    return int(partner["couple_id"])


def check_in(world: World, person: Person, *, shared: bool, at: datetime, spectrum: float) -> None:
    world.write(
        insert(CHECKINS).values(
            partner_id=person.id,
            spectrum=spectrum,
            leaning="interdependent",
            autonomy=4,
            competence=3,
            relatedness=5,
            shared=shared,
            created_at=at,
        )
    )


# ----- initData ------------------------------------------------------------------------------

# aiogram's published example (tests/test_utils/test_web_app.py): signed with "42:TEST".
PUBLISHED = (
    "auth_date=1650385342"
    "&user=%7B%22id%22%3A42%2C%22first_name%22%3A%22Test%22%7D"
    "&query_id=test"
    "&hash=46d2ea5e32911ec8d30999b56247654460c0d20949b6277af519e76271182803"
)


def test_the_published_example_validates_and_only_with_its_token_and_within_a_day() -> None:
    signed = datetime.fromtimestamp(1650385342, tz=UTC)
    clock.start_at(signed + timedelta(minutes=1))
    visitor = validate(PUBLISHED, "42:TEST")
    assert (visitor.user_id, visitor.first_name, visitor.start_param) == (42, "Test", None)
    with pytest.raises(ForgedInitData):
        validate(PUBLISHED, "42:INVALID")
    with pytest.raises(ForgedInitData):
        validate(PUBLISHED.replace("%3A42", "%3A43"), "42:TEST")
    clock.start_at(signed + timedelta(days=1, minutes=1))
    with pytest.raises(ExpiredInitData):
        validate(PUBLISHED, "42:TEST")


def test_our_signer_agrees_with_the_published_example() -> None:
    ours = sign_init_data(
        "42:TEST", {"id": 42, "first_name": "Test"}, None, 1650385342, query_id="test"
    )
    assert ours.rsplit("hash=", 1)[1] == PUBLISHED.rsplit("hash=", 1)[1]
    clock.start_at(datetime.fromtimestamp(1650385342, tz=UTC))
    assert validate(ours, "42:TEST").user_id == 42


def test_signed_init_data_round_trips_with_its_start_param() -> None:
    data = init_data(ALEX, "c7")
    visitor = validate(from_header(f"tma {data}"), TOKEN)
    assert (visitor.user_id, visitor.start_param, visitor.language_code) == (1001, "c7", "en")
    with pytest.raises(MissingInitData):
        validate(from_header(f"Bearer {data}"), TOKEN)


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
@pytest.mark.parametrize("proof", ["missing", "forged", "expired", "other_bot", "tampered"])
def test_every_endpoint_refuses_without_valid_init_data(
    refusing: World, method: str, path: str, body: Any, proof: str
) -> None:
    world = refusing
    before = world.rows(COUPLES), world.rows(PARTNERS)
    data = {
        "missing": "",
        "forged": re.sub(r"hash=\w+", "hash=" + "0" * 64, init_data(ALEX)),
        "expired": init_data(ALEX, auth_date=clock.now() - timedelta(hours=25)),
        "other_bot": init_data(ALEX, token="42:ANOTHER-bots-token-entirely-xxxxxxxxx"),
        "tampered": init_data(ALEX).replace("%22id%22%3A1001", "%22id%22%3A1002"),
    }[proof]
    headers = {"Authorization": f"tma {data}"} if data else {}
    answer = world.client.request(method, path, headers=headers, json=body)
    assert answer.status_code == 401
    assert answer.json()["ok"] is False
    reason = answer.json()["reason"]
    assert reason == {"missing": "missing", "expired": "expired"}.get(proof, "forged")
    assert (world.rows(COUPLES), world.rows(PARTNERS)) == before
    assert world.rows(OUTBOX) == []


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_every_endpoint_answers_a_partner_with_valid_init_data(
    world: World, method: str, path: str, body: Any
) -> None:
    pair(world, ALEX, SAM)
    answer = world.call(ALEX, method, path, body)
    assert answer.status_code == 200, answer.text
    if method == "POST":
        assert answer.json()["confirmed"] is True
        assert answer.json()["view"]["couple"]["partner"] == {"first_name": "Sam"}


# ----- who sees what ---------------------------------------------------------------------------


def test_another_couples_startapp_shows_nothing_and_changes_nothing(world: World) -> None:
    ours = pair(world, ALEX, SAM)
    theirs = pair(world, KIM, LEE)
    assert world.view(ALEX, f"c{ours}")["couple"]["id"] == ours
    seen = world.view(ALEX, f"c{theirs}")
    assert seen["couple"] is None and seen["agreements"] == [] and seen["plans"] == []
    answer = world.call(
        ALEX, "POST", "/app/api/settings/timezone", {"zone": "Asia/Tokyo"}, f"c{theirs}"
    )
    assert answer.status_code == 409
    assert {c["timezone"] for c in world.rows(COUPLES)} == {"UTC"}
    assert world.rows(OUTBOX) == []


def test_a_partners_private_check_in_is_never_returned_and_a_shared_one_is(world: World) -> None:
    pair(world, ALEX, SAM)
    now = clock.now()
    private_at, shared_at = now - timedelta(days=3), now - timedelta(days=2)
    check_in(world, SAM, shared=False, at=private_at, spectrum=-0.77)
    check_in(world, SAM, shared=True, at=shared_at, spectrum=0.33)
    check_in(world, SAM, shared=False, at=now - timedelta(hours=1), spectrum=-0.99)
    check_in(world, ALEX, shared=False, at=now - timedelta(days=1), spectrum=0.5)
    # Both or nothing: Alex has shared nothing yet, so sees nothing of Sam's.
    assert world.view(ALEX)["checkins"]["partner"] == []
    check_in(world, ALEX, shared=True, at=now - timedelta(minutes=5), spectrum=0.1)
    answer = world.call(ALEX, "GET", "/app/api/me")
    checkins = answer.json()["checkins"]
    assert [c["spectrum"] for c in checkins["partner"]] == [0.33]
    assert "-0.77" not in answer.text and "-0.99" not in answer.text
    assert "Sam's latest check-in" in checkins["partner_latest"]
    assert [c["spectrum"] for c in checkins["mine"]] == [0.5, 0.1]
    assert "2 check-ins" in checkins["trend"]["text"]
    sams = world.view(SAM)["checkins"]
    assert [c["spectrum"] for c in sams["mine"]] == [-0.77, 0.33, -0.99]
    assert [c["spectrum"] for c in sams["partner"]] == [0.1]


def test_a_stranger_sees_nothing_and_may_change_nothing(world: World) -> None:
    pair(world, ALEX, SAM)
    for person in (STRANGER, Person(ALEX.id + 5000, "Alex", "en")):
        seen = world.view(person)
        assert seen["couple"] is None and seen["checkins"]["mine"] == []
        answer = world.call(person, "POST", "/app/api/settings/pause", {})
        assert (answer.status_code, answer.json()["error"]) == (409, "not_known")
    in_units(world.services).couples.register(STRANGER)  # known to the bot, but nobody's partner
    assert world.view(STRANGER)["couple"] is None
    answer = world.call(STRANGER, "POST", "/app/api/settings/timezone", {"zone": "Europe/Berlin"})
    assert (answer.status_code, answer.json()["error"]) == (409, "no_couple")
    assert all(not c["paused"] for c in world.rows(COUPLES))
    assert world.rows(OUTBOX) == []


def test_an_ended_couple_sees_nothing(world: World) -> None:
    couple = pair(world, ALEX, SAM)
    world.write(
        insert(APPRECIATIONS).values(
            couple_id=couple,
            author_id=SAM.id,
            recipient_id=ALEX.id,
            text="OLD-THANKS",
            created_at=clock.now(),
        )
    )
    assert world.view(ALEX)["appreciations"][0]["text"] == "OLD-THANKS"
    world.write(update(COUPLES).where(COUPLES.c.id == couple).values(status="dissolved"))
    for start in (None, f"c{couple}"):
        answer = world.call(ALEX, "GET", "/app/api/me", start=start)
        assert answer.json()["couple"] is None and "OLD-THANKS" not in answer.text
    in_units(world.services).rights.forget(SAM.id)  # as /forget does: the couple ends for both
    assert world.view(ALEX)["couple"] is None


def test_the_view_holds_what_the_person_may_see_and_no_safety_data(world: World) -> None:
    couple = pair(world, ALEX, SAM)
    now = clock.now()
    world.write(
        update(COUPLES).where(COUPLES.c.id == couple).values(created_at=now - timedelta(days=30))
    )
    world.write(
        update(PARTNERS)
        .where(PARTNERS.c.id == ALEX.id)
        .values(hushed=True, safety_at=now, country="DE", safety_check_at=now + timedelta(days=1))
    )
    world.write(
        insert(AGREEMENTS).values(
            couple_id=couple,
            author_id=SAM.id,
            text="Phones away at dinner",
            status="open",
            created_at=now - timedelta(days=8),
            follow_up=(now - timedelta(days=1)).date(),
            history=[
                {
                    "at": (now - timedelta(days=1)).isoformat(),
                    "answer": "again",
                    "by": [ALEX.id, SAM.id],
                },
                {"at": now.isoformat(), "answer": "working", "by": SAM.id, "pending": True},
            ],
        )
    )
    for author, recipient, text in ((SAM, ALEX, "THANKS-FOR-ALEX"), (ALEX, SAM, "THANKS-FOR-SAM")):
        world.write(
            insert(APPRECIATIONS).values(
                couple_id=couple,
                author_id=author.id,
                recipient_id=recipient.id,
                text=text,
                created_at=now - timedelta(days=2),
            )
        )
    for person, what, tell, together in (
        (ALEX, "ALEX-PRIVATE-CLIMB", False, False),
        (SAM, "SAM-PRIVATE-RUN", False, False),
        (SAM, "SAM-TOLD-CHOIR", True, False),
        (SAM, "OUR-PICNIC", True, True),
    ):
        world.write(
            insert(METIMES).values(
                partner_id=person.id,
                couple_id=couple,
                what=what,
                at=now - timedelta(days=3),
                tell_partner=tell,
                together=together,
                status="asked",
                created_at=now - timedelta(days=4),
            )
        )
    answer = world.call(ALEX, "GET", "/app/api/me")
    view = answer.json()
    assert view["me"]["first_name"] == "Alex" and view["me"]["quiet"] == {
        "start": "22:00",
        "end": "08:00",
    }
    assert (
        view["couple"]["partner"] == {"first_name": "Sam"} and view["couple"]["timezone"] == "UTC"
    )
    (agreement,) = view["agreements"]
    assert agreement["status"] == "open" and agreement["history"][0]["by"] == "both"
    assert agreement["waiting"] == {"answer": "working", "by": "partner"}
    assert [a["text"] for a in view["appreciations"]] == ["THANKS-FOR-ALEX"]
    assert view["appreciations"][0]["from"] == "Sam"
    assert sorted(p["what"] for p in view["plans"]) == [
        "ALEX-PRIVATE-CLIMB",
        "OUR-PICNIC",
        "SAM-TOLD-CHOIR",
    ]
    assert (
        view["recap"]["counts"]["together"] == 1
        and "Made time together once" in view["recap"]["text"]
    )
    for secret in ("SAM-PRIVATE-RUN", "THANKS-FOR-SAM", "hushed", "safety", "country", '"DE"'):
        assert secret not in answer.text, secret
    sams = world.view(SAM)
    assert "ALEX-PRIVATE-CLIMB" not in json.dumps(sams)
    assert sams["agreements"][0]["waiting"] == {"answer": "working", "by": "you"}


def test_a_new_couple_has_no_recap_yet_and_arabic_reads_right_to_left(world: World) -> None:
    pair(world, ALEX, Person(SAM.id, "سام", "ar"))
    assert world.view(ALEX)["recap"] is None
    me = world.view(Person(SAM.id, "سام", "ar"))["me"]
    assert (me["lang"], me["rtl"]) == ("ar", True)


# ----- settings through the commands' own services -----------------------------------------


def outbox_for(world: World, chat: int) -> list[str]:
    return [row["text"] for row in world.rows(OUTBOX, OUTBOX.c.chat_id == chat)]


def test_a_timezone_from_the_list_changes_the_couple_and_is_confirmed_in_chat(world: World) -> None:
    couple = pair(world, ALEX, SAM)
    found = world.call(ALEX, "GET", "/app/api/timezones?q=berl&device=Europe/Berlin").json()
    assert (
        found["zones"][0]["zone"] == "Europe/Berlin"
        and found["suggested"][0]["zone"] == "Europe/Berlin"
    )
    answer = world.call(
        ALEX, "POST", "/app/api/settings/timezone", {"zone": found["zones"][0]["zone"]}
    )
    assert answer.status_code == 200 and answer.json()["confirmed"] is True
    assert answer.json()["view"]["couple"]["timezone"] == "Europe/Berlin"
    (row,) = world.rows(COUPLES, COUPLES.c.id == couple)
    assert row["timezone"] == "Europe/Berlin"
    (mine,) = outbox_for(world, ALEX.id)
    assert "Berlin" in mine
    (theirs,) = outbox_for(world, SAM.id)
    assert "Alex" in theirs and "Berlin" in theirs
    # No sender was handed them here: any sender's next scan takes them.
    assert all(r["claimed_until"] is None for r in world.rows(OUTBOX))


def test_each_setting_changes_what_its_command_changes(world: World) -> None:
    couple = pair(world, ALEX, SAM)
    assert (
        world.call(
            ALEX, "POST", "/app/api/settings/meeting", {"day": 6, "time": "19:30"}
        ).status_code
        == 200
    )
    assert (
        world.call(
            ALEX, "POST", "/app/api/settings/quiet", {"start": "23:00", "end": "7:15"}
        ).status_code
        == 200
    )
    assert world.call(ALEX, "POST", "/app/api/settings/pause", {}).status_code == 200
    (row,) = world.rows(COUPLES, COUPLES.c.id == couple)
    assert (row["meeting_day"], row["meeting_time"], row["paused"]) == (6, "19:30", True)
    assert row["next_prompt_at"] is not None
    (alex,) = world.rows(PARTNERS, PARTNERS.c.id == ALEX.id)
    assert (alex["quiet_start"], alex["quiet_end"]) == ("23:00", "07:15")
    assert any("paused" in text for text in outbox_for(world, SAM.id))
    answer = world.call(ALEX, "POST", "/app/api/settings/resume", {})
    assert answer.json()["view"]["couple"]["paused"] is False
    answer = world.call(ALEX, "POST", "/app/api/settings/language", {"language": "es"})
    assert answer.json()["view"]["me"]["lang"] == "es"
    assert any("Listo" in text for text in outbox_for(world, ALEX.id))  # said in Spanish
    answer = world.call(ALEX, "POST", "/app/api/settings/form", {"form": "f"})
    assert answer.json()["view"]["me"]["form"] == "f"


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("timezone", {"zone": "Mars/Olympus_Mons"}),
        ("timezone", {}),
        ("meeting", {"day": 7, "time": "19:00"}),
        ("meeting", {"day": "sun", "time": "19:00"}),
        ("quiet", {"start": "25:00", "end": "08:00"}),
        ("language", {"language": "fr"}),
        ("form", {"form": "x"}),
    ],
)
def test_a_setting_the_command_would_not_understand_is_refused(
    world: World, name: str, body: dict[str, Any]
) -> None:
    pair(world, ALEX, SAM)
    answer = world.call(ALEX, "POST", f"/app/api/settings/{name}", body)
    assert (answer.status_code, answer.json()["error"]) == (400, "bad_request")
    assert world.rows(OUTBOX) == []


def test_timezone_suggestions_follow_the_language_and_search_knows_local_city_names(
    world: World,
) -> None:
    pair(world, KIM, LEE)
    found = world.call(KIM, "GET", "/app/api/timezones?q=wien&device=America/Sao_Paulo").json()
    assert found["zones"][0]["zone"] == "Europe/Vienna" and found["zones"][0]["city"] == "Wien"
    assert [z["zone"] for z in found["suggested"]][:2] == ["America/Sao_Paulo", "Europe/Berlin"]
    assert found["current"]["zone"] == "UTC"
    assert world.call(KIM, "GET", "/app/api/timezones?q=").json()["zones"] == []


# ----- the page and the layers -----------------------------------------------------------------


def test_the_page_is_served_with_a_policy_that_allows_only_its_own_and_telegrams_scripts(
    world: World,
) -> None:
    page = world.client.get("/app/")
    assert page.status_code == 200
    assert '<script src="https://telegram.org/js/telegram-web-app.js">' in page.text
    policy = page.headers["content-security-policy"]
    inline = re.search(r"<script>(.*?)</script>", page.text, re.DOTALL)
    assert inline is not None
    digest = base64.b64encode(hashlib.sha256(inline.group(1).encode()).digest()).decode()
    assert f"script-src https://telegram.org 'sha256-{digest}'" in policy
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy
    assert world.client.get("/app", follow_redirects=False).headers["location"] == "/app/"
    local = TestClient(
        Starlette(routes=miniapp_routes(world.services, TOKEN, telegram_js="/stand-in.js"))
    )
    assert "script-src 'self' " in local.get("/app/").headers["content-security-policy"]


def test_the_mini_app_never_imports_python_telegram_bot() -> None:
    for path in (PROJECT_ROOT / "bot" / "miniapp").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(n.split(".")[0] == "telegram" for n in names), path
            assert not any(n.startswith(("bot.telegram", "bot.playground")) for n in names), path


def test_the_page_speaks_every_shipped_language_with_every_word() -> None:
    words = labels()
    assert sorted(words) == sorted(SHIPPED)
    for lang, table in words.items():
        assert set(table) == set(words["en"]), lang
        for key, text in table.items():
            assert set(re.findall(r"{\w+}", text)) == set(re.findall(r"{\w+}", words["en"][key]))


def test_the_playgrounds_stand_in_launches_the_page_as_telegram_would(world: World) -> None:
    pair(world, ALEX, SAM)
    url = launch_url("http://testserver/app/", TOKEN, {"id": ALEX.id, "first_name": "Alex"})
    fragment = parse_qs(urlsplit(url).fragment)
    assert validate(fragment["tgWebAppData"][0], TOKEN).user_id == ALEX.id
    assert json.loads(fragment["tgWebAppThemeParams"][0])["bg_color"] == "#ffffff"
    local = TestClient(
        Starlette(
            routes=[*miniapp_routes(world.services, TOKEN, telegram_js=PATH), *stand_in_routes()]
        )
    )
    script = local.get(PATH)
    assert script.headers["content-type"].startswith("text/javascript")
    assert "tgWebAppData" in script.text
    assert f'<script src="{PATH}">' in local.get("/app/").text
