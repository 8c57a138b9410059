"""Alike opinions: pairwise precision and recall of ``alike.similarity`` on a labelled set,
the time of ``cluster`` on 100,000 opinions, and the time to prepare and check one new opinion.

    .venv/bin/python -m bench.alike [--n 100000]
"""

from __future__ import annotations

import argparse
import itertools
import random
import time
from datetime import UTC, datetime, timedelta

from alike import similarity
from core.textutil import fold

#: Demands about commune matters: (label, text). Each is written several ways below.
DEMANDS = [
    ("road", "Đề nghị mở rộng đường thôn Đông lên 6 mét để xe cứu hỏa vào được"),
    ("land", "Đề nghị công khai quy hoạch sử dụng đất của xã tại nhà văn hóa thôn"),
    ("fee", "Đề nghị giảm phí thu gom rác thải sinh hoạt cho hộ nghèo trong xã"),
    ("school", "Đề nghị xây thêm phòng học cho trường tiểu học vì lớp quá đông học sinh"),
    ("water", "Đề nghị sớm đưa nước sạch về các hộ dân xóm Bãi đang phải dùng nước giếng"),
    ("light", "Đề nghị lắp đèn chiếu sáng trên tuyến đường từ chợ về trạm y tế xã"),
    ("drain", "Đề nghị nạo vét mương thoát nước trước mùa mưa để tránh ngập úng ruộng lúa"),
    ("market", "Đề nghị bố trí lại chỗ bán hàng trong chợ để không lấn chiếm lòng đường"),
]
#: Near misses: never alike their demand (label, text).
NEAR = [
    ("road", "Đề nghị mở rộng đường thôn Đông lên 4 mét để xe cứu hỏa vào được"),
    ("road", "Đề nghị không mở rộng đường thôn Đông lên 6 mét để xe cứu hỏa vào được"),
    ("road", "Đề nghị mở rộng đường thôn Tây lên 6 mét để xe cứu hỏa vào được"),
    ("fee", "Phản đối giảm phí thu gom rác thải sinh hoạt cho hộ nghèo trong xã"),
    ("water", "Đề nghị sớm đưa nước sạch về các hộ dân xóm Trại đang phải dùng nước giếng"),
    ("school", "Đề nghị xây thêm 2 phòng học cho trường tiểu học vì lớp quá đông học sinh"),
    ("land", "Chưa đồng ý công khai quy hoạch sử dụng đất của xã tại nhà văn hóa thôn"),
]
OTHER = [
    "Tôi đồng ý với toàn bộ dự thảo",
    "Cần tăng cường tuần tra an ninh trật tự vào ban đêm",
    "Nên tổ chức lớp tập huấn kỹ thuật trồng lúa cho bà con",
    "Đề nghị hỗ trợ kinh phí sửa chữa nhà văn hóa",
    "Thời gian lấy ý kiến quá ngắn, đề nghị kéo dài thêm",
]
GREETINGS = ["Kính gửi UBND xã, ", "Tôi xin góp ý: ", "Kính gửi Ủy ban nhân dân xã. Tôi xin góp ý "]
THANKS = [" Trân trọng cảm ơn!", ". Xin cảm ơn.", " Trân trọng."]
SYNONYMS = {
    "Đề nghị": "Kiến nghị",
    "sớm": "nhanh chóng",
    "xây thêm": "xây dựng thêm",
    "công khai": "niêm yết công khai",
    "lắp": "lắp đặt",
}


def variants(text: str, rng: random.Random) -> list[str]:
    words = text.split()
    out = [
        text,
        text,
        fold(text),
        text.replace(" để ", ", để ").replace(" vì ", "; vì ") + "!",
        rng.choice(GREETINGS) + text + rng.choice(THANKS),
        text.upper(),
    ]
    dropped = words[:]
    del dropped[rng.randrange(2, len(dropped))]
    out.append(" ".join(dropped))
    inserted = words[:]
    inserted.insert(rng.randrange(2, len(inserted)), "rất")
    out.append(" ".join(inserted))
    reworded = text
    for old, new in SYNONYMS.items():
        reworded = reworded.replace(old, new)
    out.append(reworded)
    return out


def labelled(rng: random.Random) -> list[tuple[str, str]]:
    rows = []
    for label, text in DEMANDS:
        rows.extend((label, v) for v in variants(text, rng))
    rows.extend((f"near{i}", text) for i, (_label, text) in enumerate(NEAR))
    rows.extend((f"other{i}", text) for i, text in enumerate(OTHER))
    return rows


def quality(rng: random.Random) -> tuple[float, float, list[str]]:
    rows = [(label, body, similarity.prepare(body)) for label, body in labelled(rng)]
    tp = fp = fn = 0
    errors = []
    for (la, ba, ta), (lb, bb, tb) in itertools.combinations(rows, 2):
        same, said = la == lb, similarity.alike(ta, tb)
        tp += same and said
        fp += said and not same
        fn += same and not said
        if said != same:
            errors.append(f"{'FP' if said else 'FN'}: {ba!r} ~ {bb!r}")
    return tp / max(tp + fp, 1), tp / max(tp + fn, 1), errors


def items(n: int, rng: random.Random) -> list[similarity.Item]:
    """n opinions: campaigns (copies), variants of the demands, and distinct texts."""
    base = datetime(2026, 11, 1, tzinfo=UTC)
    pool = [v for _l, t in DEMANDS for v in variants(t, rng)]
    prepared: dict[str, similarity.Text] = {}
    vocab = fold(" ".join(t for _l, t in DEMANDS + NEAR) + " " + " ".join(OTHER)).split()
    out = []
    for i in range(n):
        if rng.random() < 0.5:
            body = rng.choice(pool)
        else:
            body = " ".join(rng.choices(vocab, k=rng.randint(8, 30))) + f" {i}"
        text = prepared.get(body) or prepared.setdefault(body, similarity.prepare(body))
        out.append(
            similarity.Item(
                i,
                rng.choice([None, 1, 2]),
                rng.choice(["for", "against"]),
                text,
                f"u{i}",
                base + timedelta(minutes=i),
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args()
    rng = random.Random(16)
    precision, recall, errors = quality(rng)
    print(f"pairwise precision {precision:.3f}  recall {recall:.3f}")
    for line in errors[:20]:
        print("  ", line)
    data = items(args.n, rng)
    start = time.perf_counter()
    groups = similarity.cluster(data)
    took = time.perf_counter() - start
    print(f"cluster {args.n} opinions: {took:.1f} s, {len(groups)} groups")
    candidates = [similarity.prepare(t) for _l, t in DEMANDS + NEAR]
    body = "Kính gửi UBND xã, đề nghị nhanh chóng đưa nước sạch về hộ dân xóm Bãi. Cảm ơn"
    start = time.perf_counter()
    for _ in range(200):
        new = similarity.prepare(body)
        similarity.band_keys(new.signature)
        any(similarity.alike(new, c) for c in candidates)
    per = (time.perf_counter() - start) / 200
    print(
        f"prepare + check one new opinion against {len(candidates)} candidates: {per * 1000:.2f} ms"
    )


if __name__ == "__main__":
    main()
