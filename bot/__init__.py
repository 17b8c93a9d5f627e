"""Us Coach: a Telegram bot that coaches couples toward interdependence."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
