"""Browser tests: a real Chromium driven by Playwright against a live server with the demo data.

One browser for the whole session, one live server (its own SQLite file, outbox and demo data)
per test module, one browser context per test. Every context records the hosts it asks for
(only 127.0.0.1 may be reached), the server errors and the JavaScript errors, and the test
fails if any turns up. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

from app import create_app
from core.extensions import db

from .support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    MODERATOR,
    OFFICIAL,
    REPORT,
    RESIDENT,
    REVIEWER,
    SCREENSHOTS,
    VIEWPORTS,
    Live,
    login,
)


def pytest_terminal_summary(terminalreporter):
    """Print the figures the browser tests gathered (axe counts, page weights, paint times)."""
    for section, lines in REPORT.items():
        terminalreporter.section(section)
        for line in lines:
            terminalreporter.write_line(line)


# --- the browser ----------------------------------------------------------------------------


@pytest.fixture(scope="package")
def browser():
    """One Chromium for the browser tests, closed when they are done (before the rest of the suite)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: browser tests may not be skipped on CI")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


# --- the live server --------------------------------------------------------------------------


def _demo_passwords(output: str) -> dict[str, str]:
    rows = re.findall(r"^\s*\w+\s+(\S+@\S+)\s+(\S+)\s", output, flags=re.MULTILINE)
    return dict(rows)


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("live")
    app = create_app(
        {
            "TESTING": True,
            "QUEUE_IMMEDIATE": True,  # jobs run where enqueued; no queue file in instance/
            "SECRET_KEY": "browser-" + secrets.token_hex(16),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'gopy.sqlite'}",
            "OUTBOX_DIR": str(folder / "outbox"),
            "UPLOAD_DIR": str(folder / "uploads"),
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        db.create_all()
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    # Links in mail and the QR code of the notice point at this server.
    app.config["BASE_URL"] = url
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield Live(
            app=app, url=url, outbox_dir=folder / "outbox", passwords=_demo_passwords(result.output)
        )
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="module")
def ids(live):
    return {
        "open": live.consultation_id("đường kiệt"),
        "closed": live.consultation_id("di dời chợ"),
        "concluded": live.consultation_id("Quỹ khuyến học"),
    }


@pytest.fixture(scope="module")
def sessions(browser, live):
    """A logged-in browser state per person, made once for the module."""
    states = {}
    for email in (RESIDENT, OFFICIAL, MODERATOR, REVIEWER):
        context = browser.new_context()
        page = context.new_page()
        page.gopy = {"viewport": "1280", "lang": "vi"}
        context.add_cookies([{"name": "lang", "value": "vi", "url": live.url}])
        login(page, live, email)
        states[email] = context.storage_state()
        context.close()
    return states


# --- pages ------------------------------------------------------------------------------------


@dataclass
class Watch:
    """What a browser context did that a test must not allow: leave the site, hit a server
    error, throw a JavaScript error."""

    foreign: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    js_errors: list[str] = field(default_factory=list)

    def response(self, r) -> None:
        if r.status >= 500:
            self.server_errors.append(f"{r.status} {r.url}")
        elif r.status >= 400 and r.request.resource_type != "document":
            self.server_errors.append(f"missing: {r.status} {r.url}")

    def check(self) -> None:
        assert not self.foreign, f"requests left the site: {self.foreign}"
        assert not self.server_errors, f"server errors: {self.server_errors}"
        assert not self.js_errors, f"JavaScript errors: {self.js_errors}"


class Pages:
    """Opens browser contexts for a test and names its screenshots
    ``<test>-<viewport>-<lang>-<step>.png``."""

    def __init__(self, browser, live: Live, test_name: str):
        self.browser, self.live, self.test_name = browser, live, test_name
        self.contexts: list = []
        self.watches: list[Watch] = []

    def open(
        self,
        viewport: str = "360",
        lang: str = "vi",
        *,
        storage_state=None,
        route: bool = True,
        **options,
    ):
        context = self.browser.new_context(
            viewport=VIEWPORTS[viewport],
            locale="vi-VN" if lang == "vi" else "en-GB",
            timezone_id="Asia/Ho_Chi_Minh",
            storage_state=storage_state,
            accept_downloads=True,
            **options,
        )
        context.set_default_timeout(10_000)
        context.add_cookies([{"name": "lang", "value": lang, "url": self.live.url}])
        watch = Watch()
        if route:

            def guard(route_):
                host = urlsplit(route_.request.url).hostname
                if host != "127.0.0.1":
                    watch.foreign.append(route_.request.url)
                    route_.abort()
                else:
                    route_.continue_()

            context.route("**/*", guard)
        context.on("response", lambda r: watch.response(r))
        page = context.new_page()
        page.on("pageerror", lambda exc: watch.js_errors.append(str(exc)))
        # Failed loads are judged by their responses (a 404 page is sometimes the point).
        page.on(
            "console",
            lambda m: (
                m.type == "error"
                and not m.text.startswith("Failed to load resource")
                and watch.js_errors.append(m.text)
            ),
        )

        # Confirmation dialogs (data-confirm) are answered "OK", as the user would.
        def accept(dialog):
            dialog.accept()

        page.on("dialog", accept)
        page.gopy = {"viewport": viewport, "lang": lang, "accept_dialogs": accept}
        self.contexts.append(context)
        self.watches.append(watch)
        return page

    def shot(self, page, step: str) -> Path:
        meta = page.gopy
        path = SCREENSHOTS / f"{self.test_name}-{meta['viewport']}-{meta['lang']}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        for watch in self.watches:
            watch.check()


@pytest.fixture
def pages(browser, live, request) -> Iterator[Pages]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = request.node.originalname.removeprefix("test_").replace("_", "-")
    p = Pages(browser, live, name)
    yield p
    p.close()
