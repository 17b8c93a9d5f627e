"""The coaching services: couples, flows, practices, agreements, nudges, data rights. They
take events and return replies (values); Telegram-free."""
