"""WCAG 2.1 AA in a real browser: axe-core on every page in both languages, the structure axe
does not judge (one h1, heading order, landmarks), tap targets and width on a 360 px phone,
and the resident's way from logging in to giving an opinion with the keyboard alone."""

from __future__ import annotations

import pytest

from .support import AXE, LANGS, PAGES, check_page, flash_text, goto, report

pytestmark = pytest.mark.browser

AXE_RUN = """async () => {
  const result = await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'], resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length,
                                       where: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
}"""

STRUCTURE = """() => {
  const levels = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')]
    .filter(h => h.getClientRects().length || h.classList.contains('sr-only'))
    .map(h => Number(h.tagName[1]));
  const skips = levels.filter((level, i) => i > 0 && level > levels[i - 1] + 1);
  const q = s => document.querySelectorAll(s).length;
  return {h1: q('h1'), first: levels[0], skips: skips.length, banner: q('body > header'),
          main: q('main'), nav: q('nav'), footer: q('body > footer'), lang: document.documentElement.lang};
}"""

#: Controls a finger must be able to hit: 44 px high at least (links inside sentences excepted).
SMALL_TARGETS = """() => [...document.querySelectorAll(
    'button, .button, input:not([type=hidden]):not([type=radio]):not([type=checkbox]), select, ' +
    'textarea, summary, .nav a, .pagination a, label.check, .radio-row label, .actions a, .meta a, .counts a')]
  .filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
  .map(e => [e.outerHTML.slice(0, 80), Math.round(e.getBoundingClientRect().height)])
  .filter(([, h]) => h < 44)"""


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("name", "who", "path", "status"), PAGES, ids=[p[0] for p in PAGES])
def test_page_is_accessible(pages, live, ids, sessions, name, who, path, status, lang):
    page = pages.open("360", lang, storage_state=sessions[who] if who else None, bypass_csp=True)
    goto(page, live, path.format(**ids), status=status)

    structure = page.evaluate(STRUCTURE)
    assert structure["lang"] == lang
    assert structure["h1"] == 1, f"{name}: {structure['h1']} h1"
    assert structure["first"] == 1, f"{name}: the first heading is not the h1"
    assert structure["skips"] == 0, f"{name}: a heading level is skipped"
    assert structure["banner"] == structure["main"] == structure["footer"] == 1
    assert structure["nav"] >= 1

    small = page.evaluate(SMALL_TARGETS)
    assert not small, f"{name}: targets under 44 px: {small}"

    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(AXE_RUN)
    by_impact = {
        k: sum(v["nodes"] for v in violations if v["impact"] == k)
        for k in ("critical", "serious", "moderate", "minor")
    }
    rules = ", ".join(sorted({v["id"] for v in violations})) or "-"
    report(
        "axe-core (WCAG 2.1 A/AA) at 360 px",
        f"{name:24} {lang}  critical {by_impact['critical']}  serious {by_impact['serious']}  moderate {by_impact['moderate']}  minor {by_impact['minor']}  rules: {rules}",
    )
    grave = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not grave, f"{name} ({lang}): {grave}"


def _tab_to(page, selector: str, limit: int = 120) -> None:
    """Press Tab until the element matching ``selector`` has the focus, checking on the way
    that every focused element shows where the focus is."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        state = page.evaluate(
            """(sel) => {
                const e = document.activeElement;
                const s = getComputedStyle(e);
                return {hit: e.matches(sel), visible: s.outlineStyle !== 'none' && s.outlineWidth !== '0px' || s.boxShadow !== 'none',
                        tag: e.outerHTML.slice(0, 80)};
            }""",
            selector,
        )
        assert state["visible"], f"no visible focus on {state['tag']}"
        if state["hit"]:
            return
    raise AssertionError(f"{selector} never got the focus")


@pytest.mark.parametrize("lang", LANGS)
def test_resident_by_keyboard_alone(pages, live, ids, lang):
    """Log in and give an opinion with Tab, Enter, Space and the arrow keys only."""
    page = pages.open("1280", lang)
    goto(page, live, "/")
    _tab_to(page, "a.skip")
    _tab_to(page, "header a[href='/auth/login']")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    check_page(page)
    _tab_to(page, "input[name=email]")
    page.keyboard.type("levancuong@example.com")
    page.keyboard.press("Tab")
    page.keyboard.type(live.passwords["levancuong@example.com"])
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/auth/login" not in page.url

    goto(page, live, "/")
    _tab_to(page, f"main a[href='/consultations/{ids['open']}']")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    _tab_to(page, "select[name=section_id]")
    page.keyboard.press("ArrowDown")  # the first article
    _tab_to(page, "input[name=stance]")
    page.keyboard.press("Space")
    page.keyboard.press("ArrowRight")  # radios move with the arrows: "disagree"
    _tab_to(page, "textarea[name=body]")
    page.keyboard.type(f"Gõ bằng bàn phím ({lang}): cần thêm đèn chiếu sáng.")
    _tab_to(page, f"form[action='/consultations/{ids['open']}/opinions'] button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    check_page(page)
    assert "YK-" in flash_text(page)
    mine = page.locator(page.url[page.url.index("#") :])
    assert "Gõ bằng bàn phím" in mine.inner_text()
    assert mine.locator(".stance-disagree").count() >= 1
