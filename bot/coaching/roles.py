"""What the bot's own code asks of the flows: roles a flow fills, and commands it must not
take. Python asks for a flow by role, never by id, so a coach may rename any flow;
`us-coach flows check` fails when a role has no flow or two."""

from __future__ import annotations

from bot.coaching import commands

ROLES: dict[str, str] = {
    "weekly_meeting": "the weekly prompt's Start now, and whether a couple met lately",
    "start_small": "Wednesday's invitation to share a small struggle, and its button",
    "after_metime": 'asked a few hours after planned "you" time',
    "after_together": "asked of both partners a few hours after planned time together",
    "self_check": "the first check-in offered after pairing, and its button",
    "offer_support": "counted in the weekly recap as support offered (start_small as asked)",
    "share_win": "counted in the weekly recap as wins shared (only those the partner got)",
}

# The timing each role needs in its flow's `timing:` (e.g. start small's day and hour).
TIMING = {
    "start_small": ("day", "at"),
    "after_metime": ("after",),
    "after_together": ("after",),
}

# Commands the bot answers itself; a flow's command may not shadow them.
BUILT_IN = {name for name, _ in (*commands.PRIVATE, *commands.GROUP)}
