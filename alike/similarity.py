"""Whether two opinions say the same thing: pure functions of their text, no database.

A text is folded (``core.textutil.fold``: no case, no diacritics), its punctuation and the
politeness formulas ("Kính gửi UBND xã", "Tôi xin góp ý", "Trân trọng cảm ơn") dropped; copies
then share ``key``. Rewordings are found by a MinHash signature of the syllable shingles
(1- and 2-syllable), cut into BANDS bands for the locality-sensitive index, then checked
exactly by ``alike``: enough shingles in common, and never a different number, a negation on
one side only, or another place name. The signatures are datasketch's MinHash (numpy): six times
faster than the same in pure Python (bench/alike.py), which 100,000 opinions need.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import re
import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.textutil import fold

#: Permutations of the MinHash signature, and the bands it is cut into for the LSH index.
NUM_PERM = 64
BANDS = 16
#: A campaign: the same text from at least this many authors within this time.
CAMPAIGN_MIN = 10
CAMPAIGN_WINDOW = timedelta(hours=48)
#: Shingle Jaccard (1- and 2-syllable shingles) from which two texts are alike.
THRESHOLD = 0.5
#: Syllable pairs one text may have that the other lacks (a word inserted, a synonym): at
#: most this many, or a tenth of its pairs. More is another demand added or swapped for one,
#: never the same opinion (a quarter of the syllables let long texts of three demands share
#: a group for two of them: the demo's, measured with ``bench/alike.py``).
EXTRA_MIN = 4

_ROWS = NUM_PERM // BANDS
#: The seed of datasketch's permutations: stored signatures stay comparable while it holds.
SEED = 16


@functools.cache
def _minhash():
    # Imported on first use: datasketch pulls in scipy (a second at start-up) and only the
    # worker and the ``opinions group`` command compute signatures.
    from datasketch import MinHash

    first = MinHash(num_perm=NUM_PERM, seed=SEED)
    # CRC-32 for the shingles' hash: 40 % faster than datasketch's SHA-1, and as good here,
    # since the affine32 scheme mixes each hash with MurmurHash3's finalizer first.
    return functools.partial(
        MinHash,
        num_perm=NUM_PERM,
        seed=SEED,
        permutations=first.permutations,
        scheme="affine32",
        hashfunc=zlib.crc32,
    )


#: Politeness formulas (folded) dropped before comparing.
_FORMULAS = [
    r"kinh gui (?:den )?(?:ong |ba )?(?:ubnd|uy ban nhan dan|ban soan thao|hdnd)"
    r"(?: (?:xa|phuong|thi tran|huyen|quan|tinh|thanh pho))?",
    r"kinh thua (?:cac )?(?:ong|ba|ban soan thao|lanh dao)",
    r"toi (?:xin )?(?:duoc )?(?:gop y|de nghi|kien nghi|y kien)(?: nhu sau)?",
    r"(?:toi|chung toi) xin (?:chan thanh )?cam on",
    r"xin (?:chan thanh )?cam on(?: (?:ubnd|uy ban|ban soan thao|quy co quan))?",
    r"tran trong (?:cam on|kinh chao)?",
    r"(?:chan thanh )?cam on(?: (?:nhieu|rat nhieu))?",
    r"xin chao|kinh chao|tran trong",
]
_FORMULA_RE = re.compile(r"\b(?:" + "|".join(_FORMULAS) + r")\b")
_NON_WORD = re.compile(r"[^\w]+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
#: Negations (folded): on one side only, the demand is the opposite.
_NEGATIONS = {"khong", "chua", "chang", "cha", "dung", "khoi", "phan", "cam", "ko", "k"}
#: Words after which a place's name follows (folded).
_PLACES = {
    "thon",
    "xom",
    "ap",
    "duong",
    "pho",
    "xa",
    "phuong",
    "ngo",
    "hem",
    "kiet",
    "lang",
    "kenh",
}
#: Folded words that read as a negation but are not after these (xây dựng, sử dụng, cảm ơn…).
_NOT_NEGATIONS = {
    ("dung", p) for p in ("xay", "su", "ap", "tuyen", "trung", "noi", "dong", "dang", "thu")
} | {("cam", p) for p in ("tinh", "tu", "thong", "ngo", "su")}
_NUMBER_WORDS = {
    "mot",
    "hai",
    "ba",
    "bon",
    "tu",
    "nam",
    "sau",
    "bay",
    "tam",
    "chin",
    "muoi",
    "tram",
    "nghin",
    "ngan",
    "trieu",
    "ty",
    "ti",
    "nua",
}


@dataclass(frozen=True)
class Text:
    """An opinion's text as the grouping reads it."""

    normal: str  #: folded, punctuation and greetings dropped (``normalise``)
    key: str  #: 32 hex characters; copies share it (``text_key``)
    signature: bytes  #: NUM_PERM uint32 MinHash values, little-endian (``signature``)


