"""Nudges: the one clock's due actions, one small unit per kind (see service.py)."""

from bot.coaching.nudges.service import NudgeService

__all__ = ["NudgeService"]
