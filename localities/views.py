"""Locality pages (old codes keep working after merges)."""

from localities import bp  # noqa: F401
