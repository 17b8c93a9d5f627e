"""Voice notes: how fast this machine hears them, with how much memory, right after a start
and warm.

    python bench/voice.py [--notes 6]

1. The transcriber alone, in a fresh process: the model's first load (joining and checking
   its weights when the cache is empty, then reading them), the first 30-second note right
   after start, then the same note warm (median of three); resident memory before the model,
   with it, and at the peak.
2. The whole bot (`us-coach run` in its own process, against the local Bot API server): two
   couples send `--notes` ten-second notes each at the same moment; notes per minute from the
   first note sent to the last "I heard" received, and each couple's last answer (fairness).

The speech is espeak-ng's (tests/speech.py), the issue's goal is at most 5 s per 30-second note.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.flow_steps import TOKEN, launch, stop, wait_polling
from bot.emulator import BotApiServer, Conversation
from bot.emulator.cluster import checkout_path

SENTENCES = [
    "I am worried about money and I need you to listen.",
    "Work was long today and the kids were loud at dinner.",
    "I appreciate that you cooked dinner for me on Tuesday.",
    "Can we talk about the weekend and who drives to your mother?",
    "I feel tired on Saturdays and I would like an hour to myself.",
    "Thank you for listening to me this week, it helped a lot.",
]

ALONE = """
import json, os, resource, sys, time
sys.path.insert(0, sys.argv[1])
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
note = open(sys.argv[2], "rb").read()
began = time.perf_counter()
from bot.voice.transcriber import Transcriber
t = Transcriber(workers=1, threads=os.cpu_count() or 1)
before = rss()
t.warm().result()
loaded = time.perf_counter() - began
with_model = rss()
first = t.transcribe(note, "en")
warm = sorted(t.transcribe(note, "en").took for _ in range(3))[1]
print(json.dumps({"load": loaded, "first": first.took, "warm": warm, "seconds": first.seconds,
    "rss_before": before, "rss_model": with_model,
    "rss_peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "text": first.text[:80]}))
"""


def thirty_seconds() -> bytes:
    import numpy as np

    from tests.speech import _pcm, opus

    parts, rate = [], 22050
    while sum(len(p) for p in parts) < 30 * rate:
        for sentence in SENTENCES:
            samples, rate = _pcm(sentence, "en", 150)
            parts += [samples, np.zeros(int(rate * 0.5), dtype=np.int16)]
    joined = np.concatenate(parts)[: 30 * rate]
    return opus(joined, rate)


def alone(note: bytes, cache: Path) -> dict[str, float]:
    with tempfile.NamedTemporaryFile(suffix=".ogg") as file:
        file.write(note)
        file.flush()
        env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
        out = subprocess.run(
            [sys.executable, "-c", ALONE, str(ROOT), file.name],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


async def two_couples(notes: int, workdir: Path) -> dict[str, float]:
    from tests.speech import seconds_of, spoken

    server = BotApiServer(TOKEN)
    await server.start()
    env = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": server.base_url,
        "PYTHONPATH": checkout_path(),  # this checkout's bot, not the installed one
        "DATABASE_URL": f"sqlite:///{workdir / 'voice.db'}",
        "LOG_LEVEL": "WARNING",
    }
    since = server.poll_count
    process = launch([sys.executable, "-m", "bot.cli", "run"], env, workdir / "coach.log")
    talk = Conversation(server, timeout=600)
    try:
        await wait_polling(server, since)
        couples = []
        for i in range(2):
            alex, sam = talk.person(f"A{i}"), talk.person(f"S{i}")
            alex.says("/invite")
            code = (await alex.sees("invite link")).text.split("?start=")[1].split()[0]
            sam.says(f"/start {code}")
            await alex.sees("now a couple")
            couples.append((alex, sam))
        # Warm: one note heard first, so this part measures hearing, not the model's load.
        warm_note = spoken(SENTENCES[0])
        couples[0][0].speaks(warm_note, seconds_of(warm_note))
        await couples[0][0].sees("I heard")
        ten = [spoken(" ".join(SENTENCES[i % 6 : i % 6 + 2])) for i in range(notes)]
        began = time.perf_counter()
        for note in ten:
            for alex, _sam in couples:
                alex.speaks(note, seconds_of(note))
        last = {}
        for n, (alex, _sam) in enumerate(couples):
            for _ in range(notes):
                await alex.sees("I heard")
            last[n] = time.perf_counter() - began
        took = max(last.values())
        audio = sum(seconds_of(note) for note in ten) * 2
        return {
            "notes": notes * 2,
            "audio_seconds": audio,
            "took": took,
            "per_minute": notes * 2 / took * 60,
            "couple_1_done": last[0],
            "couple_2_done": last[1],
        }
    finally:
        stop(process)
        await server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notes", type=int, default=6, help="ten-second notes per couple")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores")
    note = thirty_seconds()
    with tempfile.TemporaryDirectory() as cache:
        cold = alone(note, Path(cache))  # an empty cache: the weights are joined and checked
        again = alone(note, Path(cache))  # a second start: only checked
    print(f"30-second note ({cold['seconds']:.1f} s of audio, espeak-ng English)")
    print(f"  model ready after a first start (join + check + load): {cold['load']:.2f} s")
    print(f"  model ready after a later start (check + load):        {again['load']:.2f} s")
    print(f"  first note right after start:  {again['first']:.2f} s")
    print(f"  warm (median of 3):            {again['warm']:.2f} s   (goal: at most 5 s)")
    print(
        f"  memory: {again['rss_before']:.0f} MB before the model, {again['rss_model']:.0f} MB "
        f"with it, {again['rss_peak']:.0f} MB at the peak"
    )
    print(f"  heard: {again['text']!r}")
    with tempfile.TemporaryDirectory() as work:
        both = asyncio.run(two_couples(args.notes, Path(work)))
    print(
        f"two couples at once, {both['notes']:.0f} notes of about 10 s "
        f"({both['audio_seconds']:.0f} s of audio) through `us-coach run`:"
    )
    print(
        f"  all heard in {both['took']:.1f} s: {both['per_minute']:.1f} notes a minute; "
        f"couple 1 done at {both['couple_1_done']:.1f} s, couple 2 at "
        f"{both['couple_2_done']:.1f} s"
    )


if __name__ == "__main__":
    main()
