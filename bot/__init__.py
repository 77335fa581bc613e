"""The conversation with the user (Telegram and the terminal chat)."""
