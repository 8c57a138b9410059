"""What the record's DOCX and PDF print, prepared once in their fixed Vietnamese wording.

``document_context`` gathers the heading, the figures and the signature; ``doc_items`` yields
the table of opinions one item at a time from the database cursor: an article's heading (a
``str``) before its first opinion, then a :class:`DocRow` per opinion, or per group of alike
opinions sharing an answer (``record_groups``: its tracking numbers, its count, the answer once).
The staff's internal table keeps one row per opinion and names each one's group.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, distinct, func, or_, select
from sqlalchemy.orm import Session

from consultations import record as rec
from consultations.canonical import published_vote
from consultations.documents.votes import RULE, turnout_line, vote_rows
from consultations.documents.wording import (
    DRAFTING_UNIT,
    VI_CATEGORY,
    VI_CHANNEL,
    VI_KIND,
    VI_STANCE,
    VI_STATUS,
    VILLAGES_NAMED,
    answer_text,
    basis_lines,
    draft_name,
    in_sentence,
    meeting_lines,
    percent,
    place_name,
    short_date,
    signer_lines,
    trich_yeu,
    vn_date,
)
from consultations.models import Opinion, OpinionStatus, Response
from consultations.record_groups import Entry, entries
from core.extensions import db
from core.timeutil import closing_date, to_local, utcnow
from localities.models import Locality, LocalityKind
from localities.names import committee_of, commune_of

#: An opinion as the documents read it: :class:`record.OpinionRow`, its group of alike opinions
#: (``opinion_rows_select(grouped=True)``) and the answer's summary.
DocOpinion = namedtuple(
    "DocOpinion",
    (*rec.OpinionRow._fields, "similar_group", "campaign", "representative", "summary"),
)


@dataclass
class DocRow:
    stt: int
    tracking: str
    content: str
    stance: str
    answer: str
    created: str = ""
    channel: str = ""
    status: str = ""
    contributor: str = ""


def doc_opinions(consultation_id: int, *, session: Session | None = None) -> Iterator[DocOpinion]:
    """Every opinion article by article, each group of alike opinions together, with its
    answer's summary, in batches of 1,000."""
    stmt = rec.opinion_rows_select(consultation_id, grouped=True).add_columns(Response.summary)
    connection = (session or db.session).connection()
    for row in connection.execute(stmt.execution_options(yield_per=1000)):
        yield DocOpinion(*row)


def section_labels(data: rec.RecordData) -> Callable[[int | None], str]:
    """``data.section_label`` in Vietnamese, worked out once per article rather than per row."""
    known = {None: data.section_label(None, vietnamese=True)}
    known.update(
        (s.position, data.section_label(s.position, vietnamese=True)) for s in data.sections
    )

    def label(key: int | None) -> str:
        return known[key] if key in known else data.section_label(key, vietnamese=True)

    return label


