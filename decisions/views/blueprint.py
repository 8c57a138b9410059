"""The ``decisions`` blueprint, in a module of its own so the route modules import it without
importing the package that imports them (tests/test_layout.py: no import cycles)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("decisions", __name__)
