"""The Vietnamese follows translations/GLOSSARY.md: the catalogue and the documents' fixed wording
use none of the variants it forbids, and a value reads the same on the page and in the documents.

Run it against another catalogue (an old one, to see it fail) with
``GOPY_GLOSSARY_PO=/tmp/old.po pytest tests/test_glossary.py``.
"""

from __future__ import annotations

import ast
import os
import re
import unicodedata
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
PO = Path(
    os.environ.get("GOPY_GLOSSARY_PO")
    or ROOT / "translations" / "vi" / "LC_MESSAGES" / "messages.po"
)
#: Where the documents keep their Vietnamese outside gettext (a legal form, never translated).
DOCUMENTS = [
    "consultations/documents/wording.py",
    "templates/records/record_pdf.html",
    "templates/consultations/_notice.html",
    "templates/consultations/notice_pdf.html",
]

W = r"(?<!\w)"  # no letter before (re's \w knows Vietnamese letters)
E = r"(?!\w)"  # no letter after
#: (what the glossary says instead, pattern of the variant it forbids), case-insensitive.
FORBIDDEN = [
    ("residents are ông/bà, staff pages neutral: never “bạn”", W + "bạn" + E),
    (
        "the record is the báo cáo tổng hợp; “biên bản” only in “biên bản kiểm phiếu”",
        W + r"biên bản(?! kiểm phiếu" + E + ")",
    ),
    ("reporting abuse is “phản ánh vi phạm”", W + "báo cáo vi phạm" + E),
    ("the moderator is the “cán bộ quản lý ý kiến”", W + "kiểm duyệt" + E),
    ("the reviewer is the Mặt trận Tổ quốc", W + "người phản biện" + E),
    ("modern tone marks: xóa", W + "xoá" + E),
    ("modern tone marks: khóa", W + "khoá" + E),
    ("modern tone marks: hủy", W + "huỷ" + E),
    ("modern tone marks: hòa", W + "hoà" + E),
    ("modern tone marks: thủy", W + "thuỷ" + E),
    # Any other open syllable with the old placement: "toà", "hoạ", "thoả", "tuỳ" (not "quý").
    (
        "modern tone marks: the mark on the first vowel of oa, oe, uy at the end of a syllable",
        r"\w*(?:o[àáảãạ]|o[èéẻẽẹ]|(?<!q)u[ỳýỷỹỵ])" + E,
    ),
    ("the content hash is the “mã xác thực nội dung (SHA-256)”", W + "mã băm" + E),
    ("the audit trail is the “nhật ký thao tác”", W + "nhật ký hoạt động" + E),
    ("a link is an “đường liên kết”", W + "đường dẫn" + E),
    ("a link is an “đường liên kết”, not a bare “liên kết”", r"(?<!đường )" + W + "liên kết" + E),
    (
        "e-mail is “thư điện tử”, “(e-mail)” only in parentheses",
        r"(?<!\()" + W + r"e-mail" + r"(?!\))",
    ),
    ("a date hint a resident understands, not NNNN-TT-NN", r"NNNN"),
    ("the commune level is “xã, phường, đặc khu”", W + r"xã, phường(?!, đặc khu)"),
    ("the commune level is “xã, phường, đặc khu”", W + r"xã/phường(?!/đặc khu)"),
]
#: The stance "agree" is "Tán thành" on the page and in the documents, never "Đồng ý".
STANCE_MSGIDS = {
    "Agree",
    "Disagree",
    "Suggestion",
    "Agree: %(n)s",
    "Disagree: %(n)s",
    "Suggestions: %(n)s",
}


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def catalogue_strings(path: Path = PO) -> list[tuple[str, str]]:
    """(msgid, msgstr) for every Vietnamese translation, plural forms one by one."""
    with open(path, "rb") as fh:
        catalog = read_po(fh, locale="vi")
    out = []
    for m in catalog:
        if not m.id:
            continue
        msgid = m.id[0] if isinstance(m.id, tuple) else m.id
        for s in m.string if isinstance(m.string, tuple) else (m.string,):
            if s:
                out.append((msgid, _nfc(s)))
    return out


def document_strings() -> list[tuple[str, str]]:
    """(file:line, text) of the documents' fixed Vietnamese: wording.py's string literals, the
    templates' text without their Jinja comments."""
    out = []
    for name in DOCUMENTS:
        source = (ROOT / name).read_text(encoding="utf-8")
        if name.endswith(".py"):
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    out.append((f"{name}:{node.lineno}", _nfc(node.value)))
        else:
            source = re.sub(
                r"\{#.*?#\}", lambda m: "\n" * m.group().count("\n"), source, flags=re.S
            )
            out.extend((f"{name}:{i}", _nfc(line)) for i, line in enumerate(source.splitlines(), 1))
    return out


def violations(strings: list[tuple[str, str]]) -> list[str]:
    found = []
    for where, text in strings:
        seen = set()  # a word reported once, by its first rule
        for rule, pattern in FORBIDDEN:
            for match in re.finditer(pattern, text, re.I):
                if match.end() not in seen:
                    seen.add(match.end())
                    found.append(f"{where!r}: “{match.group()}” in {text[:90]!r}: {rule}")
        if where in STANCE_MSGIDS and "đồng ý" in text.casefold():
            found.append(f"{where!r}: the stance is “Tán thành”, not “Đồng ý”: {text!r}")
    return found


def test_the_catalogue_uses_no_variant_the_glossary_forbids():
    found = violations(catalogue_strings())
    assert found == [], (
        f"{len(found)} variants against translations/GLOSSARY.md in {PO}:\n" + "\n".join(found)
    )


