"""How units are named and who speaks for them: "xã Cam Lộ" inside a sentence, the commune a
village belongs to, and the People's Committee that signs a page, a notice or a message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from flask_babel import gettext
from jinja2 import pass_context

from consultations.models import Consultation, Opinion
from localities.models import LocalityKind

#: Names of units as they begin; inside a sentence the level is written in lower case
#: (translations/GLOSSARY.md).
LEVELS = ("Xã ", "Phường ", "Đặc khu ", "Thị trấn ", "Thành phố ", "Tỉnh ", "Thôn ", "Tổ dân phố ")


def in_sentence(name: str) -> str:
    """ "Xã Cam Lộ" as it reads inside a sentence: "xã Cam Lộ"."""
    for prefix in LEVELS:
        if name.startswith(prefix):
            return prefix.lower() + name[len(prefix) :]
    return name


@dataclass
class Issuer:
    """Who signs a message ("Trân trọng," then this): a People's Committee, or the operator."""

    name: str
    address: str | None = None
    phone: str | None = None
    #: True for a People's Committee, False for the operator of the platform.
    committee: bool = True


def commune_of(locality: Any) -> Any:
    """The commune, ward or special zone of ``locality`` (itself, or walking up from a village),
    as it exists today after merges; None for a province or no locality."""
    node, seen = (locality.current() if locality is not None else None), set()
    while node is not None and node.id not in seen:
        if node.kind == LocalityKind.commune:
            return node
        seen.add(node.id)
        node = node.parent
    return None


def committee_of(locality: Any) -> Issuer:
    """ "Ủy ban nhân dân xã Cam Lộ" with its address and telephone (only what is set): the
    official name, in Vietnamese in every language, as on the notices."""
    return Issuer(
        name=f"Ủy ban nhân dân {in_sentence(locality.name)}",
        address=(locality.address or "").strip() or None,
        phone=(locality.phone or "").strip() or None,
    )


def operator() -> Issuer:
    """The operator of the platform, from configuration (OPERATOR_NAME, OPERATOR_ADDRESS,
    OPERATOR_PHONE)."""
    cfg = current_app.config
    return Issuer(
        name=cfg.get("OPERATOR_NAME") or gettext("The operator of Góp ý"),
        address=cfg.get("OPERATOR_ADDRESS") or None,
        phone=cfg.get("OPERATOR_PHONE") or None,
        committee=False,
    )


def issuer_for(*, consultation: Any = None, locality: Any = None, user: Any = None) -> Issuer:
    """The body that signs: for mail about a consultation or an opinion, the People's Committee
    of the consultation's commune; for account mail, the commune of the person's locality
    (walking up from a village); failing that, the operator."""
    if consultation is not None and consultation.locality is not None:
        loc = consultation.locality
        return committee_of(commune_of(loc) or loc.current())
    for loc in (locality, getattr(user, "locality", None)):
        commune = commune_of(loc)
        if commune is not None:
            return committee_of(commune)
    return operator()


def _consultation_of(ctx):
    for name in ("c", "consultation"):
        value = ctx.get(name)
        if isinstance(value, Consultation):
            return value
    opinion = ctx.get("opinion")
    if isinstance(opinion, Opinion):
        return opinion.consultation
    return None


@pass_context
def page_authority(ctx):
    """The commune-level unit whose page this is (a village's consultation: its commune), or None."""
    c = _consultation_of(ctx)
    return None if c is None else page_authority_of(c)


def page_authority_of(c: Consultation):
    """The commune-level unit that issues consultation ``c`` (a village's: its commune), or None."""
    loc = c.locality
    if loc is not None and loc.kind == LocalityKind.village and loc.parent is not None:
        loc = loc.parent
    return loc if loc is not None and loc.kind == LocalityKind.commune else None


def init_app(app: Flask) -> None:
    """``page_authority()`` for the issuer named in base.html's header and its contact details
    in the footer, and the ``in_sentence`` filter."""
    app.jinja_env.globals["page_authority"] = page_authority
    app.jinja_env.filters["in_sentence"] = in_sentence
