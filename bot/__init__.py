"""Us Coach: a Telegram bot that coaches couples toward interdependence."""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Opt in to python-telegram-bot's future API now: durations such as RetryAfter.retry_after
# are timedeltas (without this, PTB 22 warns on every 429).
os.environ.setdefault("PTB_TIMEDELTA", "1")
