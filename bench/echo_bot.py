"""A bare python-telegram-bot echo bot: the baseline for bench/flow_steps.py."""

from __future__ import annotations

import os

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters


async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is not None and message.text:
        await message.reply_text(message.text)


def main() -> None:
    builder = (
        ApplicationBuilder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(os.environ["TELEGRAM_API_BASE_URL"])
        .concurrent_updates(True)  # the same concurrency as Us Coach, for a fair baseline
    )
    if os.environ.get("ECHO_HTTP") == "aiohttp":  # Us Coach's HTTP layer, to isolate the engine
        from bot.telegram.http import AiohttpRequest

        builder = builder.request(AiohttpRequest()).get_updates_request(AiohttpRequest(pool_size=1))
    application = builder.build()
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.run_polling(timeout=10, allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
