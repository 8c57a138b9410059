"""The worker's schedule for notifications (infra/queue.py, times in UTC). Each sweep decides
for itself what is due, so running one early, late or twice does no harm."""

from __future__ import annotations

from flask import current_app

from core.extensions import db
from infra import queue
from notifications import digests, services
from notifications.models import Frequency


def _run(fn, *args):
    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
        result = fn(*args)
        db.session.commit()
    return result


@queue.periodic(queue.crontab(minute="7"))
def notification_sweeps() -> None:
    """Hourly: scheduled consultations that opened, consultations closing within 3 days."""
    _run(services.notify_openings)
    _run(services.notify_closing_soon)


# 00:30 UTC is 07:30 in Vietnam: the digests arrive in the morning.
@queue.periodic(queue.crontab(hour="0", minute="30"))
def notification_digests() -> None:
    """Daily: the daily digests that are due, then the weekly ones."""
    _run(digests.send_digests, Frequency.daily)
    _run(digests.send_digests, Frequency.weekly)
