"""Users, API keys, playback tokens, bot tokens and the server's own secrets."""
