"""The enrichment engine: the frontier of indicators, scheduling, rate limits and retries."""
