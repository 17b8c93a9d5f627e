"""The playground in a real headless Chromium: pair, link the group, Let go reaches Sam as
Lean in, and a State of the Union runs to its first summary step. Saves a screenshot. Voice
notes: a spoken recording uploaded in the page, and one recorded from Chromium's fake
microphone."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot import PROJECT_ROOT
from bot.emulator import BotApiServer, Conversation, Human
from tests.helpers import a_week_of_practices, engine_for, time_passes_for_waits
from tests.speech import needs_espeak, spoken

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
try:
    from playwright.async_api import Page, ViewportSize, async_playwright, expect
except ImportError:  # pragma: no cover - reported as a skip below
    async_playwright = None  # type: ignore[assignment]

REASON = None
if async_playwright is None:
    REASON = "Playwright for Python is not installed"
elif not Path(CHROMIUM).exists():
    REASON = f"Chromium not found at {CHROMIUM} (Debian package 'chromium')"
if REASON:
    print(f"\n*** BROWSER TESTS SKIPPED: {REASON} ***\n", file=sys.stderr)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(REASON is not None, reason=f"BROWSER TESTS SKIPPED: {REASON}"),
]

SCREENSHOT = PROJECT_ROOT / "docs" / "playground.png"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Chromium's own stand-in microphone (a beeping tone), allowed without asking.
FAKE_MICROPHONE = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


@contextlib.asynccontextmanager
async def playground_page(
    tmp_path: Path, flags: list[str], server: BotApiServer | None = None
) -> AsyncIterator[Page]:
    from bot.playground.app import run_playground

    port = free_port()
    stop, ready = asyncio.Event(), asyncio.Event()
    db = str(tmp_path / "pg.db")
    task = asyncio.create_task(run_playground(port, db, stop, ready, server=server))
    await asyncio.wait_for(ready.wait(), 30)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=flags)
        page = await browser.new_page(viewport={"width": 1400, "height": 900})
        await page.goto(f"http://127.0.0.1:{port}/")
        yield page
        await browser.close()
    stop.set()
    await asyncio.wait_for(task, 30)


@pytest.fixture(autouse=True)
def no_flood_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Telegram's flood limits lifted, as in every other test (the playground reads them from
    the environment like any deployment): a week of practices paced at 20 group messages a
    minute took a minute and a half of waiting and tested nothing more."""
    for name in ("FLOOD_GROUP_PER_MINUTE", "FLOOD_OVERALL_PER_SECOND", "FLOOD_CHAT_PER_SECOND"):
        monkeypatch.setenv(name, "10000")


@pytest.fixture
async def page(tmp_path: Path) -> AsyncIterator[Page]:
    async with playground_page(tmp_path, FLAGS) as page:
        yield page


@pytest.fixture
async def page_with_microphone(tmp_path: Path) -> AsyncIterator[Page]:
    async with playground_page(tmp_path, FLAGS + FAKE_MICROPHONE) as page:
        yield page


def column(page: Page, name: str):  # type: ignore[no-untyped-def]
    return page.locator(f'[data-column="{name}"]')


async def say(page: Page, name: str, text: str, as_who: str | None = None) -> None:
    if as_who:
        await column(page, name).locator("select").select_option(as_who)
    box = column(page, name).locator("input[name=text]")
    await box.fill(text)
    await box.press("Enter")


async def sees(page: Page, name: str, text: str) -> None:
    await expect(column(page, name).locator(".msg", has_text=text).last).to_be_visible(
        timeout=30_000
    )


async def press(page: Page, name: str, label: str | re.Pattern[str]) -> None:
    button = column(page, name).locator(".buttons button", has_text=label).last
    await expect(button).to_be_visible(timeout=30_000)
    await button.click()


async def reply_to(page: Page, name: str, bubble_text: str, text: str, as_who: str) -> None:
    await column(page, name).locator(".msg.bot", has_text=bubble_text).last.click()
    await say(page, name, text, as_who)


