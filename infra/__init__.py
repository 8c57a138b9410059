"""The outside world: mail, file storage, rate limits and HTTP caching."""
