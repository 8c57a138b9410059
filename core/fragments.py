"""Parts of pages drawn once and kept in each worker until what they show changes.

A part is rendered with a *hole* where each visitor's own bit goes (a CSRF token, a count of
unread notifications, the author's "Edit" beside an opinion) and kept under a key that holds
every version it depends on: a change never has to find and drop the old copy, which simply
stops being asked for and ages out of a small LRU. Each request fills the holes of the kept
copy. consultations/fragments.py keeps the shared part of a consultation page; core/chrome.py
the header and footer around every page.

A hole is a marker with a random part drawn when the process starts: no text a resident
writes can forge one (a kept part holds what residents wrote, escaped).
"""

from __future__ import annotations

import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from flask import current_app
from markupsafe import Markup

V = TypeVar("V")

_NONCE = secrets.token_hex(8)
_HOLE = re.compile("\x1e" + _NONCE + r":(\w+)(?::(\d+))?\x1e")


def hole(name: str, number: int | None = None) -> Markup:
    """Where a visitor's own part goes; ``number`` tells apart the holes of one kind (an
    opinion's id)."""
    suffix = "" if number is None else f":{int(number)}"
    return Markup(f"\x1e{_NONCE}:{name}{suffix}\x1e")  # noqa: S704 - our own name and a number


@dataclass(frozen=True)
class Part:
    html: str
    #: What the caller keeps beside the HTML (the opinions of a page, by id).
    data: Any = field(default=None)
    #: ``html`` cut at its holes once, when kept: text, name, number, text, name, number, … text.
    pieces: list = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pieces", _HOLE.split(self.html))

    def fill(self, parts: dict[str, Any], each: Callable[[str, int], Any] | None = None) -> Markup:
        """The part with each hole filled: ``parts[name]`` (markup, or text to escape), and the
        numbered holes with ``each(name, number)`` (None: left empty)."""
        pieces = self.pieces
        out = [pieces[0]]
        escape = Markup.escape
        for i in range(1, len(pieces), 3):
            name, number = pieces[i], pieces[i + 1]
            if number is not None:
                out.append("" if each is None else str(escape(each(name, int(number)))))
            else:
                out.append(str(escape(parts.get(name, ""))))
            out.append(pieces[i + 2])
        return Markup("".join(out))  # noqa: S704 - rendered templates, escaped


class Kept(Generic[V]):
    """A small LRU, one per worker: the kept parts, and the other things a worker remembers
    between requests (core/web.csrf_token, core/cookiesession.py)."""

    def __init__(self, entries: int) -> None:
        self.entries = entries
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.entries:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


def kept() -> Kept[Part]:
    """This application's kept parts (in this worker)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    store = app.extensions.get("gopy_fragments")
    if store is None:
        store = app.extensions["gopy_fragments"] = Kept(int(app.config["FRAGMENT_CACHE_ENTRIES"]))
    return store


def shared(key: Hashable | None, render: Callable[[], Part]) -> Part:
    """The part kept under ``key``, or ``render()``'s, kept from now on (key None: never)."""
    if key is None or not current_app.config["FRAGMENT_CACHE_ENTRIES"]:
        return render()
    store = kept()
    part = store.get(key)
    if part is None:
        part = render()
        store.put(key, part)
    return part