def normalise(body: str) -> str:
    """Fold (core.textutil.fold), drop punctuation and greetings/politeness formulas."""
    text = _NON_WORD.sub(" ", fold(body).replace("_", " "))
    text = " ".join(text.split())
    return " ".join(_FORMULA_RE.sub(" ", text).split())


def _shingles(normal: str) -> set[str]:
    words = normal.split()
    out = set(words)
    out.update(f"{a} {b}" for a, b in itertools.pairwise(words))
    return out


def signature(normal: str) -> bytes:
    """NUM_PERM uint32 MinHash values of the shingles (datasketch, scheme affine32),
    little-endian."""
    minhash = _minhash()()
    minhash.update_batch([s.encode() for s in _shingles(normal)])
    return minhash.hashvalues.astype("<u4").tobytes()


def text_key(normal: str) -> str:
    return hashlib.blake2b(normal.encode(), digest_size=16).hexdigest()


def prepare(body: str) -> Text:
    """``normalise`` + ``text_key`` + ``signature`` in one go."""
    normal = normalise(body)
    return Text(normal=normal, key=text_key(normal), signature=signature(normal))


@functools.lru_cache(maxsize=1 << 16)  # a recomputation asks twice for each text's bands
def band_keys(signature: bytes) -> tuple[int, ...]:
    """BANDS signed 63-bit integers (each band's hash, the band number mixed in)."""
    size = 4 * _ROWS
    keys = []
    for band in range(BANDS):
        chunk = bytes([band]) + signature[band * size : (band + 1) * size]
        value = int.from_bytes(hashlib.blake2b(chunk, digest_size=8).digest(), "little")
        keys.append((value >> 1) - (1 << 62))  # within a signed BIGINT
    return tuple(keys)


@functools.lru_cache(maxsize=1 << 17)  # a recomputation checks each text against many
def _pairs(normal: str) -> frozenset[tuple[str, str]]:
    return frozenset(itertools.pairwise(normal.split()))


@functools.lru_cache(maxsize=1 << 17)
def _guards(normal: str) -> tuple[frozenset, frozenset, frozenset]:
    words = normal.split()
    numbers = frozenset(w for w in words if _NUMBER.fullmatch(w) or w in _NUMBER_WORDS)
    negations = frozenset(
        w
        for prev, w in itertools.pairwise(["", *words])
        if w in _NEGATIONS and (w, prev) not in _NOT_NEGATIONS
    )
    places = frozenset(
        f"{w} {n}" for w, n in itertools.pairwise(words) if w in _PLACES and n not in _NUMBER_WORDS
    )
    return numbers, negations, places


def _places_clash(a: frozenset, b: frozenset) -> bool:
    """The same kind of place named differently on the two sides."""
    kinds_a = defaultdict(set)
    for p in a:
        kind, name = p.split(" ", 1)
        kinds_a[kind].add(name)
    for p in b:
        kind, name = p.split(" ", 1)
        if kind in kinds_a and name not in kinds_a[kind]:
            return True
    return False


def similarity(a: Text, b: Text) -> float:
    """Jaccard of the two texts' shingles."""
    sa, sb = _shingles(a.normal), _shingles(b.normal)
    if not sa or not sb:
        return 1.0 if sa == sb else 0.0
    return len(sa & sb) / len(sa | sb)


