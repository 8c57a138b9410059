"""Choosing one of 3,321 communes on a phone: type "cam lo", choose Xã Cam Lộ, register; with
JavaScript (the combobox of static/app.js) and without (the "Find" button of the form)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from auth.models import User
from localities import search

from .support import AXE, PASSWORD, check_page, goto, submit
from .test_browser_accessibility import AXE_RUN

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", autouse=True)
def country(live):
    """The whole country on top of the demo (the demo holds Xã Cam Lộ and its villages)."""
    result = live.app.test_cli_runner().invoke(args=["localities", "import", "--official"])
    assert result.exit_code == 0, result.output
    search.clear()


def _locality_of(live, email: str) -> str | None:
    from localities.models import Locality

    return live.scalar(
        sa.select(Locality.code)
        .join(User, User.locality_id == Locality.id)
        .where(User.email == email)
    )


def _fill_the_rest(page, email: str) -> None:
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=full_name]", "Hoàng Văn Bảy")
    page.check("input[name=consent]")


@pytest.mark.parametrize(("viewport", "lang"), [("360", "vi"), ("1280", "en")])
def test_type_cam_lo_choose_and_register_with_javascript(pages, live, viewport, lang):
    page = pages.open(viewport, lang, bypass_csp=True)
    email = f"picker-js-{viewport}-{lang}@example.vn"
    goto(page, live, "/auth/register")
    _fill_the_rest(page, email)
    box = page.locator("input[name=locality_q]")
    assert box.get_attribute("role") == "combobox"
    box.click()
    box.press_sequentially("cam lo", delay=40)
    option = page.locator("[role=listbox] [role=option]").first
    option.wait_for()
    assert option.inner_text() == "Xã Cam Lộ, Tỉnh Quảng Trị"
    assert box.get_attribute("aria-expanded") == "true"
    check_page(page)  # the open list fits a 360 px screen
    pages.shot(page, "01-list")

    # Accessible while the list is open.
    page.add_script_tag(path=str(AXE))
    serious = [v for v in page.evaluate(AXE_RUN) if v["impact"] in ("critical", "serious")]
    assert not serious, serious

    # The keyboard chooses: down to the first match, Enter (which does not send the form).
    box.press("ArrowDown")
    assert box.get_attribute("aria-activedescendant")
    box.press("Enter")
    assert page.url.endswith("/auth/register")
    assert box.get_attribute("aria-expanded") == "false"
    assert box.input_value() == "Xã Cam Lộ, Tỉnh Quảng Trị"
    chosen = page.locator("input[type=radio][name=locality]:checked")
    assert chosen.get_attribute("value") == "19597"
    # (A full-page screenshot resizes the window, and Chromium then scrolls a focused text field
    # back into view, as for a phone's keyboard: the next click would land elsewhere.)
    box.blur()
    pages.shot(page, "02-chosen")
    serious = [v for v in page.evaluate(AXE_RUN) if v["impact"] in ("critical", "serious")]
    assert not serious, serious
    submit(page, "main form[action^='/auth/register']")
    assert page.url.endswith("/auth/registered"), page.url
    assert _locality_of(live, email) == "19597"


def test_type_cam_lo_find_choose_and_register_without_javascript(pages, live):
    page = pages.open("360", "vi", java_script_enabled=False)
    email = "picker-nojs@example.vn"
    goto(page, live, "/auth/register")
    _fill_the_rest(page, email)
    page.fill("input[name=locality_q]", "cam lo")
    with page.expect_navigation():
        page.click("button[name=locality_search]")
    check_page(page)
    pages.shot(page, "01-matches")
    # Everything typed is still there.
    assert page.input_value("input[name=email]") == email
    assert page.input_value("input[name=full_name]") == "Hoàng Văn Bảy"
    assert page.input_value("input[name=password]") == PASSWORD
    assert page.is_checked("input[name=consent]")
    first = page.locator("input[type=radio][name=locality]").first
    assert first.get_attribute("value") == "19597"
    # A village of Xã Cam Lộ, by its label.
    page.get_by_label("Thôn Hoàn Cát, Xã Cam Lộ, Tỉnh Quảng Trị").check()
    submit(page, "main form[action^='/auth/register']")
    assert page.url.endswith("/auth/registered"), page.url
    assert _locality_of(live, email) == "19597-02"
