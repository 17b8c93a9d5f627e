"""Audio in, words out: PyAV decodes the note (Opus, MP3, AAC...; no ffmpeg program), Silero
VAD skips the silences, and Whisper, run by CTranslate2 on the CPU, writes the words in the
person's language.

The model loads once per process, in the transcriber's own threads (never on the event loop),
the first time it is needed or at start-up with `warm()`. `workers` notes are heard at once,
each with `threads` CPU threads: on a two-core machine one note at a time, on two threads,
hears fastest (bench/voice.py).
"""

from __future__ import annotations

import io
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

SEED = 7  # the sampling's, set before each note

# Whisper's language codes for ours (the same two letters).
LANGUAGES = {"en": "en", "de": "de", "es": "es", "ar": "ar"}


class Unreadable(ValueError):
    """The bytes are not audio we can decode (empty, truncated, not audio at all)."""


class TooLong(ValueError):
    """The audio is longer than we listen to (its real length, not what its sender said)."""


@dataclass(frozen=True)
class Heard:
    text: str
    seconds: float  # the audio's length
    took: float  # seconds spent hearing it


def audio_seconds(audio: bytes) -> float:
    """The audio's length from its container, without decoding it; Unreadable if none."""
    import av

    if not audio:
        raise Unreadable("empty")
    try:
        with av.open(io.BytesIO(audio), mode="r") as container:
            if not container.streams.audio:
                raise Unreadable("no audio stream")
            if container.duration is not None:
                return float(container.duration) / 1_000_000
            stream = container.streams.audio[0]
            if stream.duration is not None and stream.time_base is not None:
                return float(stream.duration * stream.time_base)
            return 0.0
    except Unreadable:
        raise
    except Exception as exc:  # PyAV's errors (InvalidDataError, ...) for anything not audio
        raise Unreadable(str(exc)) from exc


def decode(audio: bytes) -> Any:
    """16 kHz mono float samples, as Whisper hears them."""
    from faster_whisper.audio import decode_audio

    try:
        samples = decode_audio(io.BytesIO(audio), sampling_rate=16000)
    except Exception as exc:
        raise Unreadable(str(exc)) from exc
    if samples is None or len(samples) == 0:
        raise Unreadable("no samples")
    return samples


class Transcriber:
    def __init__(
        self,
        model_dir: str | None = None,
        *,
        workers: int | None = None,
        threads: int | None = None,
        beam_size: int = 1,
        max_seconds: float = 300.0,
    ) -> None:
        cores = os.cpu_count() or 1
        self.workers = workers or max(1, cores // 4)
        self.threads = threads or max(1, cores // self.workers)
        self.beam_size = beam_size
        self.max_seconds = max_seconds
        self._configured = model_dir
        self._model: Any = None
        self._seed: Callable[[int], None] = lambda _seed: None  # the model's, once loaded
        self._lock = threading.Lock()
        # The model's own threads: the event loop and the database's never wait on a note.
        self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix="voice")

    def warm(self) -> Future[None]:
        """Load the model in the background (a start-up does this; notes wait for it)."""
        return self.pool.submit(self._load)

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never a download
                import ctranslate2
                from faster_whisper import WhisperModel

                from bot.voice.model import model_folder

                began = time.perf_counter()
                folder = model_folder(self._configured)
                self._model = WhisperModel(
                    str(folder.path),
                    device="cpu",
                    compute_type="int8",
                    cpu_threads=self.threads,
                    num_workers=self.workers,
                )
                self._seed = ctranslate2.set_random_seed
                log.info(
                    "speech model ready in %.1f s (%s, %d worker(s) of %d thread(s))",
                    time.perf_counter() - began,
                    folder.path,
                    self.workers,
                    self.threads,
                )
            return self._model

    def transcribe(self, audio: bytes, lang: str) -> Heard:
        """The words of `audio` in `lang` (blocking: run it in `pool`)."""
        began = time.perf_counter()
        seconds = audio_seconds(audio)
        if seconds > self.max_seconds:
            raise TooLong(f"{seconds:.0f} s")
        samples = decode(audio)
        seconds = max(seconds, len(samples) / 16000)
        if seconds > self.max_seconds:
            raise TooLong(f"{seconds:.0f} s")
        model = self._load()
        # An unsure pass is tried again at higher temperatures, which samples (that is what
        # breaks Arabic's repetition loops). A fixed seed per note makes the sampling the same
        # every time: a note heard again after a restart, or in a test, gives the same words.
        self._seed(SEED)
        segments, _info = model.transcribe(
            samples,
            language=LANGUAGES.get(lang, "en"),
            beam_size=self.beam_size,
            vad_filter=True,
            condition_on_previous_text=False,
        )
        text = " ".join(s.text.strip() for s in segments).strip()
        return Heard(text, seconds, time.perf_counter() - began)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
