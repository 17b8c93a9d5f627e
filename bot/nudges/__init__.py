"""Nudges: the one clock's due actions, one small unit per kind (see service.py)."""

from bot.nudges.common import Batch, Delivery
from bot.nudges.service import NudgeService

__all__ = ["Batch", "Delivery", "NudgeService"]
