"""Flask's signed-cookie session, remembering the cookies it has verified.

A logged-in visitor sends the same session cookie with every page until the session changes.
Checking its signature and decoding it again (base64, zlib, HMAC, tagged JSON) was a
fifteenth of a logged-in page; a cookie already verified by this process is now a lookup.
Its age is still checked against the lifetime on every request, a changed or forged cookie
is verified as before, and a session holding anything mutable (the messages flashed) is
decoded afresh each time, so that no request can change another's.
"""

from __future__ import annotations

import time

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature

from core.fragments import Kept

#: How many verified cookies a process keeps (a few hundred bytes each).
KEPT = 20_000

_SCALARS = (str, int, float, bool, type(None))


class RememberingSessionInterface(SecureCookieSessionInterface):
    def __init__(self) -> None:
        self._verified: Kept[tuple[dict, float]] = Kept(KEPT)

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        val = request.cookies.get(self.get_cookie_name(app))
        if not val or not app.secret_key:
            return super().open_session(app, request)
        max_age = int(app.permanent_session_lifetime.total_seconds())
        key = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()), val)
        held = self._verified.get(key)
        if held is not None and time.time() - held[1] <= max_age:
            return self.session_class(held[0])
        s = self.get_signing_serializer(app)
        if s is None:  # pragma: no cover - a secret key was checked above
            return None
        try:
            data, signed = s.loads(val, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        if isinstance(data, dict) and all(isinstance(v, _SCALARS) for v in data.values()):
            self._verified.put(key, (dict(data), signed.timestamp()))
        return self.session_class(data)


def init_app(app: Flask) -> None:
    app.session_interface = RememberingSessionInterface()
