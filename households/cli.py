"""``flask --app app households …``: the register of households from the command line."""

from __future__ import annotations

from flask.cli import AppGroup

households_cli = AppGroup("households", help="The register of households (Art. 15 votes).")

COMMANDS = [households_cli]
