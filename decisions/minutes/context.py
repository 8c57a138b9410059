"""What the minutes of the count print, in their fixed Vietnamese wording (not translated:
a legal form, as the record). The figures are the confirmed count once there is one, the
published results once published, and what stands now on a draft."""

from __future__ import annotations

from typing import Any

from consultations.documents.votes import (
    NOT_PASSED,
    PASSED,
    RULE,
    VI_CHOICE,
    VI_VOTE_CHANNEL,
    matter_label,
    vote_rows,
)
from consultations.documents.wording import draft_name, in_sentence, place_name, short_date, vn_date
from consultations.models import Consultation
from core.timeutil import to_local, utcnow
from decisions import counting
from decisions import results as res
from localities.names import committee_of, commune_of


def _when(dt) -> str:
    local = to_local(dt)
    return f"{local:%H} giờ {local:%M} phút, ngày {short_date(local.date())}"


def _corrections(c: Consultation, stored: list | None, labels: dict[int, str]) -> list[dict]:
    if stored is None:
        stored = [
            {
                "section_id": v.section_id,
                "channel": v.channel.value,
                "original_choice": v.original_choice.value if v.original_choice else None,
                "choice": v.choice.value,
                "reason": v.correction_reason,
            }
            for v in counting.corrections(c)
        ]
    return [
        {
            "matter": labels.get(row["section_id"], ""),
            "channel": VI_VOTE_CHANNEL.get(row["channel"], row["channel"]),
            "before": VI_CHOICE.get(row["original_choice"] or "", ""),
            "after": VI_CHOICE.get(row["choice"], row["choice"]),
            "reason": row["reason"] or "",
        }
        for row in stored
    ]


def minutes_context(c: Consultation) -> dict[str, Any]:
    d = c.decision
    counted = (d.counted if d is not None else None) or {}
    published = d is not None and d.published_at is not None
    content = res.results(c) if published else counted.get("results") or res.compute(c)
    recon = counted.get("reconciliation") or counting.reconciliation(c)
    committee = (counted.get("committee") if counted else None) or (d.committee if d else []) or []
    labels = {m["section_id"]: matter_label(m) for m in content["matters"]}
    # A village has no People's Committee nor Front committee: the commune's sign (names.py).
    authority = commune_of(c.locality) or c.locality
    issuer = committee_of(authority).name
    when = d.counted_at if d is not None and d.counted_at else utcnow()
    unit = in_sentence(c.locality.name)
    front = in_sentence(authority.name)
    place = (
        f"{unit}, {in_sentence(authority.name)}"
        if authority is not c.locality
        else f"trụ sở {issuer}"
    )
    total = content["households_total"]
    voted, ballots = recon["voted"], recon["ballots"]
    return {
        "published": published,
        "counted": bool(counted),
        "issuer": issuer,
        "body_lines": ["ỦY BAN NHÂN DÂN", authority.name.upper()],
        "number": "Số: …/BB-UBND",
        "nation": "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "motto": "Độc lập - Tự do - Hạnh phúc",
        "date_line": f"{place_name(authority.name)}, {vn_date(to_local(when).date())}",
        "created": when,
        "title": "BIÊN BẢN",
        "subtitle": f"Kiểm phiếu biểu quyết của hộ gia đình về {draft_name(c.title)}",
        "time_place": f"Vào hồi {_when(when)}, tại {place}, Tổ kiểm phiếu tiến hành "
        f"kiểm phiếu biểu quyết của các hộ gia đình trên địa bàn {unit} về {draft_name(c.title)} "
        "(Điều 15 Luật Thực hiện dân chủ ở cơ sở số 10/2022/QH15).",
        "committee": committee,
        "figures": [
            ("Tổng số hộ gia đình trên địa bàn", total),
            ("Số hộ gia đình đã biểu quyết", voted["total"]),
            (f"Trong đó: {VI_VOTE_CHANNEL['online'].lower()}", voted["online"]),
            (f"Trong đó: {VI_VOTE_CHANNEL['paper'].lower()}", voted["paper"]),
            (f"Trong đó: {VI_VOTE_CHANNEL['meeting'].lower()}", voted["meeting"]),
            ("Số phiếu biểu quyết phát ra", ballots["printed"]),
            ("Số phiếu thu về", ballots["returned"]),
            ("Số phiếu hợp lệ", ballots["valid"]),
            ("Số phiếu trắng", ballots["blank"]),
            ("Số phiếu không hợp lệ", ballots["spoilt"]),
        ],
        "checks_ok": recon["ok"],
        "rule": RULE,
        "vote_rows": vote_rows(content),
        "matters": content["matters"],
        "passed_words": (PASSED, NOT_PASSED),
        "corrections": _corrections(c, counted.get("corrections") if counted else None, labels),
        "conflicts": recon["conflicts"],
        "sign_off": (
            f"Ủy ban Mặt trận Tổ quốc Việt Nam {front} đã giám sát và xác nhận kết quả kiểm phiếu "
            f"ngày {short_date(to_local(d.signed_at).date())}."
            if d is not None and d.signed_at
            else "Chưa có xác nhận của Ủy ban Mặt trận Tổ quốc Việt Nam."
        ),
        "sign_note": (d.sign_note or "") if d is not None else "",
        "content_hash": d.content_hash if published else None,
    }
