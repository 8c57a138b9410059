"""Find the commune or village a resident lives in by its name, with or without diacritics.

"cam lo" finds "Xã Cam Lộ" (first: its name without "Xã" is exactly what was typed), then the
villages of Xã Cam Lộ, then "Xã Cam Lộc"… Every word typed must begin a word of the unit's
name or of the units above it ("cam lo quang tri" narrows to Quảng Trị).

The names of every commune and village that exists today (merged units left out) are folded once
into an index kept per process; it is rebuilt when the table changes (a cheap fingerprint query:
count, highest id, total length of the names, number of merges) or after ``INDEX_SECONDS``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy import func, select

from core.extensions import db
from core.textutil import clean_text, fold, search_terms
from localities.models import Locality, LocalityKind

#: Results offered at once: more means "type more of the name".
LIMIT = 20
#: At most this long between two fingerprint checks… and an index is never older than this.
INDEX_SECONDS = 600
#: What comes before the proper name, folded: "Xã Cam Lộ" is "cam lo" to someone typing it.
PREFIXES = (
    "thanh pho ",
    "tinh ",
    "dac khu ",
    "phuong ",
    "xa ",
    "thi tran ",
    "to dan pho ",
    "khu pho ",
    "khu dan cu ",
    "thon ",
    "ban ",
    "buon ",
    "ap ",
    "lang ",
    "xom ",
    "khom ",
    "to ",
    "khu ",
)
CHOOSABLE = (LocalityKind.commune, LocalityKind.village)


@dataclass(frozen=True)
class Entry:
    id: int
    code: str
    name: str
    kind: LocalityKind
    #: The unit and those above it: "Thôn An Trung, Xã Cam Lộ, Tỉnh Quảng Trị".
    label: str
    parent_id: int | None
    folded: str
    bare: str
    #: Folded words of the name and of every unit above it.
    words: tuple[str, ...]
    own_words: tuple[str, ...]

    def as_json(self) -> dict[str, str]:
        return {"code": self.code, "name": self.name, "kind": self.kind.value, "label": self.label}


def bare_name(folded: str) -> str:
    for prefix in PREFIXES:
        if folded.startswith(prefix) and len(folded) > len(prefix):
            return folded[len(prefix) :]
    return folded


class _Index:
    def __init__(self, fingerprint: tuple, entries: list[Entry]) -> None:
        self.fingerprint = fingerprint
        self.entries = entries
        self.by_code = {e.code: e for e in entries}
        self.by_id = {e.id: e for e in entries}
        self.children: dict[int, list[Entry]] = {}
        for e in entries:
            if e.parent_id is not None:
                self.children.setdefault(e.parent_id, []).append(e)
        self.built = time.monotonic()
        self.checked = self.built


_lock = threading.Lock()
#: One index per database (engine): tests and a second app in the same process do not share.
_indexes: dict[int, _Index] = {}


def _fingerprint() -> tuple:
    t = Locality.__table__
    row = db.session.execute(
        select(
            func.count(t.c.id),
            func.max(t.c.id),
            func.sum(func.length(t.c.name)),
            func.count(t.c.merged_into_id),
        )
    ).one()
    return tuple(row)


def _build(fingerprint: tuple) -> _Index:
    t = Locality.__table__
    rows = db.session.execute(
        select(t.c.id, t.c.code, t.c.name, t.c.kind, t.c.parent_id, t.c.merged_into_id)
    ).all()
    by_id = {r.id: r for r in rows}
    entries = []
    for r in rows:
        if r.merged_into_id is not None or LocalityKind(r.kind) not in CHOOSABLE:
            continue
        chain, node, seen = [], r, set()
        while node is not None and node.id not in seen:
            chain.append(node)
            seen.add(node.id)
            node = by_id.get(node.parent_id) if node.parent_id else None
        folded = fold(r.name)
        words: list[str] = []
        for n in chain:
            words.extend(search_terms(n.name, limit=50))
        entries.append(
            Entry(
                id=r.id,
                code=r.code,
                name=r.name,
                kind=LocalityKind(r.kind),
                label=", ".join(n.name for n in chain),
                parent_id=r.parent_id,
                folded=folded,
                bare=bare_name(folded),
                words=tuple(words),
                own_words=tuple(search_terms(r.name, limit=50)),
            )
        )
    entries.sort(key=lambda e: (e.kind != LocalityKind.commune, e.folded, e.label))
    return _Index(fingerprint, entries)


def index() -> _Index:
    key = id(db.engine)
    now = time.monotonic()
    current = _indexes.get(key)
    if current is not None and now - current.checked < 5 and now - current.built < INDEX_SECONDS:
        return current
    fingerprint = _fingerprint()
    if (
        current is not None
        and current.fingerprint == fingerprint
        and now - current.built < INDEX_SECONDS
    ):
        current.checked = now
        return current
    with _lock:
        built = _build(fingerprint)
        _indexes[key] = built
    return built


def clear() -> None:
    """Forget every index (tests)."""
    _indexes.clear()


def _matches(entry: Entry, terms: list[str]) -> bool:
    return all(any(w.startswith(t) for w in entry.words) for t in terms)


def search(query: str | None, limit: int = LIMIT) -> tuple[list[Entry], bool]:
    """Communes and villages whose names match ``query``, best first, and whether there are more."""
    terms = search_terms(query)
    if not terms or sum(len(t) for t in terms) < 2:
        return [], False
    typed = " ".join(terms)
    exact_text = clean_text(query).casefold().strip()
    found = []
    for e in index().entries:
        if not _matches(e, terms):
            continue
        own = all(any(w.startswith(t) for w in e.own_words) for t in terms)
        found.append(
            (
                not (e.bare == typed or e.folded == typed),  # the very name, "cam lo" → Xã Cam Lộ
                not (exact_text and exact_text in e.name.casefold()),  # typed with its diacritics
                not own,  # the unit's own name, before units found by the name above them
                e.kind != LocalityKind.commune,
                e.folded,
                e.label,
                e,
            )
        )
    found.sort(key=lambda row: row[:-1])
    return [row[-1] for row in found[:limit]], len(found) > limit


def exact(query: str | None) -> list[Entry]:
    """Communes and villages whose name is exactly what was typed (diacritics and "Xã" optional)."""
    typed = " ".join(search_terms(query))
    if not typed:
        return []
    return [e for e in index().entries if e.bare == typed or e.folded == typed]


def entry(code: str | None) -> Entry | None:
    if not code:
        return None
    return index().by_code.get(code.strip())


def around(code: str | None, limit: int = 30) -> list[Entry]:
    """The chosen unit and its neighbours to choose from: a commune and its villages, or a
    village, its commune and the other villages of that commune."""
    idx = index()
    chosen = idx.by_code.get((code or "").strip())
    if chosen is None:
        return []
    commune = chosen
    if chosen.kind == LocalityKind.village:
        commune = idx.by_id.get(chosen.parent_id) or chosen
    villages = sorted(idx.children.get(commune.id, []), key=lambda e: e.folded)
    found = [commune, *villages] if commune is not chosen or villages else [chosen]
    if chosen not in found:
        found.insert(0, chosen)
    return found[:limit]
