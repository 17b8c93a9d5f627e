"""The command menus (setMyCommands) and /help: built-in commands plus each flow's own."""

from __future__ import annotations

PRIVATE = [
    ("start", "Welcome and what to do next"),
    ("invite", "Get a link to pair with your partner"),
    ("join", "Join your partner with an invite code"),
    ("timezone", "Set your timezone, e.g. /timezone Europe/Berlin"),
    ("schedule", "Set your weekly meeting, e.g. /schedule sun 19:00"),
    ("quiet", "Your quiet hours, e.g. /quiet 22:00 08:00"),
    ("pause", "Pause nudges for both of you"),
    ("resume", "Turn nudges back on"),
    ("cancel", "Leave what's running"),
    ("agreements", "The agreements you made together"),
    ("safe", "Where to get help, any time"),
    ("privacy", "What I store, why, and who sees it"),
    ("export", "Get a copy of everything about you"),
    ("forget", "Delete everything about you"),
    ("help", "What I can do"),
]

GROUP = [
    ("link", "Make this group your shared space"),
    ("agreements", "The agreements you made together"),
    ("cancel", "Leave what's running"),
    ("help", "What I can do"),
]
