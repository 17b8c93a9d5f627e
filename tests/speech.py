"""Real speech for the voice tests: espeak-ng says a sentence, PyAV encodes it as Telegram's
voice notes are (OGG/Opus, 48 kHz, mono), with no ffmpeg program."""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from functools import cache

import av
import numpy as np
import pytest

ESPEAK = shutil.which("espeak-ng")
needs_espeak = pytest.mark.skipif(
    ESPEAK is None, reason="*** espeak-ng is not installed (apt-get install espeak-ng) ***"
)


def _pcm(text: str, lang: str, speed: int) -> tuple[np.ndarray, int]:
    assert ESPEAK is not None
    wav = subprocess.run(
        [ESPEAK, "-v", lang, "-s", str(speed), "--stdout", text], check=True, capture_output=True
    ).stdout
    with wave.open(io.BytesIO(wav)) as read:
        rate = read.getframerate()
        samples = np.frombuffer(read.readframes(read.getnframes()), dtype=np.int16)
    return samples, rate


def opus(samples: np.ndarray, rate: int) -> bytes:
    """16-bit mono samples as an OGG/Opus voice note."""
    out = io.BytesIO()
    with av.open(out, mode="w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=48000)
        stream.layout = "mono"
        stream.bit_rate = 32000
        resample = av.AudioResampler(format="s16", layout="mono", rate=48000)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = rate
        for each in resample.resample(frame) + resample.resample(None):
            for packet in stream.encode(each):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


@cache
def spoken(text: str, lang: str = "en", *, speed: int = 150, pad: float = 0.3) -> bytes:
    """`text` said by espeak-ng in `lang`, as a voice note."""
    samples, rate = _pcm(text, lang, speed)
    silence = np.zeros(int(rate * pad), dtype=np.int16)
    return opus(np.concatenate([silence, samples, silence]), rate)


@cache
def silence(seconds: float) -> bytes:
    return opus(np.zeros(int(22050 * seconds), dtype=np.int16), 22050)


def seconds_of(note: bytes) -> int:
    with av.open(io.BytesIO(note), mode="r") as container:
        return max(1, round((container.duration or 0) / 1_000_000))
