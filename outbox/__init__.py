"""The durable outbox of mail: each message a row written in the transaction of the change
that caused it (``infra.mail.queue``), sent by the worker with retries and back-off
(``sending.py``), the failed ones listed for admins (``views.py``), ``mail retry`` (``cli.py``)."""

from flask import Blueprint

bp = Blueprint("outbox", __name__)
