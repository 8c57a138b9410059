"""The register of households (officials) and a resident's link to their household."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("households", __name__)
