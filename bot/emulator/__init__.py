"""A local Bot API-compatible server and a conversation-style client for it.

Tests and the playground run the real bot against this over real HTTP, so the
request and parsing code of python-telegram-bot runs exactly as in production.
"""

from bot.emulator.client import Conversation, Human
from bot.emulator.server import BotApiServer

__all__ = ["BotApiServer", "Conversation", "Human"]
