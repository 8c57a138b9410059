"""Counting: the committee, the reconciliation, corrections, sign-off, publication, results."""

from __future__ import annotations

from decisions.views import bp  # noqa: F401
