"""Constants and helpers shared by the browser tests (the fixtures are in conftest.py)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.extensions import db

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
VIEWPORTS = {"360": {"width": 360, "height": 740}, "1280": {"width": 1280, "height": 800}}
LANGS = ("vi", "en")
#: Every test that walks a journey does it on a phone and a desktop, in both languages.
MATRIX = pytest.mark.parametrize(
    ("viewport", "lang"), [(v, lang) for v in VIEWPORTS for lang in LANGS]
)
PASSWORD = "Lúa-chín-vàng-2026"

RESIDENT = "nguyenvanan@example.com"
OFFICIAL = "canbo.camlo@example.com"
MODERATOR = "kiemduyet.camlo@example.com"
REVIEWER = "mttq.camlo@example.com"

#: (name, who is logged in, path; ``{open}``, ``{closed}``, ``{concluded}`` are demo consultations, status)
PAGES = [
    ("list", None, "/", 200),
    ("consultation", None, "/consultations/{open}", 200),
    ("consultation-resident", RESIDENT, "/consultations/{open}", 200),
    ("consultation-official", OFFICIAL, "/consultations/{open}", 200),
    ("notice", None, "/consultations/{open}/notice", 200),
    ("register", None, "/auth/register", 200),
    ("login", None, "/auth/login", 200),
    ("reset", None, "/auth/reset", 200),
    ("account", RESIDENT, "/me/account", 200),
    ("my-opinions", RESIDENT, "/me/opinions", 200),
    ("privacy", None, "/me/privacy", 200),
    ("new-consultation", OFFICIAL, "/consultations/new", 200),
    ("moderation-queue", MODERATOR, "/moderation/", 200),
    ("moderation-consultation", MODERATOR, "/moderation/consultations/{closed}", 200),
    ("record", None, "/consultations/{concluded}/record", 200),
    ("record-draft", MODERATOR, "/consultations/{closed}/record", 200),
    ("dashboard", REVIEWER, "/moderation/dashboard", 200),
    ("error-404", None, "/no-such-page", 404),
]

#: Figures gathered while the tests run, printed at the end of the session.
REPORT: dict[str, list[str]] = {}


def report(section: str, line: str) -> None:
    REPORT.setdefault(section, []).append(line)


@dataclass
class Live:
    """A running Góp ý with the demo data; ``url`` is its address."""

    app: object
    url: str
    outbox_dir: Path
    passwords: dict[str, str] = field(default_factory=dict)

    def mail_to(self, email: str) -> list[dict]:
        files = sorted(self.outbox_dir.glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
        messages = [json.loads(p.read_text(encoding="utf-8")) for p in files]
        return [m for m in messages if email in json.dumps(m.get("to"), ensure_ascii=False)]

    def link_in_mail(self, email: str, path_pattern: str, timeout: float = 5.0) -> str:
        """The first link to ``path_pattern`` in the mail sent to ``email``, waiting a little."""
        deadline = time.monotonic() + timeout
        while True:
            for message in reversed(self.mail_to(email)):
                found = re.search(
                    re.escape(self.url) + path_pattern + r"[^\s\"'<>]*", message["text"]
                )
                if found:
                    return found.group(0)
            if time.monotonic() > deadline:
                raise AssertionError(f"no mail to {email} with a link to {path_pattern}")
            time.sleep(0.1)

    def run(self, fn: Callable, *args, **kwargs):
        """Call ``fn`` inside a request context of the live app (services need one)."""
        with self.app.test_request_context():
            result = fn(*args, **kwargs)
            db.session.commit()
            return result

    def scalar(self, statement):
        with self.app.app_context():
            return db.session.scalar(statement)

    def consultation_id(self, title_part: str) -> int:
        from consultations.models import Consultation

        cid = self.scalar(
            sa.select(Consultation.id)
            .where(Consultation.title.contains(title_part))
            .order_by(Consultation.id)
        )
        assert cid, f"no consultation titled like {title_part!r}"
        return cid


# --- helpers used by the tests ----------------------------------------------------------------


def goto(page, live: Live, path: str, *, status: int = 200):
    response = page.goto(live.url + path)
    assert response is not None, path
    assert response.status == status, f"{path}: {response.status}"
    check_page(page)
    return response


def check_page(page) -> None:
    """What every page must do: be in the chosen language and, on a phone, not scroll sideways."""
    # A click returns once the navigation commits; measure only after the stylesheet is in.
    page.wait_for_load_state("load")
    lang = page.gopy["lang"]
    assert page.get_attribute("html", "lang") == lang
    if page.gopy["viewport"] == "360":
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"{page.url} is {width}px wide at 360px"


def submit(page, form_selector: str) -> None:
    """Press the submit button of the form and wait for the next page."""
    with page.expect_navigation():
        page.locator(form_selector).locator("button:not([type=button])").last.click()
    check_page(page)


def login(page, live: Live, email: str, password: str | None = None) -> None:
    goto(page, live, "/auth/login")
    page.fill("main input[name=email]", email)
    page.fill("main input[name=password]", password or live.passwords[email])
    submit(page, "main form[action*='/auth/login']")
    assert "/auth/login" not in page.url, "login failed"


def flash_text(page) -> str:
    return page.locator(".flashes").inner_text() if page.locator(".flashes").count() else ""
