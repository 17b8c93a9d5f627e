"""The Telegram edge: the one wiring module (main), handlers as thin adapters, the poller
(the one way in), the sender (the one way out), the webhook server and the worker. The
only layer that imports python-telegram-bot."""
