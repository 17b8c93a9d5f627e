"""The durable core: what happened (events), one unit of work per update, the outbox every
message waits in, the flood budget and the one clock. Telegram-free."""
