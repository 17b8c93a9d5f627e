"""Recording which English a translation was made from (see check_languages.py).

A template's first line is `{# en: <hash> #}`; a labels.yaml or commands.yaml has a
`source: <hash>` key. `us-coach flows stamp <lang> [names]` writes them after a translator
checked the words against today's English: gettext's "remove the fuzzy flag".
"""

from __future__ import annotations

from pathlib import Path

from bot.engine.schema import Flow
from bot.words.labels import english_labels, source_hash
from bot.words.languages import ENGLISH, english_hash
from bot.words.texts import SOURCE
from bot.yaml_files import read_yaml


def stamp(root: Path, lang: str, flows: dict[str, Flow], names: list[str]) -> list[str]:
    folder = root / lang
    if not names:
        names = sorted(
            p.relative_to(folder).as_posix()
            for p in folder.rglob("*")
            if p.suffix in (".j2", ".yaml")
        )
    done = []
    for name in names:
        path = folder / name
        if name.endswith(".j2"):
            english = (root / ENGLISH / name).read_text(encoding="utf-8")
            body = SOURCE.sub("", path.read_text(encoding="utf-8"), count=1).lstrip("\n")
            path.write_text(f"{{# en: {english_hash(english)} #}}\n{body}", encoding="utf-8")
        elif name == "commands.yaml":
            source = read_yaml(root / ENGLISH / name)
            _set_source(path, source_hash(source))
        elif name.endswith("/labels.yaml") and name.split("/")[0] in flows:
            _set_source(path, source_hash(english_labels(flows[name.split("/")[0]])))
        else:
            continue
        done.append(name)
    return done


def _set_source(path: Path, digest: str) -> None:
    lines = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if not line.startswith("source:")
    ]
    path.write_text("\n".join([f"source: {digest}", *lines]) + "\n", encoding="utf-8")
