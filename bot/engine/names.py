"""What the bot's code provides to flows and needs from them, for checking one against the
other."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Names:
    """What the bot provides (effects, seeds) and needs (roles, its own commands), for
    checking flows against it. Without it, flows are checked on their own."""

    effects: frozenset[str]
    seeds: frozenset[str]
    roles: dict[str, str] = field(default_factory=dict)  # role -> what the code uses it for
    commands: frozenset[str] = frozenset()  # built-in commands no flow may take
    timing: dict[str, tuple[str, ...]] = field(default_factory=dict)  # role -> fields it needs
