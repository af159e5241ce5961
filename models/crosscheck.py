"""Checks of a new certificate against the ones already stored.

An insurer's NAIC number is a fact about the insurer, not about the certificate: once
certificates in the store agree on the number for a name, a new certificate naming that
insurer with another number has most likely misread a digit (or the name).  Such a number
is not accepted as read; the reviewer sees the number the store holds in its notes.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.orm import Field
from pipeline.types import Extraction

TRUSTED = ("accepted", "confirmed", "corrected")
FACTOR = 0.6  # an NAIC contradicted by the store: below every family's threshold
_NON_ALNUM = re.compile(r"[^0-9A-Z]+")


def insurer_key(name: str) -> str:
    """A name as compared: capitals and digits only ("Erie Insurance Exchange," = "ERIE
    INSURANCE EXCHANGE")."""
    return _NON_ALNUM.sub("", name.upper())


def known_naics(s: Session) -> dict[str, Counter[str]]:
    """NAIC numbers the store holds for each insurer name, counted, from trusted fields."""
    rows = s.execute(select(Field.certificate_id, Field.path, Field.value, Field.status)
                     .where(Field.path.like("insurers.%"))).all()
    by_cert: dict[tuple[int, str], dict[str, tuple[object, str]]] = defaultdict(dict)
    for cert, path, value, status in rows:
        _, letter, attr = path.split(".", 2)
        by_cert[(cert, letter)][attr] = (value, status)
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for parts in by_cert.values():
        name, naic = parts.get("name"), parts.get("naic")
        if not name or not naic or not isinstance(name[0], str) or not isinstance(naic[0], str):
            continue
        if name[1] in TRUSTED and naic[1] in TRUSTED:
            out[insurer_key(name[0])][naic[0]] += 1
    return out


def check_insurers(s: Session, extractions: list[Extraction]) -> None:
    """Lower the NAIC numbers that disagree with what the store holds for the same name."""
    known = known_naics(s)
    if not known:
        return
    for ex in extractions:
        for path, f in ex.fields.items():
            if not path.startswith("insurers.") or not path.endswith(".naic"):
                continue
            name = ex.fields.get(path[: -len(".naic")] + ".name")
            if name is None or not isinstance(name.value, str) or not isinstance(f.value, str):
                continue
            seen = known.get(insurer_key(name.value))
            if not seen or f.value in seen:
                continue
            usual, n = seen.most_common(1)[0]
            f.confidence = round(f.confidence * FACTOR, 4)
            f.status = "needs_review"
            f.notes.append(f"{n} stored certificate{'s' if n > 1 else ''} give NAIC {usual} "
                           f"for {name.value}")
