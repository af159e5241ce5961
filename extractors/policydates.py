"""Policy dates a fax garbled past parsing, filled in from what the form says they must be.

A fax's thin serif digits break: "09/11/25" read "M:11 25", "(L228" or "P11", and reading the
cell again alone reads no better.  A careful reader fills such a date from its row and its
column: a policy runs a year (the expiration date on the row, a year back, is the effective
date), and a certificate's policies mostly share their dates.  Those are the candidates; one
is taken when what was read there still fits it (the digits and separators left, in order)
clearly better than any other.  Never accepted: the value is a suggestion for the reviewer,
with a note saying where it came from, and the cell's box to check it against.
"""

from __future__ import annotations

import datetime as dt

from rapidfuzz.distance import Levenshtein

from extractors.fields import Collector, join_words, union_bbox
from extractors.normalize import DIGIT_LOOKALIKES
from extractors.validate import date_of

ATTRS = ("effective_date", "expiration_date")
# How much of the candidate's text what was read must keep (normalized Levenshtein
# similarity, separators out), and by how much the best candidate must beat the next one.
MIN_FIT = 0.5
MARGIN = 0.15
# Below every family's accept threshold: a filled date always waits for a reviewer.
FILLED_CONFIDENCE = 0.5
FILLED_NOTE = "filled in from the policy's other date and the certificate's other policies"


def _shift_year(iso: str, years: int) -> str:
    d = dt.date.fromisoformat(iso)
    try:
        return d.replace(year=d.year + years).isoformat()
    except ValueError:  # 29 February
        return d.replace(day=28, year=d.year + years).isoformat()


def _digits(text: str) -> str:
    """What a date cell shows, separators and spaces out, look-alike letters read as the
    digits they look like: "M:11 25" -> "M1125", "O9 l1 25" -> "091125"."""
    kept = "".join(c for c in text if c not in "/-.:,;'\" |()[]{}°")
    return kept.translate(DIGIT_LOOKALIKES)


def _shapes(iso: str) -> list[str]:
    """The ways a certificate prints a date, separators out: 091125 and 09112025."""
    y, m, d = iso.split("-")
    return [f"{m}{d}{y[2:]}", f"{m}{d}{y}"]


def _fit(read: str, iso: str) -> float:
    return max(Levenshtein.normalized_similarity(read, s) for s in _shapes(iso))


def candidates(read: dict[str, str], path: str) -> set[str]:
    """The dates ``path`` may be, from the policy dates ``read`` (path -> ISO date)."""
    base, attr = path.rsplit(".", 1)
    other = ATTRS[1 - ATTRS.index(attr)]
    years = -1 if attr == "effective_date" else 1
    out = {v for p, v in read.items() if p.endswith("." + attr)}
    # The row's other date a year off first of all, and any other policy's too (a
    # certificate whose effective dates were all garbled still has its expirations).
    out |= {_shift_year(v, years) for p, v in read.items() if p.endswith("." + other)}
    return out


def fill_dates(col: Collector) -> None:
    """Fill each garbled date whose remnants fit one candidate clearly best (candidates
    from dates read, never from dates filled in)."""
    read = {p: f.value for p, f in col.fields.items() if p.startswith("policies.")
            and p.endswith(ATTRS) and date_of(f) is not None}
    for path, words in col.garbled.items():
        if path in col.fields or not path.endswith(ATTRS):
            continue
        raw = join_words(words)
        seen = _digits(raw)
        if len(seen) < 4:
            continue
        scored = sorted(((_fit(seen, iso), iso) for iso in candidates(read, path)),
                        reverse=True)
        if not scored or scored[0][0] < MIN_FIT:
            continue
        if len(scored) > 1 and scored[0][0] - scored[1][0] < MARGIN:
            continue
        f = col.put(path, scored[0][1], words, raw=raw, ocr=FILLED_CONFIDENCE,
                    bbox=union_bbox(words))
        f.notes.append(f"{FILLED_NOTE} (read {raw!r})")
