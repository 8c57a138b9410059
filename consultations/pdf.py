"""HTML to PDF with WeasyPrint, in the typeface the project ships.

Every PDF the site makes (the record, the exports, the notice) is set in Liberation Serif 2.1.5
from ``static/fonts/``: metric-compatible with Times New Roman (Decree 30/2020/NĐ-CP) and with
every Vietnamese letter, so a document is the same on every server whatever fonts it has
installed. Debian's default Liberation Serif 1.07 lacks most of them (ạ ể ộ ủ ữ…), and letting
fontconfig fill the gaps draws a word from two fonts, letter by letter.
"""

from __future__ import annotations

from pathlib import Path

FONT_DIR = Path(__file__).resolve().parent.parent / "static" / "fonts"
#: The family name documents use; nothing installed on a server can answer to it.
FAMILY = "Gopy Serif"
FACES = {
    ("normal", "normal"): "LiberationSerif-Regular.ttf",
    ("bold", "normal"): "LiberationSerif-Bold.ttf",
    ("normal", "italic"): "LiberationSerif-Italic.ttf",
    ("bold", "italic"): "LiberationSerif-BoldItalic.ttf",
}


def font_face_css() -> str:
    """The @font-face rules of the shipped typeface, as file URLs WeasyPrint may read."""
    rules = []
    for (weight, style), name in FACES.items():
        url = (FONT_DIR / name).as_uri()
        rules.append(
            f'@font-face {{ font-family: "{FAMILY}"; font-weight: {weight}; font-style: {style}; '
            f'src: url("{url}") format("truetype"); }}'
        )
    return "\n".join(rules)


def render_pdf(html: str) -> bytes:
    """``html`` as PDF bytes; only data: URLs and the shipped fonts are ever read."""
    from weasyprint import CSS, HTML  # lazy: WeasyPrint weighs tens of MB, loaded by the first PDF
    from weasyprint.text.fonts import FontConfiguration  # lazy: as above
    from weasyprint.urls import URLFetcher  # lazy: as above

    allowed = {(FONT_DIR / name).as_uri() for name in FACES.values()}

    class LocalOnly(URLFetcher):
        """Never fetch anything else: no network, no other file of the server."""

        def fetch(self, url, headers=None):
            if not (url.startswith("data:") or url in allowed):
                raise ValueError(f"resource not fetched: {url}")
            return super().fetch(url, headers)

    fonts = FontConfiguration()
    fetcher = LocalOnly()
    faces = CSS(string=font_face_css(), font_config=fonts, url_fetcher=fetcher)
    document = HTML(string=html, base_url=None, url_fetcher=fetcher)
    return document.write_pdf(stylesheets=[faces], font_config=fonts)
