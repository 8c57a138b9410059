"""Command-line interface: ``flask --app app <command>``."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Attach every command group to ``app``."""
