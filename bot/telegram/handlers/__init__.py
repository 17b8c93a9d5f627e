"""Thin adapters: Update -> Event -> service call -> Bot API calls."""
