"""HTTP caching: fingerprinted static files, validators on pages, and an optional short
cache of the pages anonymous visitors read.

- ``url_for('static', filename=...)`` gains ``?v=<content hash>``; a request carrying the
  current hash is answered with a one-year immutable lifetime, so a cheap phone downloads
  style.css once per release. Without (or with an old) ``v`` the file must be revalidated.
- Every HTML and JSON answer to a GET gets an ETag, so a conditional GET is answered 304
  without a body. Pages carry the visitor's CSRF token, which is signed afresh on every
  request: the tag is computed with the token masked and the session's raw secret mixed in,
  so it changes with the content or the session, never with the signing time.
- ``PAGE_CACHE_SECONDS`` (default 0: off) keeps the pages of ``PAGE_CACHE_ENDPOINTS`` that an
  anonymous visitor asks for, per URL and language, for that many seconds in each worker.
  Logged-in visitors, pending flash messages and anything but a 200 always go to the view.
  The cached copy holds a placeholder where the CSRF token was; each visitor gets their own.
- A request with no session cookie at all (a first visit, a crawler, a shared link opened on a
  phone) cannot be logged in, carry a flash message or need a token of its own, so its copy is
  served by a small WSGI layer in front of Flask, headers included (security headers, ETag, 304),
  without running any of Flask's request machinery: that is what lets one 2-core server answer a
  consultation page of 100,000 opinions at a large share of a bare "hello" app's rate.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, g, request, session
from werkzeug.http import parse_cookie
from werkzeug.security import safe_join

from core.web import csrf_token

#: Long enough for any release cycle; the URL changes when the file does.
STATIC_MAX_AGE = 365 * 24 * 3600
#: Public pages whose anonymous copy may be shared between visitors for a few seconds.
DEFAULT_PAGE_CACHE_ENDPOINTS = (
    "consultations.index",
    "consultations.show",
    "api.consultations",
    "api.consultation",
    "api.opinions",
)
_CONDITIONAL_TYPES = ("text/html", "application/json")
#: Set by the WSGI layer on a request it may store; Flask's hook answers with the header below.
_STORE_ENVIRON = "gopy.page_cache.store"
_STORE_HEADER = "X-Gopy-Page-Cache"
#: Stands in for the CSRF token in a shared copy of a page (not a secret).
_TOKEN_MARK = "\x1egopy-csrf-token\x1e"  # noqa: S105 - a placeholder, not a password


class _StaticVersions:
    """Content hashes of static files, recomputed when a file's mtime changes."""

    def __init__(self) -> None:
        self._known: dict[str, tuple[float, str]] = {}

    def get(self, folder: str | None, filename: str) -> str | None:
        path = safe_join(folder, filename) if folder else None
        if path is None:
            return None
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            return None
        known = self._known.get(path)
        if known is None or known[0] != mtime:
            digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
            known = (mtime, digest)
            self._known[path] = known
        return known[1]


