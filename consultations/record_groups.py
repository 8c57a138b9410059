"""The record's opinions one entry per group of alike opinions that share an answer.

Rows come from ``opinion_rows_select(..., grouped=True)``: each group's published opinions with
the same answer one after another, the representative first. An entry keeps the first row, at
most ``NUMBERS_SHOWN`` tracking numbers and the count, so a campaign of 100,000 costs no memory.
Hidden and withdrawn opinions stay one entry each: what the record prints of them differs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from consultations.opinion_rows import _value

#: Tracking numbers printed for a group; the rest are counted ("và 27 ý kiến khác").
NUMBERS_SHOWN = 100


@dataclass
class Entry:
    row: Any  #: the first row of the run: the group's representative when it is in it
    numbers: list[str] = field(default_factory=list)
    count: int = 1
    campaign: bool = False

    @property
    def grouped(self) -> bool:
        return self.count > 1

    @property
    def more(self) -> int:
        """Opinions of the entry whose tracking numbers are not printed."""
        return self.count - len(self.numbers)


def _key(row) -> tuple | None:
    if row.similar_group is None or _value(row.status) != "published":
        return None
    return row.similar_group, row.response_id


def entries(rows: Iterable[Any]) -> Iterator[Entry]:
    """One :class:`Entry` per opinion, or per run of alike opinions with the same answer."""
    current: Entry | None = None
    current_key = None
    for row in rows:
        key = _key(row)
        if current is not None and key is not None and key == current_key:
            current.count += 1
            if len(current.numbers) < NUMBERS_SHOWN:
                current.numbers.append(row.tracking_number)
            continue
        if current is not None:
            yield current
        current = Entry(row, [row.tracking_number], 1, bool(row.campaign) and key is not None)
        current_key = key
    if current is not None:
        yield current
