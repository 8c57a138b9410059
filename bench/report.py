"""The Markdown report of bench/run.py: figures, and each target met or missed."""

from __future__ import annotations

import time
from dataclasses import dataclass

from load import WORKERS, Result


@dataclass(frozen=True)
class Targets:
    """The issue's budgets."""

    page_ratio: float = 0.40  #: an anonymous consultation page, page cache on, against bare Flask
    resident_ratio: float = 0.10  #: a logged-in resident's consultation page, against bare Flask
    moderator_ratio: float = 0.05  #: a logged-in moderator's queue of a consultation
    max_statements: int = 10  #: SQL statements per page, the same at 100 and at 100,000 opinions
    post_rps: float = 200.0
    search_p95_ms: float = 50.0
    csv_seconds: float = 5.0
    csv_mb: float = 100.0
    xlsx_seconds: float = 20.0
    xlsx_mb: float = 150.0
    page_kb: float = 60.0  #: HTML + CSS of a main page


def _mark(ok: bool) -> str:
    return "yes" if ok else "**NO**"


def _ms(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def render(
    backends: list[dict],
    t: Targets,
    *,
    notes: list[str],
    seconds: float,
    settings: dict,
) -> str:
    lines = [
        "# Góp ý benchmark",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M')}, {seconds / 60:.0f} min. "
        + ", ".join(f"{k} {v}" for k, v in settings.items())
        + f". gunicorn -w {WORKERS} --threads 1, wrk from a second process.",
        "",
    ]
    for b in backends:
        lines += _backend(b["baseline"], b, t)
    if notes:
        lines += ["## Notes", "", *(f"- {n}" for n in notes), ""]
    return "\n".join(lines)


def _backend(base: Result, b: dict, t: Targets) -> list[str]:
    info = b["info"]
    out = [
        f"## {b['label']}: {info['opinions']:,} opinions on consultation {info['consultation_id']}, "
        f"{info['consultations']:,} consultations (seeded in {info['seed_seconds']:.0f} s)",
        "",
        "| target | req/s | p50 ms | p95 ms | vs baseline | errors | load | goal | met |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
        f"| {base.name} | {base.rps:.0f} | {_ms(base.p50_ms)} | {_ms(base.p95_ms)} | 100% | {base.errors} | {base.load:.1f} | | |",
    ]
    for r in b["results"]:
        ratio = r.rps / base.rps if base.rps else 0.0
        goal, met = "", ""
        if r.name.startswith("consultation page") and "page cache" in r.name:
            goal, met = f"≥ {t.page_ratio:.0%} of baseline", _mark(ratio >= t.page_ratio)
        elif r.name.startswith("consultation page") and "logged-in" in r.name:
            goal, met = f"≥ {t.resident_ratio:.0%} of baseline", _mark(ratio >= t.resident_ratio)
        elif r.name.startswith("moderator's queue"):
            goal, met = f"≥ {t.moderator_ratio:.0%} of baseline", _mark(ratio >= t.moderator_ratio)
        elif r.name.startswith("list with search"):
            goal, met = (
                f"p95 ≤ {t.search_p95_ms:.0f} ms",
                _mark(r.requests > 0 and r.p95_ms <= t.search_p95_ms),
            )
        elif r.name.startswith("post"):
            goal, met = f"≥ {t.post_rps:.0f}/s", _mark(r.rps >= t.post_rps)
        note = f" ({r.note})" if r.note else ""
        out.append(
            f"| {r.name}{note} | {r.rps:.0f} | {_ms(r.p50_ms)} | {_ms(r.p95_ms)} | {ratio:.0%} | {r.errors} | {r.load:.1f} | {goal} | {met} |"
        )
    out += [
        "",
        f"Deep page: `{next((r.url for r in b['results'] if r.name.endswith('deep')), '')}`.",
        "",
    ]

    out += [
        "| SQL statements per page | 100 opinions | "
        + f"{info['opinions']:,} opinions | met (same, ≤ {t.max_statements}) |",
        "|---|---:|---:|---|",
    ]
    for s in b["statements"]:
        ok = s["small"] is not None and s["small"] == s["large"] and s["large"] <= t.max_statements
        out.append(f"| {s['page']} `{s['path']}` | {s['small']} | {s['large']} | {_mark(ok)} |")
    out.append("")

    if b["exports"]:
        out += [
            "| export of every opinion (CLI) | seconds | peak RSS MB | file MB | goal | met |",
            "|---|---:|---:|---:|---|---|",
        ]
        for e in b["exports"]:
            goal, ok = "", None
            if e["format"] == "csv":
                goal, ok = (
                    f"≤ {t.csv_seconds:.0f} s, ≤ {t.csv_mb:.0f} MB",
                    e["seconds"] <= t.csv_seconds and e["peak_mb"] <= t.csv_mb,
                )
            elif e["format"] == "xlsx":
                goal, ok = (
                    f"≤ {t.xlsx_seconds:.0f} s, ≤ {t.xlsx_mb:.0f} MB",
                    e["seconds"] <= t.xlsx_seconds and e["peak_mb"] <= t.xlsx_mb,
                )
            label = e["format"].upper() + (
                " (record of the opinions, internal)" if e["format"] == "docx" else ""
            )
            if not e["ok"]:
                label += f" – failed: {e['note']}"
            met = "" if ok is None else _mark(ok and e["ok"])
            out.append(
                f"| {label} | {e['seconds']:.1f} | {e['peak_mb']:.0f} | {e['bytes'] / 1e6:.1f} | {goal} | {met} |"
            )
        out.append("")

    out += [
        f"| page weight | HTML KB | CSS KB | total KB | gzip KB | met (≤ {t.page_kb:.0f} KB) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for w in b["weights"]:
        status = "" if w["status"] == 200 else f" (status {w['status']})"
        out.append(
            f"| {w['page']} `{w['path']}`{status} | {w['html'] / 1024:.1f} | {w['css'] / 1024:.1f} | "
            f"{w['total'] / 1024:.1f} | {w['gzip'] / 1024:.1f} | {_mark(w['total'] <= t.page_kb * 1024)} |"
        )
    out.append("")
    return out