def alike(a: Text, b: Text) -> bool:
    """The precise check: the same demand (copies, rewordings). Precision first: a different
    number, a negation on one side only, another place, a demand added: never alike."""
    if a.key == b.key:
        return True
    if not a.normal or not b.normal:
        return False
    xa, xb = _pairs(a.normal), _pairs(b.normal)  # the cheapest refusal first
    if len(xa - xb) > max(EXTRA_MIN, len(xa) // 10) or len(xb - xa) > max(EXTRA_MIN, len(xb) // 10):
        return False
    na, ga, pa = _guards(a.normal)
    nb, gb, pb = _guards(b.normal)
    if na != nb or ga != gb or _places_clash(pa, pb):
        return False
    return similarity(a, b) >= THRESHOLD


@dataclass(frozen=True)
class Item:
    """One opinion for ``cluster``: only opinions of the same consultation, article (section)
    and stance may share a group."""

    id: int
    section_id: int | None
    stance: str
    text: Text
    author: str  #: "u<author_id>" or "c<contributor name>" or "o<opinion id>": who wrote it
    created_at: datetime


#: 64-bit words of a text's fingerprint of syllable pairs (``_cluster_bucket``).
_PRINT_WORDS = 8
#: Candidates of a text below which they are checked one by one rather than as arrays.
_FEW = 64


def _fingerprint(pairs: frozenset[tuple[str, str]]) -> int:
    bits = 0
    for a, b in pairs:
        bits |= 1 << (zlib.crc32(f"{a} {b}".encode()) % (64 * _PRINT_WORDS))
    return bits


def _cluster_bucket(items: list[Item]) -> list[list[int]]:
    import numpy as np  # lazy: as datasketch (which needs it), only for the grouping

    by_key: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        by_key[item.text.key].append(item)
    for copies in by_key.values():
        copies.sort(key=lambda i: (i.created_at, i.id))
    # Most copied text first, then the earliest: it stands for its group.
    order = sorted(
        by_key, key=lambda k: (-len(by_key[k]), by_key[k][0].created_at, by_key[k][0].id)
    )
    texts = [by_key[key][0].text for key in order]
    # The texts of a band by their place in ``order``. Many similar texts (a commune's
    # opinions share their words) crowd the bands, and each text is compared with every other
    # of its bands: the candidates are gathered and sifted as arrays, in the order they were
    # checked one by one before, and only those that pass reach Python.
    members_of: dict[int, list[int]] = defaultdict(list)
    pairs = [_pairs(t.normal) for t in texts]
    for index, text in enumerate(texts):
        for band in band_keys(text.signature):
            members_of[band].append(index)
    # alike()'s first refusal, without a set: a text with more syllable pairs the other lacks
    # than it may have is never alike it. Each text's pairs are also bits of a fingerprint; a
    # bit one has and the other lacks is a pair it lacks, so the bits count no more than the
    # pairs do and never refuse a pair of texts alike. Built on the first crowded text only:
    # texts with few band-mates are faster one by one.
    counts = [len(p) for p in pairs]
    slacks = [max(EXTRA_MIN, n // 10) for n in counts]
    taken = np.zeros(len(order), dtype=bool)
    arrays: dict[str, Any] = {}
    band_arrays: dict[int, Any] = {}

    def _sift(index: int, bands: tuple[int, ...], na: int, ka: int) -> list[int]:
        if not arrays:
            arrays["size"] = np.array(counts, dtype=np.int64)
            arrays["slack"] = np.array(slacks, dtype=np.int64)
            arrays["prints"] = np.frombuffer(
                b"".join(_fingerprint(p).to_bytes(8 * _PRINT_WORDS, "little") for p in pairs),
                dtype="<u8",
            ).reshape(len(order), _PRINT_WORDS)
        for band in bands:
            if band not in band_arrays:
                band_arrays[band] = np.array(members_of[band], dtype=np.int64)
        size, slack, prints = arrays["size"], arrays["slack"], arrays["prints"]
        found = np.concatenate([band_arrays[band] for band in bands])
        _, first = np.unique(found, return_index=True)
        found = found[np.sort(first)]  # each once, where it was first met
        found = found[~taken[found]]
        found = found[(na - size[found] <= ka) & (size[found] - na <= slack[found])]
        mine, theirs = prints[index], prints[found]
        lacking = np.bitwise_count(mine & ~theirs).sum(axis=1)  # pairs they lack, at least
        extra = np.bitwise_count(theirs & ~mine).sum(axis=1)  # pairs they add, at least
        return found[(lacking <= ka) & (extra <= slack[found])].tolist()

    groups = []
    for index, key in enumerate(order):
        if taken[index]:
            continue
        taken[index] = True
        rep = texts[index]
        members = [i.id for i in by_key[key]]
        na, ka, pa = counts[index], slacks[index], pairs[index]
        bands = band_keys(rep.signature)
        listed = [members_of[band] for band in bands]
        if sum(map(len, listed)) <= _FEW:  # a few: faster one by one than as arrays
            seen, found = {index}, []
            for others in listed:
                for other in others:
                    if other not in seen and not taken[other]:
                        seen.add(other)
                        found.append(other)
        else:
            found = _sift(index, bands, na, ka)
        for other in found:
            pb, nb, kb = pairs[other], counts[other], slacks[other]
            # alike()'s first refusal, inline
            if na - nb > ka or nb - na > kb or len(pa - pb) > ka or len(pb - pa) > kb:
                continue
            if alike(rep, texts[other]):
                taken[other] = True
                members.extend(i.id for i in by_key[order[other]])
        if len(members) >= 2:
            groups.append(members)
    return groups


def cluster(items: Sequence[Item]) -> list[list[int]]:
    """Groups (lists of opinion ids, each of 2 or more) of the items; every member is
    ``alike`` the group's first (its representative: the earliest opinion of the most copied
    text). 100,000 items in well under 60 s."""
    buckets: dict[tuple, list[Item]] = defaultdict(list)
    for item in items:
        buckets[(item.section_id, item.stance)].append(item)
    groups = []
    for bucket in buckets.values():
        groups.extend(_cluster_bucket(bucket))
    groups.sort(key=len, reverse=True)
    return groups


def is_campaign(members: Iterable[Item]) -> bool:
    """Near-identical texts (the same key) from at least CAMPAIGN_MIN different authors
    within CAMPAIGN_WINDOW."""
    by_key: dict[str, list[Item]] = defaultdict(list)
    for item in members:
        by_key[item.text.key].append(item)
    for copies in by_key.values():
        copies.sort(key=lambda i: i.created_at)
        start = 0
        for end in range(len(copies)):
            while copies[end].created_at - copies[start].created_at > CAMPAIGN_WINDOW:
                start += 1
            if len({i.author for i in copies[start : end + 1]}) >= CAMPAIGN_MIN:
                return True
    return False
