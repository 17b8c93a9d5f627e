"""A typed CallbackContext: handlers reach the services as `context.services` and the one
sender as `context.sender`."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.coaching.services import Services
from bot.telegram.sender import Sender


class CoachContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    @property
    def services(self) -> Services:
        services: Services = self.application.bot_data["services"]
        return services

    @property
    def sender(self) -> Sender:
        sender: Sender = self.application.bot_data["sender"]
        return sender


CoachApp = Application[
    ExtBot[None], CoachContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any
]
