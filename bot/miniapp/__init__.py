"""Our space: the Telegram Mini App where each partner sees their own picture of the couple
(agreements, check-in trend, plans, appreciations, the weekly recap) and changes the couple's
settings without typing commands. Telegram-free: Starlette routes over the services."""