def test_the_documents_use_no_variant_the_glossary_forbids():
    strings = document_strings()
    assert len(strings) > 100  # the files were read
    found = violations(strings)
    found += [
        f"{w}: {t!r}: the stance is “Tán thành”" for w, t in strings if "đồng ý" in t.casefold()
    ]
    assert found == [], "\n".join(found)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("Cảm ơn bạn.", "bạn"),
        ("Công bố biên bản", "biên bản"),
        ("Báo cáo vi phạm", "báo cáo vi phạm"),
        ("Người kiểm duyệt", "kiểm duyệt"),
        ("Xoá tài khoản", "xoá"),
        ("Hoà giải", "hoà"),
        ("Toà án", "oa"),
        ("Mã băm nội dung", "mã băm"),
        ("Nhật ký hoạt động", "nhật ký hoạt động"),
        ("Gửi lại đường dẫn", "đường dẫn"),
        ("Gửi liên kết", "liên kết"),
        ("Địa chỉ e-mail", "e-mail"),
        ("NNNN-TT-NN", "NNNN"),
        ("cán bộ xã, phường xem được", "xã, phường"),
        ("xã/phường của mình", "xã/phường"),
    ],
)
def test_each_rule_catches_its_variant(text, rule):
    assert violations([("x", text)]), f"{text!r} should be refused ({rule})"


@pytest.mark.parametrize(
    "text",
    [
        "Ban công tác Mặt trận",  # "Ban", not "bạn"
        "Biên bản kiểm phiếu",
        "Hoàn thành; Hòa; hủy; xóa; khóa; thủy; quý; Ủy ban; thuộc; toán",
        "Phản ánh vi phạm; báo cáo tổng hợp; Đường liên kết; Địa chỉ thư điện tử (e-mail)",
        "xã, phường, đặc khu; Xã/phường/đặc khu",
    ],
)
def test_the_glossary_words_pass(text):
    assert violations([("x", text)]) == []


def test_a_value_reads_the_same_on_the_page_and_in_the_documents(app):
    """Stances, channels, statuses of opinions, outcomes, kinds and categories: the catalogue's
    Vietnamese for consultations/labels.py is the documents' wording.py, word for word."""
    from flask_babel import force_locale

    from consultations import labels
    from consultations.documents import wording

    pairs = [
        (labels.STANCES, wording.VI_STANCE),
        (labels.CHANNELS, wording.VI_CHANNEL),
        (labels.OPINION_STATUSES, wording.VI_STATUS),
        (labels.OUTCOMES, wording.VI_OUTCOME),
        (labels.KINDS, wording.VI_KIND),
        (labels.CATEGORIES, wording.VI_CATEGORY),
    ]
    with app.test_request_context("/"), force_locale("vi"):
        differ = [
            (key.value, str(text), documents[key.value])
            for table, documents in pairs
            for key, text in table.items()
            if str(text) != documents[key.value]
        ]
    assert differ == []


def test_the_glossarys_channels_and_stances_are_the_ones_used():
    from consultations.documents import wording

    assert list(wording.VI_STANCE.values()) == ["Tán thành", "Không tán thành", "Góp ý, đề xuất"]
    assert list(wording.VI_CHANNEL.values()) == [
        "Trực tuyến (Cổng Góp ý)",
        "Hội nghị / cuộc họp",
        "Hội nghị đối thoại",
        "Phiếu lấy ý kiến hộ gia đình",
        "Hộp thư góp ý / đường dây nóng",
        "Ban công tác Mặt trận",
        "Mạng xã hội (Zalo)",
    ]
    glossary = (ROOT / "translations" / "GLOSSARY.md").read_text(encoding="utf-8")
    assert "tests/test_glossary.py" in glossary
    for word in (
        "Báo cáo tổng hợp, tiếp thu, giải trình ý kiến",
        "phản ánh vi phạm",
        "cán bộ quản lý ý kiến",
        "nhật ký thao tác",
        "mã xác thực nội dung (SHA-256)",
        "đường liên kết",
        "xã, phường, đặc khu",
    ):
        assert word in glossary


def test_the_kind_field_is_the_loai_noi_dung_not_the_channel():
    strings = dict(catalogue_strings())
    assert strings["Kind of consultation"] == "Loại nội dung"
    assert strings["Kind"] == "Loại nội dung"
    assert strings["Channel"] == "Hình thức lấy ý kiến"


@pytest.mark.parametrize(
    ("lang", "when"), [("vi", "09:30 ngày 14/8/2026"), ("en", "09:30 on 14/8/2026")]
)
def test_dates_read_14_8_2026_and_times_are_vietnams(app, lang, when):
    """GLOSSARY "Dates": 14/8/2026 on every page (not Babel's "14 thg 8, 2026"), times in
    Asia/Ho_Chi_Minh (02:30 UTC is 09:30 in Vietnam), the closing day inclusive."""
    from datetime import UTC, date, datetime

    from flask import render_template_string

    instant = datetime(2026, 8, 14, 2, 30, tzinfo=UTC)
    closes_at = datetime(
        2026, 9, 17, 17, 0, tzinfo=UTC
    )  # 00:00 on 18/9 in Vietnam: the last day is 17/9
    page = "{{ t|localdate }}|{{ d|localdate }}|{{ t|localdatetime }}|{{ c|closingdate }}|{{ none|localdate }}"
    with app.test_request_context("/", headers={"Cookie": f"lang={lang}"}):
        text = render_template_string(page, t=instant, d=date(2026, 8, 4), c=closes_at, none=None)
    assert text == f"14/8/2026|4/8/2026|{when}|17/9/2026|"
    late = datetime(2026, 8, 14, 18, 5, tzinfo=UTC)  # already the 15th in Vietnam
    with app.test_request_context("/", headers={"Cookie": "lang=vi"}):
        assert render_template_string("{{ t|localdatetime }}", t=late) == "01:05 ngày 15/8/2026"
