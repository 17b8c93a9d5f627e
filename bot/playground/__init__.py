"""Try Us Coach without Telegram: the local Bot API server, the real bot on it over HTTP,
and a web page with Alex's chat, Sam's chat and their group side by side."""