def _count(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def _tracking(e: Entry) -> str:
    numbers = "\n".join(e.numbers)  # one a line, as a commune's table lists them
    return f"{numbers}\nvà {_count(e.more)} ý kiến khác" if e.more else numbers


def _content(r: DocOpinion, status: str, internal: bool) -> str:
    if internal:  # the staff's export: every text in full, whatever the record prints
        text = r.body
        if status == "hidden":
            text += f"\n[Lý do ẩn: {r.hidden_reason or ''}]"
        if r.similar_group is not None:
            text += f"\n[Nhóm ý kiến cùng nội dung số {r.similar_group}]"
        return text
    if status == "hidden":
        return f"Ý kiến đã bị cán bộ quản lý ý kiến ẩn do vi phạm quy định. Lý do: {r.hidden_reason or ''}"
    if status == "withdrawn":
        return "Ý kiến đã được người gửi rút lại."
    return r.summary.strip() if r.summary and r.summary.strip() else r.body


def doc_items(
    data: rec.RecordData,
    *,
    internal: bool,
    opinions: Iterator[DocOpinion] | None = None,
    label: Callable[[int | None], str] | None = None,
) -> Iterator[str | DocRow]:
    """The table of opinions as printed: each article's heading, then its opinions, one at a
    time from the cursor (``opinions``: a streamed download reads with a session of its own)."""
    label = label or section_labels(data)
    if opinions is None:
        opinions = doc_opinions(data.consultation.id)
    runs = (Entry(r, [r.tracking_number]) for r in opinions) if internal else entries(opinions)
    article = object()
    for i, e in enumerate(runs, start=1):
        r = e.row
        if r.section_position != article:
            article = r.section_position
            yield label(article)
        status = rec._value(r.status)
        if r.response_id is not None:
            answer = answer_text(rec._value(r.outcome), r.explanation)
        else:
            answer = "—" if status == "withdrawn" else "Chưa trả lời"
        created = ""
        if r.created_at:
            local = to_local(r.created_at)
            created = f"{short_date(local.date())}\n{local:%H:%M}"
        content = _content(r, status, internal)
        if e.grouped:
            lead = "ý kiến cùng nội dung" if e.campaign else "ý kiến có nội dung tương tự"
            content = f"{_count(e.count)} {lead}:\n{content}"
        yield DocRow(
            stt=i,
            tracking=_tracking(e),
            content=content,
            stance=VI_STANCE[rec._value(r.stance)],
            answer=answer,
            created=created,
            channel=VI_CHANNEL[rec._value(r.channel)],
            status=VI_STATUS[status],
            contributor=r.display_name or r.contributor_name or "",
        )


def participants(consultation_id: int) -> int:
    """The people who gave an opinion still standing: accounts and named offline contributors
    once each; an opinion whose giver is unknown (account deleted, no name) counts as one."""
    standing = and_(
        Opinion.consultation_id == consultation_id, Opinion.status != OpinionStatus.withdrawn
    )
    named = func.lower(func.trim(Opinion.contributor_name))
    accounts, names, unknown = db.session.execute(
        select(
            func.count(distinct(Opinion.author_id)),
            func.count(distinct(named)).filter(Opinion.author_id.is_(None), func.length(named) > 0),
            func.count().filter(
                Opinion.author_id.is_(None),
                or_(Opinion.contributor_name.is_(None), func.length(named) == 0),
            ),
        ).where(standing)
    ).one()
    return int(accounts or 0) + int(names or 0) + int(unknown or 0)


def _figures(data: rec.RecordData, people: int) -> list[tuple[str, int | None, str, bool]]:
    """(label, count, percentage, bold) lines: every stance and channel, zeros included."""
    f = data.figures
    total = f.counted
    lines: list[tuple[str, int | None, str, bool]] = [
        ("Tổng số ý kiến nhận được", f.received, "", True)
    ]
    if f.withdrawn:
        lines.append(("Trong đó: số ý kiến người gửi đã rút lại", f.withdrawn, "", False))
    if f.hidden:
        lines.append(("Trong đó: số ý kiến bị ẩn do vi phạm quy định", f.hidden, "", False))
    lines.append(("Số ý kiến được tổng hợp", total, percent(total, total), True))
    lines.append(("Số người tham gia góp ý", people, "", True))
    stances, channels = dict(f.by_stance), dict(f.by_channel)
    groups = [
        ("Theo quan điểm", [(v, stances.get(k, 0)) for k, v in VI_STANCE.items()]),
        ("Theo hình thức lấy ý kiến", [(v, channels.get(k, 0)) for k, v in VI_CHANNEL.items()]),
        (
            "Theo điều, khoản của dự thảo",
            [(data.section_label(k, vietnamese=True), n) for k, n in f.by_section],
        ),
        ("Theo địa bàn", [(k or "Không xác định", n) for k, n in f.by_locality]),
    ]
    for heading, items in groups:
        if items:
            lines.append((heading, None, "", True))
            lines.extend((label, n, percent(n, total), False) for label, n in items)
    return lines


def _recipients(locality: Locality) -> list[str]:
    """Nơi nhận: the commune's council and Front committee, its villages, the portal, the archive."""
    unit = in_sentence(locality.name)
    villages = db.session.scalars(
        select(Locality.name)
        .where(
            Locality.parent_id == locality.id,
            Locality.kind == LocalityKind.village,
            Locality.merged_into_id.is_(None),
        )
        .order_by(Locality.name)
    ).all()
    named = villages if 0 < len(villages) <= VILLAGES_NAMED else ["Các thôn, tổ dân phố"]
    return [
        f"- Thường trực HĐND {unit};",
        f"- Ủy ban MTTQ Việt Nam {unit};",
        *(f"- {name};" for name in named),
        "- Cổng Góp ý;",
        f"- Lưu: VT, {DRAFTING_UNIT}.",
    ]


def document_context(data: rec.RecordData, *, internal: bool = False) -> dict[str, Any]:
    """Everything the DOCX and the PDF print, already in their fixed Vietnamese wording."""
    c, record = data.consultation, data.record
    when = record.published_at if record else utcnow().replace(microsecond=0)
    # A village has no People's Committee: its consultation is the commune's (names.py).
    authority = commune_of(c.locality) or c.locality
    issuer = committee_of(authority).name
    opened = short_date(to_local(c.opened_at or c.opens_at).date())
    last_day = short_date(closing_date(c.closes_at))
    period = f"Từ ngày {opened} đến hết ngày {last_day}."
    if c.closed_early_at:
        period += f" Kết thúc sớm, lý do: {c.close_reason or ''}"
    publicity = [
        "Đăng tải toàn văn dự thảo trên Cổng Góp ý để Nhân dân đọc và góp ý trực tuyến;",
        f"Niêm yết công khai tại trụ sở {issuer} và tại nhà văn hóa các thôn, tổ dân phố;",
    ]
    publicity += [f"Tổ chức {line[0].lower()}{line[1:]};" for line in meeting_lines(c.meetings)]
    if internal:
        title, subtitle = (
            "BẢNG TỔNG HỢP",
            f"Toàn bộ ý kiến của Nhân dân đối với dự thảo {draft_name(c.title)}",
        )
    else:
        title, subtitle = "BÁO CÁO", trich_yeu(c.title)
    return {
        "internal": internal,
        "published": data.published,
        "issuer": issuer,
        "body_lines": ["ỦY BAN NHÂN DÂN", authority.name.upper()],
        "number": "Số: …/BC-UBND",
        "nation": "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "motto": "Độc lập - Tự do - Hạnh phúc",
        "date_line": f"{place_name(authority.name)}, {vn_date(to_local(when).date())}",
        "created": when,
        "title": title,
        "subtitle": subtitle,
        "legal_basis": basis_lines(c.legal_basis),
        "intro": f"{issuer} báo cáo kết quả tổng hợp, tiếp thu, giải trình ý kiến của Nhân dân đối với "
        f"dự thảo {draft_name(c.title)} như sau:",
        "what": [
            ("Tên dự thảo", c.title),
            ("Loại nội dung", VI_KIND[rec._value(c.kind)]),
            ("Lĩnh vực", VI_CATEGORY[rec._value(c.category)]),
            ("Địa bàn", c.locality.full_name),
        ],
        "summary": c.summary or "",
        "period": period,
        "publicity": publicity,
        "figures": _figures(data, participants(c.id)),
        "rows": doc_items(data, internal=internal),
        "reviews": [
            {
                "date": short_date(to_local(r.created_at).date()),
                "body": r.body,
                "attachment": r.attachment_name,
            }
            for r in data.reviews
        ],
        "conclusion": record.conclusion if record else None,
        "content_hash": record.content_hash if record else None,
        "signer_lines": signer_lines(record.signer_title if record else None),
        "signer_name": (record.signer_name or "") if record else "",
        "recipients": _recipients(c.locality),
        "vote_results": _vote_results(c),
    }


def _vote_results(c) -> dict[str, Any] | None:
    """A decide consultation's published results, as the record prints them."""
    vote = published_vote(c)
    if vote is None:
        return None
    content = vote["content"]
    return {
        "households": turnout_line(content),
        "rule": RULE,
        "rows": vote_rows(content),
        "content_hash": vote["content_hash"],
    }
