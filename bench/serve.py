"""gunicorn entry point for the page-cache rows: ``bench.serve:create_app(5, outbox)``.

The application as ``app:create_app`` builds it, with caching.py's short page cache for
anonymous visitors switched on (and caching.py attached if app.py does not attach it yet).
"""

from __future__ import annotations

from app import create_app as create_gopy
from infra import caching


def create_app(page_cache_seconds: float = 5, outbox: str | None = None):
    """The Góp ý application with the anonymous page cache on."""
    app = create_gopy({"OUTBOX_DIR": outbox} if outbox else None)
    if "gopy_page_cache" not in app.extensions:
        caching.init_app(app)
    app.config["PAGE_CACHE_SECONDS"] = page_cache_seconds
    return app
