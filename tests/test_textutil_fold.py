"""``core.textutil.fold``'s quick path (one ``str.translate`` for Latin letters) gives exactly
what the full Unicode decomposition gives, for any text."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from core.textutil import fold


def _reference(text: str) -> str:
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", stripped.casefold()).strip()


@given(st.text())
def test_fold_equals_the_full_decomposition(text):
    assert fold(text) == _reference(text)


@given(
    st.text(alphabet=st.sampled_from("aăâeêioôơuưyđAĂÂĐ \t\n.,àáảãạằắẳẵặầấẩẫậỳýỷỹỵ\u0301\ufb01"))
)
def test_fold_of_vietnamese_text_equals_the_full_decomposition(text):
    assert fold(text) == _reference(text)


def test_fold_examples():
    assert fold("  Đất   ĐAI\tđường ") == "dat dai duong"
    assert fold("Kính gửi Ủy ban") == "kinh gui uy ban"
    assert fold(None) == ""
