"""Password rules: long enough, not a well-known one, not the person's own e-mail or name."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _

from core.textutil import fold

MIN_LENGTH = 10
#: scrypt copes with long input, but a cap keeps a huge post from costing much.
MAX_LENGTH = 200

#: Passwords of 10+ characters that top the published leak lists, plus local favourites.
#: Compared after folding (lower case, no diacritics, no spaces).
COMMON_PASSWORDS = frozenset(
    [
        "1234567890",
        "0123456789",
        "12345678910",
        "1234567891",
        "0987654321",
        "9876543210",
        "1111111111",
        "0000000000",
        "1122334455",
        "1234512345",
        "1212121212",
        "1231231231",
        "1234554321",
        "5555555555",
        "6666666666",
        "7777777777",
        "8888888888",
        "9999999999",
        "2222222222",
        "1q2w3e4r5t",
        "1qaz2wsx3edc",
        "qwertyuiop",
        "qwerty1234",
        "qwerty12345",
        "qwerty123456",
        "asdfghjkl1",
        "asdfghjkl;",
        "zxcvbnm123",
        "1q2w3e4r5t6y",
        "qazwsxedcrfv",
        "qweasdzxc1",
        "password12",
        "password123",
        "password1234",
        "password01",
        "passw0rd123",
        "p@ssw0rd123",
        "p@ssword123",
        "iloveyou12",
        "iloveyou123",
        "abcdefghij",
        "abcd123456",
        "abc1234567",
        "a123456789",
        "aa12345678",
        "123456789a",
        "123456789q",
        "qwertyuiop1",
        "1234qwer!@",
        "princess12",
        "football12",
        "baseball12",
        "basketball",
        "sunshine12",
        "superman12",
        "starwars12",
        "welcome123",
        "welcome1234",
        "letmein123",
        "administrator",
        "admin12345",
        "admin123456",
        "changeme123",
        "trustno1234",
        "dragon1234",
        "monkey1234",
        "master1234",
        "michael123",
        "computer12",
        "whatever12",
        "internet12",
        "samsung123",
        "google1234",
        "facebook12",
        "matkhau123",
        "matkhau1234",
        "matkhaumoi",
        "matkhau12345",
        "123456789matkhau",
        "anhyeuem123",
        "emyeuanh123",
        "anhyeuem1234",
        "yeuem123456",
        "vietnam123",
        "vietnam1234",
        "vietnam2024",
        "vietnam2025",
        "vietnam2026",
        "hanoi12345",
        "saigon1234",
        "hochiminh1",
        "hochiminh123",
        "nguyen1234",
        "nguyenvan1",
        "nguyenvana",
        "tran123456",
        "le12345678",
        "gopy123456",
        "gopy2026!!",
        "dangnhap123",
        "khongbiet1",
        "12345678ab",
        "12345678aa",
        "123456789ab",
        "11223344556",
        "1234567890a",
        "123123123123",
        "147258369a",
        "1472583690",
        "0123456789a",
        "9999999999a",
    ]
)


def _squash(text: str | None) -> str:
    return fold(text).replace(" ", "")


def password_problem(
    password: str, *, email: str | None = None, names: Iterable[str | None] = ()
) -> str | None:
    """Why ``password`` is not acceptable (a translated message), or None when it is."""
    if len(password) < MIN_LENGTH:
        return _("Use at least %(n)d characters.", n=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _("Use at most %(n)d characters.", n=MAX_LENGTH)
    squashed = _squash(password)
    if squashed in COMMON_PASSWORDS or len(set(squashed)) <= 2:
        return _("This password is too common and easy to guess. Choose another one.")
    personal = {_squash(n) for n in names if n}
    if email:
        personal |= {_squash(email), _squash(email.partition("@")[0])}
    if squashed in {p for p in personal if p}:
        return _("Do not use your e-mail address or your name as a password.")
    return None
