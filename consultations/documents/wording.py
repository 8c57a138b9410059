"""The fixed Vietnamese wording of the documents (Decree 30/2020/NĐ-CP).

The record, the staff's DOCX/PDF exports and their headings are a legal form written in
Vietnamese whatever the reader's language, so the words are here as they are and deliberately
not passed through gettext. Stances, channels, statuses, outcomes, kinds and categories use the
words of translations/GLOSSARY.md, exactly as the site's catalogue gives them for
consultations/labels.py (tests/test_glossary.py compares the two).
"""

from __future__ import annotations

import re
from datetime import date

VI_STANCE = {"agree": "Tán thành", "disagree": "Không tán thành", "suggest": "Góp ý, đề xuất"}
VI_CHANNEL = {
    "online": "Trực tuyến (Cổng Góp ý)",
    "meeting": "Hội nghị / cuộc họp",
    "dialogue": "Hội nghị đối thoại",
    "paper": "Phiếu lấy ý kiến hộ gia đình",
    "hotline": "Hộp thư góp ý / đường dây nóng",
    "front": "Ban công tác Mặt trận",
    "social": "Mạng xã hội (Zalo)",
}
VI_STATUS = {"published": "Đã công bố", "hidden": "Đã ẩn", "withdrawn": "Đã rút lại"}
VI_OUTCOME = {
    "accepted": "Tiếp thu",
    "partly_accepted": "Tiếp thu một phần",
    "not_accepted": "Không tiếp thu, giải trình",
    "noted": "Ghi nhận",
}
#: An explanation that already opens with one of these says the outcome itself.
OUTCOME_OPENINGS = {
    "accepted": ("tiếp thu",),
    "partly_accepted": ("tiếp thu một phần",),
    "not_accepted": ("không tiếp thu", "giải trình"),
    "noted": ("ghi nhận",),
}
VI_KIND = {
    "inform": "Công khai để Nhân dân biết",
    "comment": "Nhân dân tham gia ý kiến",
    "decide": "Nhân dân bàn và quyết định",
}
VI_CATEGORY = {
    "land": "Đất đai",
    "construction": "Xây dựng",
    "budget": "Ngân sách",
    "tax": "Thuế, phí",
    "environment": "Môi trường",
    "transport": "Giao thông",
    "education": "Giáo dục",
    "health": "Y tế",
    "social": "Xã hội",
    "other": "Khác",
}
PLACE_PREFIXES = (
    "Phường ",
    "Xã ",
    "Thị trấn ",
    "Đặc khu ",
    "Thành phố ",
    "Tỉnh ",
    "Thôn ",
    "Tổ dân phố ",
)
#: "Lưu: VT, VP": the office of the People's Committee drafts the record.
DRAFTING_UNIT = "VP"
#: Villages named one by one in "Nơi nhận" up to this many; beyond, "Các thôn, tổ dân phố".
VILLAGES_NAMED = 6


def vn_date(d: date) -> str:
    """ "ngày 05 tháng 02 năm 2026": Decree 30 pads days below 10 and the months 1 and 2."""
    month = f"{d.month:02d}" if d.month < 3 else str(d.month)
    return f"ngày {d.day:02d} tháng {month} năm {d.year}"


def short_date(d: date) -> str:
    """ "14/8/2026": a date inside the text, as on the pages and the notice (GLOSSARY)."""
    return f"{d.day}/{d.month}/{d.year}"


def place_name(name: str) -> str:
    """The place in the date line: the unit's name without "Phường", "Xã"…"""
    for prefix in PLACE_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def in_sentence(name: str) -> str:
    """A unit's name inside a sentence: "Xã Cam Lộ" → "xã Cam Lộ" (GLOSSARY: lower case)."""
    for prefix in PLACE_PREFIXES:
        if name.startswith(prefix):
            return prefix.lower() + name[len(prefix) :]
    return name


def draft_name(title: str) -> str:
    """What follows "dự thảo" in a sentence: the title without a leading "Dự thảo" of its own."""
    title = " ".join(title.split())
    return title[len("dự thảo ") :] if title.casefold().startswith("dự thảo ") else title


def trich_yeu(title: str) -> str:
    """The record's trích yếu, whatever the title's first word ("Dự thảo Quy định…" too)."""
    return f"Tổng hợp, tiếp thu, giải trình ý kiến của Nhân dân đối với dự thảo {draft_name(title)}"


def answer_text(outcome: str, explanation: str) -> str:
    """The outcome said once: "Tiếp thu. Bổ sung …", or the explanation alone when it opens with it."""
    explanation = (explanation or "").strip()
    folded = explanation.casefold()
    for opening in OUTCOME_OPENINGS[outcome]:
        if folded.startswith(opening) and not folded[len(opening) : len(opening) + 1].isalnum():
            return explanation
    return f"{VI_OUTCOME[outcome]}. {explanation}" if explanation else VI_OUTCOME[outcome]


def percent(n: int, total: int) -> str:
    """ "40,0": one decimal, with the Vietnamese decimal comma; empty without a total."""
    if not total:
        return ""
    return f"{100 * n / total:.1f}".replace(".", ",")


def basis_lines(text: str) -> list[str]:
    """The "Căn cứ …" lines, one per non-empty line of ``legal_basis``, each ending with ";"."""
    lines = []
    for line in (text or "").splitlines():
        line = re.sub(r"^[-–•*+\s]+", "", line).strip().rstrip(".;,")
        if not line:
            continue
        if not line.casefold().startswith("căn cứ"):
            line = "Căn cứ " + line
        lines.append(line + ";")
    return lines


def meeting_lines(text: str) -> list[str]:
    """The meetings held, one per non-empty line, without list marks or end punctuation."""
    return [
        s
        for line in (text or "").splitlines()
        if (s := re.sub(r"^[-–•*+\s]+", "", line).strip().rstrip(".;"))
    ]


def signer_lines(title: str | None) -> list[str]:
    """The capacity lines of the signature block for a collective body (Decree 30, Appendix I):
    "TM. ỦY BAN NHÂN DÂN / CHỦ TỊCH", a deputy signing "KT. CHỦ TỊCH / PHÓ CHỦ TỊCH"."""
    title = " ".join((title or "Chủ tịch").split())
    lines = ["TM. ỦY BAN NHÂN DÂN"]
    if title.casefold().startswith("phó chủ tịch"):
        lines.append("KT. CHỦ TỊCH")
    lines.append(title.upper())
    return lines
