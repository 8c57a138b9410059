"""Casting a vote online, entering paper ballots and a meeting's votes, printing ballots."""

from __future__ import annotations

from decisions.views import bp  # noqa: F401
