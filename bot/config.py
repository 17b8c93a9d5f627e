"""Settings, read once from the environment or a `.env` file in the working directory."""

from __future__ import annotations

import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot import PROJECT_ROOT

# Telegram tokens look like "123456789:AA...": a numeric bot id, a colon, a 30+ char secret.
TOKEN_PATTERN = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{30,}$")


class ConfigError(Exception):
    """A setting is missing or wrong; the message is one line for the operator."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    telegram_bot_token: str = Field(default="")
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    database_url: str = "sqlite:///us-coach.db"
    default_timezone: str = "UTC"
    log_level: str = "INFO"
    flows_dir: Path = PROJECT_ROOT / "flows"
    prompts_dir: Path = PROJECT_ROOT / "prompts"
    invite_ttl_hours: int = 72
    # Telegram's flood limits; the sender's one budget keeps us under them (bot/core/budget.py).
    flood_overall_per_second: float = 30
    flood_group_per_minute: float = 20
    flood_chat_per_second: float = 1
    # How long a sender holds a message it is sending; after a crash, a message that was in
    # flight waits this long before the next process sends it.
    outbox_lease_seconds: float = Field(default=20, gt=0)
    # Long-poll timeout for getUpdates, in seconds.
    poll_timeout: int = 10
    # Connections to the Bot API server kept open for sending.
    http_pool_size: int = Field(default=16, ge=1, le=256)
    # Flow transcripts (answers inside finished flows) are deleted after this many days.
    retention_days: int = Field(default=180, ge=1)
    # How often the scheduler looks for due nudges, in seconds.
    nudge_tick_seconds: float = Field(default=5, gt=0, le=60)
    # A nudge missed while the bot was down is still sent if at most this late.
    missed_nudge_max_late_hours: float = Field(default=6, ge=0)
    # At scale (`us-coach web`, `us-coach worker`): Telegram sends this secret with every
    # webhook request (set it with `us-coach webhook set URL`); anything else gets 403.
    webhook_secret: str = Field(default="", pattern=r"^[A-Za-z0-9_-]{0,256}$")
    webhook_path: str = "/telegram"
    # `text` for people, `json` for log collectors (never message text, in either).
    log_format: str = Field(default="text", pattern=r"^(text|json)$")
    # Voice notes are heard on this machine (bot/voice/). Off: a voice note gets the
    # "I can read text" answer. The model: the shipped Whisper base unless a folder is named.
    voice_enabled: bool = True
    voice_model_dir: str = ""
    # Load the model in the first quiet moment after start-up (a first note need not wait);
    # off: at the first note.
    voice_load_at_start: bool = True
    # Notes heard at once, and CPU threads for each (0: sized for the machine).
    voice_workers: int = Field(default=0, ge=0, le=64)
    voice_threads: int = Field(default=0, ge=0, le=256)
    # Our space, the couple's Mini App (bot/miniapp/): `us-coach web` serves it at /app/ beside
    # the webhook; `us-coach run` on this port (0: not served). Telegram opens it over HTTPS
    # only: MINIAPP_URL is its public address (a reverse proxy or tunnel in front of the port),
    # MINIAPP_SHORT_NAME the name BotFather gave it (the group's link needs it).
    miniapp_port: int = Field(default=0, ge=0, le=65535)
    miniapp_host: str = "127.0.0.1"
    miniapp_url: str = ""
    miniapp_short_name: str = Field(default="", pattern=r"^[A-Za-z0-9_]{0,64}$")
    # The script that gives the page `window.Telegram.WebApp`: Telegram's own when empty; the
    # playground serves a local stand-in (bot/miniapp/stand_in.py).
    miniapp_script: str = ""
    # Seconds added to the machine's clock (bot/core/clock.py). Zero in production; the tests
    # and the playground's browser test start every process at the same fixed daytime.
    clock_offset_seconds: float = 0

    @field_validator("default_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r} (try Europe/Berlin)") from exc
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value

    def require_token(self) -> str:
        """Return the bot token, or explain in one line what is wrong with it."""
        token = self.telegram_bot_token.strip()
        if not token:
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN is not set: get one from @BotFather and put it in .env"
            )
        if not TOKEN_PATTERN.match(token):
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN looks malformed: expected something like 123456789:AAE..."
            )
        return token


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning validation errors into one-line ConfigErrors."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]).upper()
        raise ConfigError(f"{field}: {first['msg']}") from exc
