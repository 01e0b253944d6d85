"""Helpers every layer may use (time, files): they import nothing of ours above osint.errors."""
