"""Budgets for a cheap phone on a weak connection: page weight, nothing fetched from elsewhere,
first paint within 3 s on slow 3G."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from .support import LANGS, PAGES, goto, report

pytestmark = pytest.mark.browser

#: HTML plus CSS of one page, uncompressed.
MAX_PAGE_BYTES = 60 * 1024
#: What Chrome's DevTools call "Slow 3G": 400 ms latency, 400 kbit/s each way.
SLOW_3G = {
    "offline": False,
    "latency": 400,
    "downloadThroughput": 400 * 1024 / 8,
    "uploadThroughput": 400 * 1024 / 8,
}
MAX_FCP_MS = 3000
FCP = """() => new Promise((resolve) => {
  new PerformanceObserver((list) => {
    const entry = list.getEntriesByName('first-contentful-paint')[0];
    if (entry) resolve(entry.startTime);
  }).observe({type: 'paint', buffered: true});
})"""

WHO = sorted({who for _, who, _, _ in PAGES}, key=lambda w: w or "")


@pytest.mark.parametrize("who", WHO, ids=[(w or "visitor").split("@")[0] for w in WHO])
def test_page_weight_and_hosts(pages, live, ids, sessions, who):
    """Every page weighs at most 60 KB of HTML and CSS and asks nothing of another host."""
    page = pages.open("360", "vi", storage_state=sessions[who] if who else None)
    hosts: set[str] = set()
    page.on("request", lambda r: hosts.add(urlsplit(r.url).hostname or r.url.split(":")[0]))
    css_bytes: dict[str, int] = {}
    for name, owner, path, status in PAGES:
        if owner != who:
            continue
        for lang in LANGS:
            page.context.add_cookies([{"name": "lang", "value": lang, "url": live.url}])
            page.gopy["lang"] = lang
            response = goto(page, live, path.format(**ids), status=status)
            html = len(response.body())
            for href in page.eval_on_selector_all(
                "link[rel=stylesheet]", "els => els.map(e => e.href)"
            ):
                if href not in css_bytes:
                    css_bytes[href] = len(page.request.get(href).body())
            css = sum(css_bytes.values())
            report(
                "Page weight (HTML + CSS, uncompressed)",
                f"{name:24} {lang}  HTML {html / 1024:5.1f} KB + CSS {css / 1024:4.1f} KB = {(html + css) / 1024:5.1f} KB",
            )
            assert html + css <= MAX_PAGE_BYTES, (
                f"{name} ({lang}) weighs {(html + css) / 1024:.1f} KB"
            )
    assert hosts == {"127.0.0.1"}, f"requests left the site: {hosts}"


@pytest.mark.parametrize(
    ("name", "path"),
    [("list", "/"), ("consultation", "/consultations/{open}"), ("register", "/auth/register")],
)
def test_first_paint_on_slow_3g(pages, live, ids, name, path):
    """On slow 3G, with an empty cache, the page shows its first content within 3 s."""
    page = pages.open("360", "vi", route=False)
    client = page.context.new_cdp_session(page)
    client.send("Network.enable")
    client.send("Network.setCacheDisabled", {"cacheDisabled": True})
    client.send("Network.emulateNetworkConditions", SLOW_3G)
    page.goto(live.url + path.format(**ids), wait_until="load", timeout=60_000)
    fcp = page.evaluate(FCP)
    loaded = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
    report(
        "First contentful paint on slow 3G (400 ms, 400 kbit/s), 360 px",
        f"{name:14} FCP {fcp:6.0f} ms   load {loaded:6.0f} ms",
    )
    assert fcp <= MAX_FCP_MS, f"{name}: first contentful paint after {fcp:.0f} ms"