async def test_a_couple_in_the_browser(page: Page, tmp_path: Path) -> None:
    # The first screen says how to begin, and one button pairs them the real way.
    for name, words in (("alex", "Start here"), ("sam", "joins"), ("group", "/link")):
        await expect(column(page, name).locator(".hint")).to_contain_text(words)
    await page.get_by_role("button", name="Pair Alex and Sam").click()
    await sees(page, "sam", "now a couple")
    await sees(page, "alex", "now a couple")
    for name in ("alex", "sam"):
        await expect(column(page, name).locator(".hint")).to_be_hidden()
    await expect(column(page, "group").locator(".hint")).to_be_visible()
    sent = await column(page, "alex").locator(".msg.user").all_inner_texts()
    assert any("/start" in t for t in sent) and any("/invite" in t for t in sent)
    assert any(
        "/start " in t for t in await column(page, "sam").locator(".msg.user").all_inner_texts()
    )
    await expect(page.locator("#calls")).to_contain_text("sendMessage")

    await page.get_by_role("button", name="Add the bot to the group").click()
    await sees(page, "group", "send /link")
    await say(page, "group", "/link", "alex")
    await sees(page, "group", "shared space")

    await say(page, "alex", "/letgo")
    await press(page, "alex", "I have something")
    await sees(page, "alex", "Put it in a sentence")
    await say(page, "alex", "I'm feeling rattled since that meeting")
    await press(page, "alex", "Just listen")
    await sees(page, "alex", "exactly what Sam will get")
    await press(page, "alex", "Send it")
    await sees(page, "sam", "Lean in")
    await sees(page, "sam", "rattled since that meeting")
    await press(page, "sam", "I'm on it")
    await sees(page, "alex", "has read what you shared")
    await sees(page, "sam", "In a few hours")
    time_passes_for_waits(engine_for(tmp_path / "pg.db"))
    await sees(page, "alex", "how did it feel")
    await press(page, "alex", "It helped")
    await sees(page, "sam", "your support helped")

    await say(page, "group", "/sotu", "alex")
    await press(page, "group", "We're ready")
    await sees(page, "group", "Up to five, one per message")
    await sees(page, "group", "Reply here")  # the step's last message: the page is settled
    await reply_to(page, "group", "Up to five, one per message", "Sam cooked for me", "alex")
    await sees(page, "group", "Noted")
    await column(page, "group").locator("select").select_option("alex")
    await press(page, "group", "That's all for now")
    await reply_to(page, "group", "Up to five, one per message", "Alex listened", "sam")
    await column(page, "group").locator("select").select_option("sam")
    await press(page, "group", "That's all for now")
    await sees(page, "group", "one issue for today")
    await reply_to(page, "group", "one issue for today", "Weekend plans", "sam")
    await sees(page, "group", "Today's issue")
    await column(page, "group").locator("select").select_option("alex")
    await press(page, "group", "Yes, this one")
    await column(page, "group").locator("select").select_option("sam")
    await press(page, "group", "Yes, this one")
    await sees(page, "group", "Who speaks first")
    await press(page, "group", "Alex first")
    await column(page, "group").locator("select").select_option("alex")
    await press(page, "group", "Alex first")
    await sees(page, "group", "you speak first")
    await column(page, "group").locator("select").select_option("alex")
    await press(page, "group", "I'm done")
    await sees(page, "group", "sum up what you heard")
    await page.get_by_role("button", name="Send this week's meeting prompt now").click()
    start_now = column(page, "group").locator(".buttons button", has_text="Start now")
    await expect(start_now.last).to_be_visible(timeout=30_000)  # the weekly prompt's button
    await expect(page.locator("#calls")).to_contain_text("sendMessage")
    await page.screenshot(path=str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000

    await say(page, "alex", "/export")  # documents download from the page
    link = column(page, "alex").locator(".msg a[download]").last
    await expect(link).to_be_visible(timeout=30_000)
    exported = await page.evaluate(
        "url => fetch(url).then(r => r.json())", await link.get_attribute("href")
    )
    assert exported["profile"]["first_name"] == "Alex"

    for round_ in (1, 2):  # two check-ins, then the trend chart shows as a picture
        await say(page, "sam", "/checkin")
        bubbles = column(page, "sam").locator(".msg.bot")
        await expect(bubbles.filter(has_text="Two or three minutes")).to_have_count(round_)
        await press(page, "sam", "Let's go")
        labels: tuple[str | re.Pattern[str], ...] = (
            "I tell them and ask for what I need",
            "We decide together",
            "I keep mine, and we share some",
            "I care, and their feelings are theirs",
            "4",
            "4",
            "4",
            re.compile(r"^\s*Always\s*$"),  # not "Not always"
        )
        for number, label in enumerate(labels, 1):
            # wait for this round's question, so an older button is never pressed
            await expect(bubbles.filter(has_text=f"{number}/8")).to_have_count(round_)
            await press(page, "sam", label)
        await expect(bubbles.filter(has_text="healthy middle")).to_have_count(round_)
        if round_ == 1:
            await press(page, "sam", "Done")
            await sees(page, "sam", "Thanks for checking in")
    await press(page, "sam", "My trend")
    chart = column(page, "sam").locator(".msg img").last
    await expect(chart).to_be_visible(timeout=30_000)
    assert await chart.evaluate("img => img.complete && img.naturalWidth > 100")

    await page.set_viewport_size({"width": 390, "height": 844})  # a phone: columns stack
    first = await column(page, "alex").bounding_box()
    third = await column(page, "group").bounding_box()
    assert first and third and abs(first["x"] - third["x"]) < 2 and third["y"] > first["y"]


ARABIC_SCREENSHOT = PROJECT_ROOT / "docs" / "playground-ar.png"


async def language(page: Page, who: str, code: str) -> None:
    picker = column(page, who).locator("select.lang")
    await picker.select_option(code)
    await expect(picker).to_have_value(code)


async def test_one_flow_in_each_language(page: Page) -> None:
    """Each column's picker is that person's Telegram language: Alex in German and Sam in
    Arabic pair; then Alex switches to Spanish and Sam to English, one flow in each."""
    await language(page, "alex", "de")
    await language(page, "sam", "ar")
    await page.get_by_role("button", name="Pair Alex and Sam").click()
    await sees(page, "alex", "seid jetzt hier ein Paar")
    await sees(page, "sam", "تمّ الارتباط بينك وبين")

    # German: Let go, kept private at the preview.
    await say(page, "alex", "/letgo")
    await press(page, "alex", "Ich habe etwas")
    await sees(page, "alex", "Sag es in ein, zwei Sätzen")
    await say(page, "alex", "Ich bin heute so müde")
    await press(page, "alex", "Einfach zuhören")
    await sees(page, "alex", "Genau das bekommt Sam")
    await press(page, "alex", "Für mich behalten")
    await sees(page, "alex", "nichts wurde geschickt")

    # Arabic: "you" time, right to left on the page.
    await say(page, "sam", "/metime")
    await press(page, "sam", "لنخطط له")
    await sees(page, "sam", "ما خطتك؟")
    await say(page, "sam", "الرسم مع صديقتي")
    await sees(page, "sam", "يكفي يوم ووقت")
    await say(page, "sam", "السبت 15:00")  # the example's own words
    await sees(page, "sam", "قليل من التشجيع يفيد")
    await press(page, "sam", "نعم، لا مانع")
    planned = column(page, "sam").locator(".msg.bot", has_text="السبت 15:00").last
    await expect(planned).to_be_visible(timeout=30_000)
    direction = await planned.locator("div[dir=auto]").evaluate(
        "e => getComputedStyle(e).direction"
    )
    assert direction == "rtl"
    await sees(page, "alex", "plant etwas Zeit für sich")  # Alex is told, in German
    await page.screenshot(path=str(ARABIC_SCREENSHOT))
    assert ARABIC_SCREENSHOT.stat().st_size > 10_000

    # Spanish: Alex's Telegram now speaks Spanish; an appreciation reaches Sam in Arabic.
    await language(page, "alex", "es")
    await say(page, "alex", "/appreciate")
    await sees(page, "alex", "Una o dos frases")
    await say(page, "alex", "tu paciencia conmigo")
    await sees(page, "alex", "Esto es exactamente lo que recibirá Sam")
    await press(page, "alex", "Enviarlo")
    await sees(page, "sam", "كلمة تقدير من")

    # English: Sam's Telegram now speaks English.
    await language(page, "sam", "en")
    await say(page, "sam", "/together")
    await sees(page, "sam", "Time together")
    await press(page, "sam", "Another time")
    await sees(page, "sam", "/together whenever you want")


HEARING = 60_000  # the speech model loads for the first note


async def pair_and_share(page: Page) -> None:
    """Pair through the page; Alex starts Let go and is asked for a sentence."""
    await page.get_by_role("button", name="Pair Alex and Sam").click()
    await sees(page, "alex", "now a couple")
    await sees(page, "sam", "now a couple")
    await say(page, "alex", "/letgo")
    await press(page, "alex", "I have something")
    await sees(page, "alex", "Put it in a sentence")


@needs_espeak
async def test_a_voice_note_uploaded_in_the_browser(page: Page, tmp_path: Path) -> None:
    alex = column(page, "alex")
    # No microphone (a page opened over plain http, or permission refused): the page says so
    # and keeps working.
    await page.evaluate(
        "() => Object.defineProperty(navigator, 'mediaDevices', {value: undefined})"
    )
    await page.get_by_role("button", name="Record a voice note as Alex").click()
    await expect(page.locator("#toast")).to_have_text(
        "Microphone not available here: upload a recording instead"
    )
    for name in ("Record a voice note as Sam", "Upload a voice note as Sam"):
        await expect(page.get_by_role("button", name=name)).to_be_visible()
    group = column(page, "group")
    await group.locator("select").select_option("sam")
    upload = page.get_by_role("button", name="Upload a voice note in the group as Sam")
    await expect(upload).to_be_visible()
    await group.locator("select").select_option("alex")
    record = page.get_by_role("button", name="Record a voice note in the group as Alex")
    await expect(record).to_be_visible()

    await pair_and_share(page)
    recording = tmp_path / "money.ogg"
    recording.write_bytes(spoken("I am worried about money and I need you to listen"))
    await page.get_by_label("Voice note file from Alex").set_input_files(recording)

    bubble = alex.locator(".msg.user", has=page.locator(".voice")).last
    await expect(bubble).to_be_visible(timeout=30_000)
    await expect(bubble).to_contain_text(re.compile(r"🎤 Voice note · 0:0[2-9]"))
    player = bubble.locator("audio")
    assert await player.get_attribute("controls") is not None
    assert await player.get_attribute("preload") == "none"
    size = await player.evaluate("a => fetch(a.src).then(r => r.blob()).then(b => b.size)")
    assert size == recording.stat().st_size  # the page plays the very bytes the bot heard

    heard = alex.locator(".msg.bot", has_text="I heard").last
    await expect(heard).to_be_visible(timeout=HEARING)
    await expect(heard).to_contain_text("money")
    buttons = heard.locator(".buttons button")
    await expect(buttons).to_have_text(["✅ Use this", "⌨️ Type it instead"])
    await press(page, "alex", "Use this")
    await sees(page, "alex", "What would help")


async def test_a_voice_note_recorded_in_the_browser(page_with_microphone: Page) -> None:
    page = page_with_microphone
    alex = column(page, "alex")
    await pair_and_share(page)
    bots_before = await alex.locator(".msg.bot").count()

    await page.get_by_role("button", name="Record a voice note as Alex").click()
    record = alex.locator("button.record")
    await expect(record).to_have_text(re.compile(r"⏹ 0:0[0-9]"))
    await expect(record).to_have_attribute("aria-label", "Stop and send the voice note as Alex")
    await expect(record).to_have_text("⏹ 0:02", timeout=10_000)  # the timer runs
    await record.click()
    await expect(record).to_have_text("🎤")
    await expect(record).to_have_attribute("aria-label", "Record a voice note as Alex")

    bubble = alex.locator(".msg.user", has=page.locator(".voice")).last
    await expect(bubble).to_be_visible(timeout=30_000)
    await expect(bubble).to_contain_text(re.compile(r"🎤 Voice note · 0:0[2-5]"))
    # A beeping tone has no words: the bot answers it all the same (whatever it made of it).
    answer = alex.locator(".msg.user:has(.voice) ~ .msg.bot")
    await expect(answer.first).to_be_visible(timeout=HEARING)
    assert await alex.locator(".msg.bot").count() > bots_before


async def a_real_week(server: BotApiServer) -> tuple[Human, Human]:
    """Through the bot, as the playground's Alex and Sam: paired, the group linked, check-ins
    shared by both (and one Sam keeps), an appreciation, and a meeting with an agreement."""
    talk = Conversation(server, timeout=60)
    alex, sam = Human(talk, server.users[1001]), Human(talk, server.users[1002])
    alex.says("/invite")
    code = (await alex.sees("invite link")).text.split("?start=")[1].split()[0]
    sam.says(f"/start {code}")
    for person in (alex, sam):  # the onboarding, read as pair() reads it
        await person.sees("now a couple")
        await person.sees("Share my location")
        await person.sees("1/3")
        person.ignores("2/3 ·")
    group = server.chats[-4000000001]
    server.add_bot_to_group(group, alex.user)
    await alex.sees("/link", in_=group)
    alex.says("/link", group)
    await alex.sees("shared space", in_=group)
    await a_week_of_practices(alex, sam, group, "Thank you for making tea every morning")
    return alex, sam


async def test_our_space_as_alex_and_as_sam(tmp_path: Path) -> None:
    """Each partner opens Our space from the playground (signed as Telegram would), sees their
    own picture of the couple after a real week, and Alex sets the time zone from the list:
    the chat confirms."""
    from bot.playground.app import TOKEN

    server = BotApiServer(TOKEN)
    async with playground_page(tmp_path, FLAGS, server) as page:
        _alex, sam_in_chat = await a_real_week(server)
        await language(page, "sam", "ar")  # Sam's Telegram now speaks Arabic
        sam_in_chat.says("/help")
        await sam_in_chat.sees("/")
        browser = page.context.browser
        assert browser is not None
        phone: ViewportSize = {"width": 390, "height": 844}
        alex = await browser.new_page(viewport=phone)
        await alex.goto(page.url + "space/alex")
        space = alex.locator("main")
        await expect(alex.get_by_role("heading", name="Our agreements")).to_be_visible(
            timeout=30_000
        )
        await expect(space).to_contain_text("Phones away at dinner")
        await expect(space).to_contain_text("Sam's check-ins")  # shared by both
        await expect(space).not_to_contain_text("Thank you for making tea")  # sent, not received
        await alex.screenshot(path=str(PROJECT_ROOT / "docs" / "our-space.png"), full_page=True)

        dark = await browser.new_page(viewport=phone)
        await dark.goto(page.url + "space/alex?theme=dark")
        await expect(dark.get_by_role("heading", name="Our agreements")).to_be_visible(
            timeout=30_000
        )
        background = await dark.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(33, 33, 33)", background  # Telegram's night theme
        await dark.screenshot(
            path=str(PROJECT_ROOT / "docs" / "our-space-dark.png"), full_page=True
        )

        sam = await browser.new_page(viewport=phone)
        await sam.goto(page.url + "space/sam")
        await expect(sam.locator("html")).to_have_attribute("dir", "rtl", timeout=30_000)
        await expect(sam.locator("main")).to_contain_text("Thank you for making tea every morning")
        await expect(sam.locator("main")).to_contain_text("Phones away at dinner")
        await sam.screenshot(path=str(PROJECT_ROOT / "docs" / "our-space-ar.png"), full_page=True)

        # The time zone without typing a zone name: a city from the list.
        await alex.fill("#tz-q", "tok")
        await alex.locator("button.zone", has_text="Tokyo").click()
        await expect(alex.locator("#status")).to_contain_text("confirmed", timeout=30_000)
        await sees(page, "alex", "Tokyo")  # said in Alex's chat, as /timezone would
