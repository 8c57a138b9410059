"""Alike opinions: pairwise precision and recall of ``alike.similarity`` on a labelled set,
the time to prepare and ``cluster`` 100,000 opinions, the time to prepare and check one new
opinion, and the libraries weighed for it: the signature in pure Python (hashlib, what the
grouping first used) against datasketch's MinHash, and the exact check (set Jaccard) against
rapidfuzz's, where rapidfuzz is installed (``pip install rapidfuzz``; not a dependency).

    .venv/bin/python -m bench.alike [--n 100000]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import itertools
import random
import struct
import time
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alike import similarity
from commands.demo_bulk import _bulk_body
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
    # The same demand with another one added: the answer to the first would leave it out.
    (
        "light",
        "Đề nghị lắp đèn chiếu sáng trên tuyến đường từ chợ về trạm y tế xã, đồng thời làm "
        "thêm rãnh thoát nước có nắp đậy dọc tuyến",
    ),
    (
        "market",
        "Đề nghị bố trí lại chỗ bán hàng trong chợ để không lấn chiếm lòng đường và xây "
        "thêm nhà vệ sinh công cộng",
    ),
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


def bodies(n: int, rng: random.Random) -> list[str]:
    """n texts: half copies and variants of the demands, half distinct texts of their words."""
    pool = [v for _l, t in DEMANDS for v in variants(t, rng)]
    vocab = fold(" ".join(t for _l, t in DEMANDS + NEAR) + " " + " ".join(OTHER)).split()
    out = []
    for i in range(n):
        if rng.random() < 0.5:
            out.append(rng.choice(pool))
        else:
            out.append(" ".join(rng.choices(vocab, k=rng.randint(8, 30))) + f" {i}")
    return out


def items(texts: list[str], rng: random.Random) -> list[similarity.Item]:
    """The opinions of ``texts``, each distinct text prepared once (as ``recompute`` does)."""
    base = datetime(2026, 11, 1, tzinfo=UTC)
    prepared: dict[str, similarity.Text] = {}
    out = []
    for i, body in enumerate(texts):
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


_PRIME = (1 << 61) - 1
_PERMS = [
    struct.unpack("<QQ", hashlib.blake2b(b"gopy-minhash-%d" % i, digest_size=16).digest())
    for i in range(similarity.NUM_PERM)
]


def hashlib_signature(normal: str) -> bytes:
    """The signature as the grouping first computed it, in pure Python: the baseline."""
    hashes = [
        int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "little")
        for s in similarity._shingles(normal)
    ] or [0]
    values = [min((a * h + b) % _PRIME for h in hashes) & 0xFFFFFFFF for a, b in _PERMS]
    return struct.pack(f"<{similarity.NUM_PERM}I", *values)


def per_call(fn, args: list, repeat: int = 1) -> float:
    """Seconds per call of ``fn(*a)`` over ``args``."""
    start = time.perf_counter()
    for _ in range(repeat):
        for a in args:
            fn(*a)
    return (time.perf_counter() - start) / (len(args) * repeat)


def libraries(rng: random.Random) -> None:
    normals = [similarity.normalise(b) for b in bodies(4000, rng)]
    similarity.signature("warm up")  # datasketch's import and permutations, once
    ours = per_call(hashlib_signature, [(n,) for n in normals])
    ds = per_call(similarity.signature, [(n,) for n in normals])
    print(
        f"signature: pure Python {ours * 1e3:.3f} ms, datasketch {ds * 1e3:.3f} ms ({ours / ds:.1f}x)"
    )
    texts = [similarity.Text(n, "", b"") for n in normals]
    pairs = list(itertools.pairwise(texts))
    jac = per_call(similarity.similarity, pairs)
    line = f"exact check: set Jaccard {jac * 1e6:.1f} us"
    if importlib.util.find_spec("rapidfuzz"):
        from rapidfuzz.distance import Indel

        rf = per_call(
            Indel.normalized_similarity, [(a.normal.split(), b.normal.split()) for a, b in pairs]
        )
        line += f", rapidfuzz Indel {rf * 1e6:.1f} us"
    else:
        line += ", rapidfuzz not installed"
    print(line)


def demo_purity(n: int, rng: random.Random) -> None:
    """The bulk demo's texts (an opener, one to three of twenty demands, a closer: many share
    most of their words): the groups whose members do not all make the same demands."""
    words = tomllib.loads(Path("data/demo.toml").read_text(encoding="utf-8"))["bulk"]
    folded = [fold(m) for m in words["middles"]]
    base = datetime(2026, 11, 1, tzinfo=UTC)
    texts = [_bulk_body(rng, words) for _ in range(n)]
    demands = [frozenset(i for i, m in enumerate(folded) if m in fold(t)) for t in texts]
    prepared: dict[str, similarity.Text] = {}
    data = [
        similarity.Item(
            i, None, "suggest", prepared.setdefault(t, similarity.prepare(t)), f"u{i}", base
        )
        for i, t in enumerate(texts)
    ]
    groups = similarity.cluster(data)
    mixed = sum(1 for g in groups if any(demands[m] != demands[g[0]] for m in g))
    print(
        f"demo texts ({n}): {len(groups)} groups holding {sum(map(len, groups))}, "
        f"{mixed} with a member making other demands"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args()
    rng = random.Random(16)
    precision, recall, errors = quality(rng)
    print(f"pairwise precision {precision:.3f}  recall {recall:.3f}")
    for line in errors[:20]:
        print("  ", line)
    demo_purity(20_000, rng)
    libraries(rng)
    texts = bodies(args.n, rng)
    start = time.perf_counter()
    data = items(texts, rng)
    prepared = time.perf_counter() - start
    groups = similarity.cluster(data)
    took = time.perf_counter() - start
    print(
        f"prepare and cluster {args.n} opinions: {took:.1f} s "
        f"(of which preparing {prepared:.1f} s), {len(groups)} groups"
    )
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
