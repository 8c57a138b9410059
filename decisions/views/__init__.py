"""The vote of a decide consultation: casting and entering votes, counting, results."""

from __future__ import annotations

from decisions.views.blueprint import bp

# isort: split
from decisions.views import counting, voting  # noqa: F401 - the routes, on bp

__all__ = ["bp"]
