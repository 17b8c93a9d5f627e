"""Hearing voice notes: the queue's loop in `us-coach run` and in workers (web processes only
queue notes).

Each listener claims the note whose turn is first (bot/storage/voice_notes.py), shows "typing"
while it works, fetches the audio with getFile (kept in memory only, never stored), hears it in
the transcriber's threads, screens the words, and answers in one unit of work that also marks
the note heard: a process killed at any line leaves the note waiting, and the next one to claim
it answers it once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import Future
from datetime import timedelta
from typing import Any

from telegram import Bot
from telegram.constants import ChatAction
from telegram.error import BadRequest, Forbidden, TelegramError

from bot import metrics
from bot.coaching.services import Services
from bot.core.outbox import Reply
from bot.core.work import Tx
from bot.storage.db import utcnow
from bot.storage.voice_notes import Note
from bot.storage.voices import person_language
from bot.telegram.sender import Sender
from bot.voice.transcriber import Heard, TooLong, Transcriber, Unreadable

log = logging.getLogger(__name__)

IDLE_SECONDS = 2.0  # a safety net: look for waiting notes nobody woke us for
TYPING_EVERY = 4.0  # Telegram shows "typing" for about five seconds
FETCH_TRIES = 5
RETRY_AFTER = timedelta(seconds=20)
# The speech model takes a second or two of CPU to load, which belongs to the people waiting
# on a fresh start: it loads once the bot has handled no update for QUIET_FOR seconds (looked
# at from WARM_AFTER on). A note that comes sooner loads it itself, and waits.
WARM_AFTER = 5.0
QUIET_FOR = 2.0


class Hearing:
    def __init__(
        self, bot: Bot, services: Services, sender: Sender, transcriber: Transcriber | None
    ) -> None:
        self.bot = bot
        self.services = services
        self.sender = sender
        self.transcriber = transcriber
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    def close(self) -> None:
        if self.transcriber is not None:
            self.transcriber.close()

    async def run(self, halt: asyncio.Event) -> None:
        if self.transcriber is None:
            # Voice is off here: nothing to hear, but a loop that ends stops the process.
            await halt.wait()
            return
        notes = self.services.voice.notes
        if self.services.db.engine.dialect.name == "sqlite":
            # One process by construction: a claim it finds was left by its own last life.
            await self.services.db.call(notes.reclaim)
        if self.services.settings.voice_load_at_start:
            asyncio.get_running_loop().call_later(WARM_AFTER, self._warm, halt, None)
        listeners = [
            asyncio.create_task(self._listen(halt), name=f"listener-{n}")
            for n in range(self.transcriber.workers)
        ]
        await asyncio.gather(*listeners)

    def _warm(self, halt: asyncio.Event, handled_before: float | None) -> None:
        if self.transcriber is None or halt.is_set():
            return
        handled = metrics.updates_handled()
        if handled != handled_before:  # people are talking: look again in a while
            asyncio.get_running_loop().call_later(QUIET_FOR, self._warm, halt, handled)
            return
        self.transcriber.warm().add_done_callback(_report_load)

    async def _listen(self, halt: asyncio.Event) -> None:
        notes = self.services.voice.notes
        while not halt.is_set():
            try:
                note = await self.services.db.call(notes.claim, utcnow())
            except Exception:
                log.exception("could not read the voice notes; trying again")
                note = None
            if note is None:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), IDLE_SECONDS)
                continue
            try:
                await self._hear(note)
            except Exception:
                # Left waiting: its claim runs out and it is heard again (up to FETCH_TRIES).
                log.exception("voice note %s could not be heard", note.id)

    async def _hear(self, note: Note) -> None:
        typing = asyncio.create_task(self._typing(note.chat_id))
        try:
            reply = await self._answer(note)
        finally:
            typing.cancel()
        if reply is not None:
            done = await self.services.db.call(
                self.services.work.run,
                reply,
                couple_id=note.couple_id,
                hint=(note.person_id, note.language_code),
            )
            if done is not None:
                self.sender.hand_over(done.queued)

    async def _answer(self, note: Note) -> Any:
        """The work that answers the note (run in a unit of work), or None to try later."""
        voice = self.services.voice
        assert self.transcriber is not None
        if note.attempts > FETCH_TRIES:  # it was claimed and lost that often: give up kindly
            return lambda tx: voice.failed(tx, note, "unreadable")
        try:
            audio = await self._fetch(note)
        except (BadRequest, Forbidden) as exc:  # too big for bots, or gone: it will not change
            log.warning("voice note %s cannot be fetched: %s", note.id, exc)
            return lambda tx: voice.failed(tx, note, "unreachable")
        except TelegramError as exc:
            if note.attempts >= FETCH_TRIES:
                return lambda tx: voice.failed(tx, note, "unreachable")
            log.warning("voice note %s not fetched yet (%s); trying again", note.id, exc)
            await self.services.db.call(voice.notes.release, note.id, utcnow() + RETRY_AFTER)
            return None
        lang = await self.services.db.call(self._language, note)
        loop = asyncio.get_running_loop()
        try:
            heard: Heard = await loop.run_in_executor(
                self.transcriber.pool, self.transcriber.transcribe, audio, lang
            )
        except TooLong:
            return lambda tx: voice.failed(tx, note, "too_long")
        except Unreadable as exc:
            log.info("voice note %s could not be decoded: %s", note.id, exc)
            return lambda tx: voice.failed(tx, note, "unreadable")
        except Exception:  # the model itself failed (missing, broken): say so, never hang
            log.exception("voice note %s: the speech model failed", note.id)
            return lambda tx: voice.failed(tx, note, "unreadable")
        log.info(
            "voice note %s heard: %.0f s of audio in %.1f s", note.id, heard.seconds, heard.took
        )
        event = voice.event_of(note, heard.text)
        screened = await self.services.db.call(self.services.read, event)

        def work(tx: Tx) -> Reply:
            return voice.heard(tx, note, heard.text, screened)

        return work

    async def _fetch(self, note: Note) -> bytes:
        file = await self.bot.get_file(note.file_id)
        return bytes(await file.download_as_bytearray())

    def _language(self, note: Note) -> str:
        with self.services.work.reading() as tx:
            return person_language(tx.conn, note.person_id, (note.person_id, note.language_code))

    async def _typing(self, chat_id: int) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            while True:
                try:
                    await self.bot.send_chat_action(chat_id, ChatAction.TYPING)
                except TelegramError as exc:  # only a courtesy: never in the way
                    log.debug("no typing action for %s: %s", chat_id, exc)
                await asyncio.sleep(TYPING_EVERY)


def _report_load(loaded: Future[None]) -> None:
    if loaded.exception() is not None:  # e.g. the model's packages are missing or altered
        log.error("the speech model could not be loaded: %s", loaded.exception())
