"""The read-only open-data JSON API."""

from api import bp  # noqa: F401