class _PageCache:
    """A small LRU of values (tuples) per key, each kept ``ttl`` seconds."""

    def __init__(self, entries: int) -> None:
        self.entries = entries
        self._items: OrderedDict[tuple, tuple[float, tuple]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> tuple | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if item[0] < time.monotonic():
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return item[1]

    def put(self, key: tuple, ttl: float, *value: Any) -> None:
        with self._lock:
            self._items[key] = (time.monotonic() + ttl, value)
            self._items.move_to_end(key)
            while len(self._items) > self.entries:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class _AnonymousPageCache:
    """WSGI layer: copies of whole responses for requests that carry no session cookie.

    Flask decides what may be stored (``cache_headers`` below marks the response); this layer only
    replays it, with a 304 when the browser already holds the same ETag."""

    def __init__(self, wsgi_app, app: Flask, pages: _PageCache) -> None:
        self.wsgi_app, self.app, self.pages = wsgi_app, app, pages
        self.private_cookies = (
            app.config.get("SESSION_COOKIE_NAME", "session"),
            app.config.get("REMEMBER_COOKIE_NAME", "remember_token"),
        )

    def __call__(self, environ, start_response):
        ttl = float(self.app.config["PAGE_CACHE_SECONDS"])
        method = environ.get("REQUEST_METHOD")
        if not ttl or method not in ("GET", "HEAD"):
            return self.wsgi_app(environ, start_response)
        raw = environ.get("HTTP_COOKIE", "")
        cookies = parse_cookie(raw) if raw else {}
        if any(name in cookies for name in self.private_cookies):
            return self.wsgi_app(environ, start_response)
        key = (
            "wsgi",
            environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", ""),
            cookies.get("lang", ""),
        )
        hit = self.pages.get(key)
        if hit is not None:
            status, headers, body = hit
            etag = next((v for k, v in headers if k == "ETag"), None)
            if etag and environ.get("HTTP_IF_NONE_MATCH") == etag:
                start_response(
                    "304 Not Modified", [(k, v) for k, v in headers if k != "Content-Length"]
                )
                return []
            start_response(status, list(headers))
            return [] if method == "HEAD" else [body]
        if method == "HEAD":
            return self.wsgi_app(environ, start_response)
        environ[_STORE_ENVIRON] = True
        captured: list = []

        def capture(status, headers, exc_info=None):
            captured[:] = [status, headers]
            kept = [(k, v) for k, v in headers if k != _STORE_HEADER]
            return (
                start_response(status, kept, exc_info) if exc_info else start_response(status, kept)
            )

        result = self.wsgi_app(environ, capture)
        status, headers = captured if captured else ("", [])
        names = {k for k, _ in headers}
        # Only a whole 200 that Flask marked, and never one that sets a cookie for this visitor.
        if _STORE_HEADER not in names or "Set-Cookie" in names or not status.startswith("200"):
            return result
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        kept = [(k, v) for k, v in headers if k != _STORE_HEADER]
        self.pages.put(key, ttl, status, kept, body)
        return [body]


_CSS_STRING = re.compile(r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')""")
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_CSS_SPACE = re.compile(r"\s+")
# Spaces around these never matter in CSS. Not ":" before it (".a :focus" is not ".a:focus")
# nor "+"/"-" (calc() needs them); after a colon a space is never needed.
_CSS_PUNCT = re.compile(r"\s*([{};,>])\s*")
_CSS_AFTER_COLON = re.compile(r":\s+")


def minify_css(css: str) -> str:
    """``css`` without comments and the whitespace that carries no meaning (strings untouched):
    the stylesheets keep their comments in the source and cost a fifth less on a phone."""
    parts = _CSS_STRING.split(_CSS_COMMENT.sub("", css))
    for i in range(0, len(parts), 2):  # the even parts are outside strings
        code = _CSS_PUNCT.sub(r"\1", _CSS_SPACE.sub(" ", parts[i]))
        parts[i] = _CSS_AFTER_COLON.sub(":", code).replace(";}", "}")
    return "".join(parts).strip()


def _serve_css_minified(app: Flask) -> None:
    """Serve static/*.css minified (once per change of the file), everything else as it is."""
    original = app.view_functions["static"]
    minified: dict[str, tuple[float, bytes]] = {}

    def static(filename: str):
        if not filename.endswith(".css") or app.static_folder is None:
            return original(filename=filename)
        path = safe_join(app.static_folder, filename)
        if path is None or not os.path.isfile(path):
            return original(filename=filename)
        mtime = os.path.getmtime(path)
        cached = minified.get(path)
        if cached is None or cached[0] != mtime:
            with open(path, encoding="utf-8") as fh:
                cached = (mtime, minify_css(fh.read()).encode())
            minified[path] = cached
        response = Response(cached[1], mimetype="text/css")
        response.last_modified = mtime
        response.set_etag(hashlib.sha256(cached[1]).hexdigest()[:32])
        return response.make_conditional(request)

    app.view_functions["static"] = static


def init_app(app: Flask) -> None:
    """Fingerprint static URLs, add validators to pages, and serve the anonymous page cache."""
    app.config.setdefault(
        "PAGE_CACHE_SECONDS", float(os.environ.get("PAGE_CACHE_SECONDS", "0") or 0)
    )
    app.config.setdefault("PAGE_CACHE_ENTRIES", 256)
    app.config.setdefault("PAGE_CACHE_ENDPOINTS", DEFAULT_PAGE_CACHE_ENDPOINTS)
    versions = _StaticVersions()
    pages = _PageCache(int(app.config["PAGE_CACHE_ENTRIES"]))
    app.extensions["gopy_page_cache"] = pages
    app.wsgi_app = _AnonymousPageCache(app.wsgi_app, app, pages)  # type: ignore[method-assign]

    _serve_css_minified(app)

    @app.url_defaults
    def fingerprint_static(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and "filename" in values and "v" not in values:
            version = versions.get(app.static_folder, values["filename"])
            if version:
                values["v"] = version

    @app.before_request
    def serve_cached_page():
        key = _page_key()
        if key is None:
            return None
        hit = pages.get(key)
        if hit is None:
            g.gopy_page_key = key
            return None
        mimetype, body, g.gopy_page_digest = hit
        if _TOKEN_MARK.encode() in body:
            body = body.replace(_TOKEN_MARK.encode(), csrf_token().encode())
        return Response(body, status=200, mimetype=mimetype)

    @app.after_request
    def cache_headers(response: Response) -> Response:
        if request.endpoint == "static":
            _static_headers(
                response,
                versions.get(app.static_folder, (request.view_args or {}).get("filename", "")),
            )
            return response
        if request.method not in ("GET", "HEAD") or response.status_code != 200:
            return response
        if (
            response.direct_passthrough
            or response.is_streamed
            or response.mimetype not in _CONDITIONAL_TYPES
        ):
            return response
        if "attachment" in response.headers.get("Content-Disposition", ""):
            return response
        token = g.get(_csrf_field())
        digest = g.get("gopy_page_digest")
        shareable = digest is not None  # served from the page cache
        if digest is None:
            body = response.get_data()
            # The signed token differs on every request: it is left out of the digest.
            masked = body.replace(token.encode(), _TOKEN_MARK.encode()) if token else body
            digest = hashlib.blake2b(masked, digest_size=16).hexdigest()
            key = g.get("gopy_page_key")
            # A view that sets a cookie or forbids storing is answering this visitor only.
            private = "Set-Cookie" in response.headers or "no-store" in response.headers.get(
                "Cache-Control", ""
            )
            if key is not None and not private:
                ttl = float(current_app.config["PAGE_CACHE_SECONDS"])
                pages.put(key, ttl, response.mimetype, masked, digest)
                shareable = True
        # A copy without a token of anyone's may also be replayed by the WSGI layer.
        if shareable and not token and request.environ.get(_STORE_ENVIRON):
            response.headers[_STORE_HEADER] = "store"
        _add_etag(response, digest, token)
        return response


def _csrf_field() -> str:
    return current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")


def _page_key() -> tuple | None:
    """The cache key of this request, or None when it must go to the view."""
    config = current_app.config
    if not config["PAGE_CACHE_SECONDS"] or request.method != "GET":
        return None
    if request.endpoint not in config["PAGE_CACHE_ENDPOINTS"]:
        return None
    if "_user_id" in session or "_flashes" in session:
        return None
    if request.cookies.get(config.get("REMEMBER_COOKIE_NAME", "remember_token")):
        return None
    return (request.full_path, request.cookies.get("lang", ""))


def _static_headers(response: Response, version: str | None) -> None:
    cc = response.cache_control
    if version and request.args.get("v") == version and response.status_code in (200, 304):
        cc.no_cache = None
        cc.public = True
        cc.max_age = STATIC_MAX_AGE
        cc.immutable = True
    else:
        # Unversioned or stale URL: use it, but ask again next time (the ETag makes that cheap).
        cc.max_age = None
        cc.immutable = False
        cc.no_cache = True


def _add_etag(response: Response, digest: str, token: str | None) -> None:
    """``digest`` is of the body with the CSRF token masked."""
    if "ETag" not in response.headers:
        if token:
            # Same content, same session: the same tag (the token's session secret is mixed in).
            secret = str(session.get(_csrf_field(), "")).encode()
            tag = hashlib.blake2b(digest.encode() + secret, digest_size=16).hexdigest()
            response.set_etag(tag, weak=True)
        else:
            response.set_etag(digest)
    if "Cache-Control" not in response.headers:
        # Always revalidate; the ETag makes an unchanged page a body-less 304.
        response.headers["Cache-Control"] = (
            "public, no-cache" if response.mimetype == "application/json" else "private, no-cache"
        )
    if response.mimetype == "text/html":
        response.vary.add("Cookie")
    response.make_conditional(request)
