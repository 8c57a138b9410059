"""alike.similarity: copies and rewordings are alike; a different number, a negation, another
place never; cluster does not chain; campaigns."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta

from alike import similarity as s

ROAD = "Đề nghị mở rộng đường thôn Đông lên 6 mét để xe cứu hỏa vào được"
T0 = datetime(2026, 11, 1, 8, tzinfo=UTC)


def test_copies_share_the_key_whatever_the_accents_greetings_and_punctuation():
    base = s.prepare(ROAD)
    for body in (
        "de nghi mo rong duong thon dong len 6 met de xe cuu hoa vao duoc",
        "Kính gửi UBND xã, tôi xin góp ý: " + ROAD + ". Trân trọng cảm ơn!",
        ROAD.upper() + "!!!",
    ):
        assert s.prepare(body).key == base.key
    assert len(base.key) == 32
    assert len(base.signature) == 4 * s.NUM_PERM


def test_rewordings_are_alike():
    base = s.prepare(ROAD)
    assert s.alike(
        base, s.prepare("Kiến nghị mở rộng con đường thôn Đông lên 6 mét để xe cứu hỏa vào")
    )
    assert s.alike(
        base, s.prepare("Đề nghị mở rộng đường thôn Đông lên 6 mét cho xe cứu hỏa vào được")
    )


def test_near_misses_are_never_alike():
    base = s.prepare(ROAD)
    for body in (
        ROAD.replace("6 mét", "4 mét"),
        ROAD.replace("Đề nghị", "Đề nghị không"),
        ROAD.replace("Đông", "Tây"),
        "Cần tăng cường tuần tra an ninh trật tự vào ban đêm",
    ):
        assert not s.alike(base, s.prepare(body)), body
    assert not s.alike(s.prepare("Tôi đồng ý"), s.prepare("Tôi không đồng ý"))


def test_band_keys_are_signed_bigints_and_shared_by_copies():
    a = s.band_keys(s.prepare(ROAD).signature)
    b = s.band_keys(s.prepare(ROAD.lower()).signature)
    assert a == b
    assert len(a) == s.BANDS
    assert all(-(2**63) <= k < 2**63 for k in a)
    near = s.band_keys(s.prepare(ROAD + " ngay").signature)
    assert set(a) & set(near)


def _item(i, body, section=None, stance="for", author=None, minutes=0):
    return s.Item(
        i, section, stance, s.prepare(body), author or f"u{i}", T0 + timedelta(minutes=minutes)
    )


def test_cluster_groups_by_section_and_stance_with_the_most_copied_text_first():
    reword = "Kiến nghị mở rộng con đường thôn Đông lên 6 mét để xe cứu hỏa vào"
    items = [
        _item(1, reword, minutes=0),
        _item(2, ROAD, minutes=1),
        _item(3, ROAD.lower(), minutes=2),
        _item(4, ROAD, stance="against"),
        _item(5, ROAD, section=7),
        _item(6, ROAD.replace("6 mét", "4 mét")),
        _item(7, "Đề nghị hỗ trợ kinh phí sửa chữa nhà văn hóa"),
    ]
    groups = s.cluster(items)
    assert groups == [[2, 3, 1]]


def test_cluster_does_not_chain():
    a = "đề nghị sửa chữa cầu tràn qua suối cho học sinh đi học an toàn mùa mưa lũ"
    b = "đề nghị sửa chữa cầu tràn qua suối cho học sinh đi học an toàn"
    c = "sửa chữa cầu tràn qua suối cho học sinh"
    items = [_item(1, a), _item(2, a), _item(3, b), _item(4, c), _item(5, c)]
    for group in s.cluster(items):
        rep = next(i for i in items if i.id == group[0])
        for member in group:
            assert s.alike(rep.text, next(i for i in items if i.id == member).text)


def test_campaign_needs_many_authors_within_the_window():
    many = [_item(i, ROAD, minutes=i) for i in range(s.CAMPAIGN_MIN)]
    assert s.is_campaign(many)
    one_author = [_item(i, ROAD, author="u1", minutes=i) for i in range(s.CAMPAIGN_MIN)]
    assert not s.is_campaign(one_author)
    spread = [_item(i, ROAD, minutes=i * 60 * 24) for i in range(s.CAMPAIGN_MIN)]
    assert not s.is_campaign(spread)


def test_folded_words_that_only_look_like_negations():
    school = "Đề nghị xây thêm phòng học cho trường tiểu học vì lớp quá đông học sinh"
    reword = "Kiến nghị xây dựng thêm phòng học cho trường tiểu học vì lớp quá đông học sinh"
    assert s.alike(s.prepare(school), s.prepare(reword))
    assert not s.alike(
        s.prepare("Đừng thu phí rác của hộ nghèo"), s.prepare("Thu phí rác của hộ nghèo")
    )


def test_another_demand_added_is_never_the_same_opinion():
    one = "Đề nghị lắp đèn chiếu sáng trên tuyến đường từ chợ về trạm y tế xã."
    two = one + " Đồng thời làm thêm rãnh thoát nước có nắp đậy dọc tuyến."
    assert not s.alike(s.prepare(one), s.prepare(two))
    # A word or two more is still the same demand.
    assert s.alike(s.prepare(one), s.prepare(one.replace("lắp", "lắp thêm")))


def test_signatures_are_datasketch_minhash_and_stable():
    # Stored signatures stay comparable across releases only while the seed and scheme hold.
    text = s.prepare("Đề nghị nạo vét mương thoát nước trước mùa mưa")
    assert len(text.signature) == 4 * s.NUM_PERM
    from datasketch import MinHash

    minhash = MinHash(num_perm=s.NUM_PERM, seed=s.SEED, hashfunc=zlib.crc32)
    minhash.update_batch([x.encode() for x in s._shingles(text.normal)])
    assert minhash.hashvalues.astype("<u4").tobytes() == text.signature


def _cluster_one_by_one(items: list[s.Item]) -> list[list[int]]:
    """The grouping as it was first written: every candidate of every band checked with
    ``alike`` in Python. ``cluster`` sifts them as arrays first and must agree exactly."""
    from collections import defaultdict

    buckets = defaultdict(list)
    for item in items:
        buckets[(item.section_id, item.stance)].append(item)
    groups = []
    for bucket in buckets.values():
        by_key = defaultdict(list)
        for item in bucket:
            by_key[item.text.key].append(item)
        for copies in by_key.values():
            copies.sort(key=lambda i: (i.created_at, i.id))
        order = sorted(
            by_key, key=lambda k: (-len(by_key[k]), by_key[k][0].created_at, by_key[k][0].id)
        )
        bands = defaultdict(list)
        for key in order:
            for band in s.band_keys(by_key[key][0].text.signature):
                bands[band].append(key)
        taken = set()
        for key in order:
            if key in taken:
                continue
            taken.add(key)
            rep = by_key[key][0]
            members, seen = [i.id for i in by_key[key]], {key}
            for band in s.band_keys(rep.text.signature):
                for other in bands[band]:
                    if other in seen or other in taken:
                        continue
                    seen.add(other)
                    if s.alike(rep.text, by_key[other][0].text):
                        taken.add(other)
                        members.extend(i.id for i in by_key[other])
            if len(members) >= 2:
                groups.append(members)
    groups.sort(key=len, reverse=True)
    return groups


def test_cluster_agrees_with_checking_every_candidate_one_by_one():
    import random

    from commands.demo import load_spec
    from commands.demo_bulk import _bulk_body, _campaign_body

    rng = random.Random(7)
    words = load_spec()["bulk"]
    items = []
    for i in range(3000):
        body = _campaign_body(rng) if rng.random() < 0.1 else _bulk_body(rng, words)
        if rng.random() < 0.1:
            body = ROAD + (" " + body.split()[0] if rng.random() < 0.5 else "")
        items.append(
            _item(
                i,
                body,
                section=rng.choice([None, 1]),
                stance=rng.choice(["agree", "suggest"]),
                minutes=i,
            )
        )
    expected = _cluster_one_by_one(items)
    assert sum(len(g) for g in expected) > 300  # the texts do form groups
    assert s.cluster(items) == expected
