"""Hearing voice notes on our own machine: a Whisper model run by CTranslate2 (faster-whisper),
never a cloud service. Imports nothing of Telegram."""
