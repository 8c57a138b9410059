"""What the notice (THÔNG BÁO) prints, worked out once for the page and the PDF.

The notice is an administrative document in the form of Decree 30/2020/NĐ-CP: its wording is a
fixed legal form in Vietnamese whatever the reader's language, so it is written here and in
templates/consultations/_notice.html as is and deliberately not passed through gettext.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from consultations.documents import place_name, vn_date
from consultations.models import Consultation, Record, Status
from core.extensions import db
from core.textutil import clean_text
from core.timeutil import closing_date, local_date, utcnow
from localities.models import Locality

#: The level named in running text ("Ủy ban nhân dân xã …"), from the start of the unit's name.
LEVELS = {"Xã ": "xã", "Phường ": "phường", "Đặc khu ": "đặc khu", "Thị trấn ": "thị trấn"}
#: A summary longer than this is cut: the sheet must stay one page; the full text is online.
SUMMARY_MAX = 500
#: Meetings printed, and the length of each; more would push the signature onto a second sheet.
MEETINGS_MAX = 5
MEETING_MAX = 150
#: The type for a load of variable text up to so many characters (see ``fit``).
FITS = ((780, ""), (1150, "compact"), (1800, "dense"))


def short_date(d: date) -> str:
    """14/8/2026: the date of pages and notices (GLOSSARY.md), no leading zeros."""
    return f"{d.day}/{d.month}/{d.year}"


def in_sentence(name: str) -> str:
    """ "Xã Cam Lộ" as it reads inside a sentence: "xã Cam Lộ"."""
    for prefix in (*LEVELS, "Thành phố ", "Tỉnh "):
        if name.startswith(prefix):
            return prefix.lower() + name[len(prefix) :]
    return name


def draft_title(title: str) -> str:
    """The title after "dự thảo": never "dự thảo Dự thảo …"."""
    title = " ".join(title.split())
    head = "dự thảo"
    if title.casefold().startswith(head) and title[len(head) :][:1] in (" ", ":"):
        title = title[len(head) :].lstrip(" :")
    return title


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;.") + "…"


@dataclass
class Notice:
    c: Consultation
    status: str
    #: "Ủy ban nhân dân xã Cam Lộ"; ``level`` is "xã", "phường" or "đặc khu".
    committee: str
    level: str
    #: "Ủy ban nhân dân xã": the committee named again further down.
    committee_short: str
    issuer_lines: list[str]
    date_line: str
    about: str
    #: "từ ngày 14/8/2026 đến hết ngày 17/9/2026"
    period: str
    closed_early: str | None
    summary: list[str]
    meetings: list[str]
    address: str | None
    phone: str | None
    email: str | None
    office_hours: str | None
    #: Where the draft (or, once concluded, the record) is read online; the QR code encodes it.
    url: str
    record_url: str | None
    record_date: str | None
    opinion_count: int
    #: "", "compact", "dense" or "tight": a smaller type for a long notice, so it stays one sheet.
    fit: str = ""


def fit(n: Notice) -> str:
    """How tight to set ``n``, from the length of what varies from one notice to another."""
    # The title is set larger and centred: it weighs more per character; a meeting is a line.
    load = (
        1.4 * len(n.about) + sum(len(s) for s in n.summary) + sum(60 + len(m) for m in n.meetings)
    )
    load += sum(len(v or "") for v in (n.address, n.office_hours, n.email, n.phone, n.closed_early))
    return next((name for limit, name in FITS if load <= limit), "tight")


def build_notice(
    c: Consultation, *, url: str, record_url: str, today: datetime | None = None
) -> Notice:
    """The notice of ``c``, printed today (Asia/Ho_Chi_Minh)."""
    loc: Locality = c.locality
    status = c.status.value
    level = next((word for prefix, word in LEVELS.items() if loc.name.startswith(prefix)), "xã")
    opened = local_date(c.opened_at or c.opens_at)
    closed_early = None
    if c.closed_early_at:
        closed_early = f"Kết thúc sớm ngày {short_date(local_date(c.closed_early_at))}"
        if c.close_reason:
            closed_early += f", lý do: {clean_text(c.close_reason).rstrip('.')}"
    summary_text = _cut(" ".join(clean_text(c.summary).split()), SUMMARY_MAX) if c.summary else ""
    meetings = [
        m for m in (" ".join(line.split()) for line in (c.meetings or "").splitlines()) if m
    ]
    concluded = status == Status.concluded.value
    published = None
    if concluded:
        published = db.session.scalar(
            select(Record.published_at).where(Record.consultation_id == c.id)
        )
    notice = Notice(
        c=c,
        status=status,
        committee=f"Ủy ban nhân dân {in_sentence(loc.name)}",
        level=level,
        committee_short=f"Ủy ban nhân dân {level}",
        issuer_lines=["ỦY BAN NHÂN DÂN", loc.name.upper()],
        date_line=f"{place_name(loc.name)}, {vn_date(local_date(today or utcnow()))}",
        about=f"Về việc lấy ý kiến Nhân dân đối với dự thảo {draft_title(c.title)}",
        period=(
            f"từ ngày {short_date(opened)} đến hết ngày {short_date(closing_date(c.closes_at))}"
        ),
        closed_early=closed_early,
        summary=[summary_text] if summary_text else [],
        meetings=[_cut(m, MEETING_MAX) for m in meetings[:MEETINGS_MAX]],
        address=loc.address,
        phone=loc.phone,
        email=loc.email,
        office_hours=loc.office_hours,
        url=record_url if concluded else url,
        record_url=record_url if concluded else None,
        record_date=short_date(local_date(published)) if published else None,
        opinion_count=c.opinion_count,
    )
    notice.fit = fit(notice)
    return notice
