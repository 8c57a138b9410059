"""What residents see (issue 12) in a real browser at 360 px: the error summary is first in
<main> and has the focus (with and without JavaScript), its links reach the fields; an article's
"Góp ý về điều này" opens the form with the article chosen; withdrawing asks on a page of its own;
/track; the header names the commune. axe-core on each of these pages."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from .support import AXE, LANGS, RESIDENT, check_page, flash_text, goto, submit

pytestmark = pytest.mark.browser

AXE_RUN = """async () => {
  const result = await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'], resultTypes: ['violations']});
  return result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => ({id: v.id, where: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
}"""

FOCUSED_SUMMARY = (
    "() => document.activeElement && document.activeElement.matches('[data-error-summary]')"
)
FIRST_IN_MAIN = (
    "() => document.querySelector('main').firstElementChild.matches('.error-summary[role=alert]')"
)


def _axe(page, name: str) -> None:
    page.add_script_tag(path=str(AXE))
    grave = page.evaluate(AXE_RUN)
    assert not grave, f"{name}: {grave}"


@pytest.mark.parametrize("lang", LANGS)
def test_error_summary_has_the_focus_and_links_to_the_fields(pages, live, ids, sessions, lang):
    page = pages.open("360", lang, storage_state=sessions[RESIDENT], bypass_csp=True)
    cid = ids["open"]
    goto(page, live, f"/consultations/{cid}")
    form = f"form[action='/consultations/{cid}/opinions']"
    # As if the browser let an empty opinion through (an old phone ignores `required`).
    page.eval_on_selector(form, "f => { f.noValidate = true; }")
    submit(page, form)
    assert page.evaluate(FIRST_IN_MAIN)
    assert page.evaluate(FOCUSED_SUMMARY)
    top = page.evaluate(
        "() => document.querySelector('.error-summary').getBoundingClientRect().top"
    )
    assert 0 <= top < 740, f"the summary is out of sight: {top}px"
    assert page.locator(".error-summary h2").inner_text() == (
        "Có lỗi cần sửa" if lang == "vi" else "There is a problem"
    )
    pages.shot(page, "01-error-summary")
    page.locator(".error-summary a[href='#body']").click()
    assert page.evaluate("() => document.activeElement.id") == "body"
    page.locator(".error-summary a[href='#stance-0']").click()
    assert page.evaluate("() => document.activeElement.id") == "stance-0"
    _axe(page, "error summary")


def test_error_summary_without_javascript(pages, live):
    page = pages.open("360", "vi", java_script_enabled=False)
    goto(page, live, "/track?number=12345", status=400)
    assert page.locator("main > :first-child").get_attribute("class") == "error-summary"
    assert page.locator("main > :first-child").get_attribute("autofocus") is not None
    assert page.locator(".error-summary a[href='#number']").count() == 1
    assert page.input_value("#number") == "12345"
    pages.shot(page, "01-track-malformed-nojs")


@pytest.mark.parametrize("lang", LANGS)
def test_comment_on_an_article_then_withdraw_after_confirming(pages, live, ids, sessions, lang):
    page = pages.open("360", lang, storage_state=sessions[RESIDENT], bypass_csp=True)
    cid = ids["open"]
    goto(page, live, f"/consultations/{cid}")
    assert page.locator("nav.toc li").count() >= 2
    header = page.locator("header .issuer").inner_text()
    assert "Ủy ban nhân dân" in header
    assert page.locator("nav.breadcrumbs [aria-current=page]").count() == 1
    pages.shot(page, "01-consultation-toc")
    _axe(page, "consultation page")

    link = page.locator("article.article a[href*='section_id=']").nth(1)
    href = link.get_attribute("href")
    section_id = href.split("section_id=")[1].split("#")[0]
    link.click()
    check_page(page)
    form = f"form[action='/consultations/{cid}/opinions']"
    assert page.input_value(f"{form} select[name=section_id]") == section_id
    page.check(f"{form} input[name=stance][value=suggest]")
    page.fill(f"{form} textarea[name=body]", f"Ý kiến về một điều ({lang}).")
    submit(page, form)
    assert "YK-" in flash_text(page)
    opinion_id = int(page.url.rsplit("#opinion-", 1)[1])

    page.locator(f"#opinion-{opinion_id} a[href='/opinions/{opinion_id}/withdraw']").click()
    check_page(page)
    assert page.url.endswith(f"/opinions/{opinion_id}/withdraw")
    assert f"Ý kiến về một điều ({lang})." in page.locator("main").inner_text()
    pages.shot(page, "02-withdraw-confirm")
    _axe(page, "withdraw confirmation")
    submit(page, f"form[action='/opinions/{opinion_id}/withdraw']")
    assert f"#opinion-{opinion_id}" in page.url
    assert page.locator(f"#opinion-{opinion_id} .opinion-hidden").count() == 1

    # Its tracking page says so, without logging in.
    from consultations.models import Opinion

    number = live.scalar(sa.select(Opinion.tracking_number).where(Opinion.id == opinion_id))
    anon = pages.open("360", lang, bypass_csp=True)
    goto(anon, live, f"/track?number={number}")
    assert number in anon.locator("main h2").first.inner_text()
    pages.shot(anon, "03-track")
    _axe(anon, "track")


@pytest.mark.parametrize("lang", LANGS)
def test_report_form_shows_the_opinion(pages, live, ids, sessions, lang):
    from consultations.models import Opinion, OpinionStatus

    op = live.scalar(
        sa.select(Opinion.id)
        .where(
            Opinion.consultation_id == ids["open"],
            Opinion.status == OpinionStatus.published,
            Opinion.author_id.is_(None),
        )
        .order_by(Opinion.id)
    )
    assert op, "the demo has an offline opinion to report"
    body = live.scalar(sa.select(Opinion.body).where(Opinion.id == op))
    page = pages.open("360", lang, storage_state=sessions[RESIDENT], bypass_csp=True)
    goto(page, live, f"/opinions/{op}/flag")
    assert body.split("\n")[0][:40] in page.locator("main .card .body").inner_text()
    pages.shot(page, "01-flag")
    _axe(page, "report form")
