"""The household vote's results in the fixed wording of the documents (Decree 30/2020/NĐ-CP):
the table of matters printed by the minutes of the count (decisions/minutes/) and by the
record of a ``decide`` consultation. Vietnamese whatever the reader's language, as the rest.
"""

from __future__ import annotations

from typing import Any

from consultations.documents.wording import percent

VI_VOTE_CHANNEL = {
    "online": "Trực tuyến (Cổng Góp ý)",
    "paper": "Phiếu biểu quyết",
    "meeting": "Biểu quyết tại hội nghị / cuộc họp",
}
VI_CHOICE = {
    "agree": "Tán thành",
    "disagree": "Không tán thành",
    "blank": "Phiếu trắng",
    "spoilt": "Phiếu không hợp lệ",
}
PASSED = "Được thông qua"
NOT_PASSED = "Không được thông qua"
RULE = "Nội dung được thông qua khi có trên 50% tổng số hộ gia đình trên địa bàn tán thành."
VOTE_HEADER = [
    "Nội dung biểu quyết",
    "Tán thành",
    "Không tán thành",
    "Trắng, không hợp lệ",
    "Kết quả",
]
VOTE_WIDTHS = [55.0, 27.0, 27.0, 26.0, 30.0]


def matter_label(m: dict[str, Any]) -> str:
    return m.get("heading") or "Phần mở đầu"


def vote_rows(content: dict[str, Any]) -> list[list[str]]:
    """One row per matter: the heading, agree and disagree with their share of ALL
    households, blank and spoilt, passed or not."""
    total = content.get("households_total") or 0
    rows = []
    for m in content.get("matters", []):
        agree, disagree = m["votes"]["agree"], m["votes"]["disagree"]
        rows.append(
            [
                matter_label(m),
                f"{agree} ({percent(agree, total) or '0,0'}%)",
                f"{disagree} ({percent(disagree, total) or '0,0'}%)",
                str(m["blank"] + m["spoilt"]),
                PASSED if m["passed"] else NOT_PASSED,
            ]
        )
    return rows


def turnout_line(content: dict[str, Any]) -> str:
    total = content.get("households_total") or 0
    return f"Tổng số hộ gia đình trên địa bàn: {total}."
