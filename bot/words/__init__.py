"""The bot's words: templates, labels, languages, parsing of what people type, and button
data. Telegram-free."""
