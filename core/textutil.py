"""Text helpers shared by search, slugs and safe file names."""

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def fold(text: str | None) -> str:
    """Lower-case, strip diacritics and map đ to d, so "dat dai" matches "đất đai"."""
    if not text:
        return ""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.casefold()).strip()


def search_terms(query: str | None, limit: int = 8) -> list[str]:
    """Folded words of a query, punctuation dropped, at most ``limit`` of them."""
    words = re.findall(r"\w+", fold(query))
    return words[:limit]


#: Invisible characters kept inside text: the joiners that build emoji and some scripts' letters.
_JOINERS = "\u200c\u200d"


def clean_text(text: str | None) -> str:
    """Normalise user text: NFC, no NUL or other control characters but newlines and tabs, no
    invisible format characters (zero-width space, word joiner, BOM, direction marks…), so a
    text of nothing visible counts as empty."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(
        ch
        for ch in text
        if ch in "\n\t" or ch in _JOINERS or unicodedata.category(ch) not in ("Cc", "Cs", "Cf")
    ).strip()
    return "" if not text.strip(_JOINERS + " \n\t") else text


def safe_filename(name: str, default: str = "file") -> str:
    """An ASCII file name for Content-Disposition, keeping the extension."""
    folded = fold(name)
    cleaned = re.sub(r"[^a-z0-9._-]+", "-", folded).strip("-.")
    return cleaned[:100] or default
