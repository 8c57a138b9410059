"""The printed letters of one-time keys, one per household, for the village head to hand out.

A letter of the People's Committee of the commune, in the administrative form of Decree
30/2020/NĐ-CP like the notices: its wording is a fixed form in Vietnamese whatever the reader's
language (templates/households/letters_pdf.html), deliberately not passed through gettext. It
is addressed to the household by its code, not to a person by name: see the README.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, render_template

from consultations.documents import place_name, vn_date
from consultations.pdf import render_pdf
from core.timeutil import local_date, utcnow
from households.models import Household
from localities.models import Locality
from localities.names import commune_of, in_sentence

#: Households whose letters are built inside the request (measured: see the README).
INLINE_MAX = 300


@dataclass
class Letter:
    code: str
    address: str
    key: str


@dataclass
class Letters:
    #: "ỦY BAN NHÂN DÂN" and "PHƯỜNG BA ĐÌNH": the left of the heading.
    issuer_lines: list[str]
    #: "Ủy ban nhân dân phường Ba Đình", inside a sentence.
    committee: str
    #: "Ba Đình, ngày 02 tháng 12 năm 2026"
    date_line: str
    #: "Tổ dân phố số 1, phường Ba Đình"
    village: str
    #: "thôn" or "tổ dân phố": whose head hands the letters out.
    level: str
    link_url: str
    letters: list[Letter]


def build_letters(village: Locality, issued: list[tuple[Household, str]]) -> Letters:
    commune = commune_of(village) or village
    base = current_app.config["BASE_URL"].rstrip("/")
    return Letters(
        issuer_lines=["ỦY BAN NHÂN DÂN", commune.name.upper()],
        committee=f"Ủy ban nhân dân {in_sentence(commune.name)}",
        date_line=f"{place_name(commune.name)}, {vn_date(local_date(utcnow()))}",
        village=f"{village.name}, {in_sentence(commune.name)}"
        if commune is not village
        else village.name,
        level="tổ dân phố" if village.name.startswith("Tổ dân phố") else "thôn",
        link_url=base + "/me/household",
        letters=[Letter(h.code, h.address or "", key) for h, key in issued],
    )


def letters_pdf(village: Locality, issued: list[tuple[Household, str]]) -> bytes:
    """The PDF: one A4 page per household, in the order of their codes."""
    return render_pdf(
        render_template("households/letters_pdf.html", L=build_letters(village, issued))
    )
