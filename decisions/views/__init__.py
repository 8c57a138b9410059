"""The vote of a decide consultation: casting and entering votes, counting, results."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("decisions", __name__)

from decisions.views import counting, voting  # noqa: E402, F401 - the routes, on bp
