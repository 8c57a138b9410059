"""The catalogues are complete and current: no missing, fuzzy or stale Vietnamese entry."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]")


def _catalog(lang: str):
    with open(ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po", "rb") as fh:
        return read_po(fh, locale=lang)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            # Babel skips folders starting with "_" by default, which would miss templates/_macros.
            "--ignore-dirs=.* node_modules __pycache__ instance test-artifacts bench",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "--no-location",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with open(pot, "rb") as fh:
        return {m.id for m in read_po(fh) if m.id}


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_entry_is_translated_and_none_is_fuzzy(lang):
    catalog = _catalog(lang)
    missing = [
        m.id
        for m in catalog
        if m.id and (not m.string or (isinstance(m.string, tuple) and not all(m.string)))
    ]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert missing == [], f"{lang}: {len(missing)} untranslated, e.g. {missing[:5]}"
    assert fuzzy == [], f"{lang}: {len(fuzzy)} fuzzy, e.g. {fuzzy[:5]}"


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_catalogue_holds_every_string_of_the_code(lang, extracted):
    ids = {m.id for m in _catalog(lang) if m.id}
    stale = sorted(str(x) for x in extracted - ids)
    assert stale == [], f"{lang}: run `make translations`; missing {stale[:5]}"


def test_vietnamese_keeps_every_placeholder():
    for m in _catalog("vi"):
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for s in strings:
            assert set(PLACEHOLDER.findall(s)) == wanted, f"placeholders differ in {m.id!r}"


def test_vietnamese_is_real_vietnamese():
    catalog = _catalog("vi")
    diacritics = sum(
        1
        for m in catalog
        if m.id
        and re.search("[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", str(m.string), re.I)
    )
    total = sum(1 for m in catalog if m.id)
    assert diacritics / total > 0.8


def test_the_language_follows_force_locale_and_refresh_within_one_request(app):
    """The translations kept for a request (extensions._Domain) change with the language:
    an e-mail in the recipient's language in the middle of an English page, and a language
    chosen during the request."""
    from flask import render_template_string
    from flask_babel import force_locale, gettext, refresh

    page = "{{ _('Opinions') }}|{{ ngettext('%(num)d opinion', '%(num)d opinions', 2) }}"
    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        assert gettext("Opinions") == "Opinions"
        assert render_template_string(page) == "Opinions|2 opinions"
        with force_locale("vi"):
            assert gettext("Opinions") == "Ý kiến"
            assert render_template_string(page) == "Ý kiến|2 ý kiến"
        assert gettext("Opinions") == "Opinions"
        assert render_template_string(page) == "Opinions|2 opinions"
    with app.test_request_context("/", headers={"Cookie": "lang=en"}) as ctx:
        assert gettext("Opinions") == "Opinions"
        ctx.request.cookies = {"lang": "vi"}
        refresh()
        assert gettext("Opinions") == "Ý kiến"
