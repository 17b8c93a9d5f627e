"""Reading the YAML the bot ships (flows, signals, labels, helplines, development sets) with
libyaml's C parser when PyYAML has it: the pure-Python one took most of the start-up's
quarter second (bench/flow_steps.py, first reply after launch)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

# PyYAML's wheels bundle libyaml; a build without it falls back to the same rules in Python.
if TYPE_CHECKING:
    SafeLoader = yaml.SafeLoader
else:
    SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> Any:
    return load_yaml_text(path.read_text(encoding="utf-8"))


def load_yaml_text(text: str, loader: type[yaml.SafeLoader] = SafeLoader) -> Any:
    return yaml.load(text, Loader=loader)
