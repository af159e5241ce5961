"""Cross-field checks that raise or lower confidence, and the accepted/needs_review decision.

A value that fits its pattern can still be wrong; checks between fields catch much of that
(an expiration before its effective date is a misread digit).  A failed check never changes a
value: it lowers confidence and leaves a note for the reviewer.
"""

from __future__ import annotations

import datetime as dt

from pipeline.record import field_family
from pipeline.types import FieldValue

# Confidence at or above which a field is accepted without review, per field family.
# Set from the reliability table of bench/accuracy.py (docs/benchmarks.md): the lowest value
# where accepted fields were (almost) never wrong.
DEFAULT_THRESHOLD = 0.90
THRESHOLDS: dict[str, float] = {}

USUAL_LIMIT_STEP = 1000  # limits are round amounts: 1,000,000 not 1,000,070


def _lower(f: FieldValue | None, factor: float, note: str) -> None:
    if f is None:
        return
    f.confidence = round(f.confidence * factor, 4)
    f.notes.append(note)


def _date(f: FieldValue | None) -> dt.date | None:
    if f is None or not isinstance(f.value, str):
        return None
    try:
        return dt.date.fromisoformat(f.value)
    except ValueError:
        return None


def cross_check(fields: dict[str, FieldValue]) -> None:
    letters = {p.split(".")[1] for p in fields if p.startswith("insurers.") and p.endswith(".name")}
    cert_date = _date(fields.get("certificate_date"))
    policies = {p.split(".")[1] for p in fields if p.startswith("policies.")}
    for key in policies:
        base = f"policies.{key}"
        eff_f, exp_f = fields.get(f"{base}.effective_date"), fields.get(f"{base}.expiration_date")
        eff, exp = _date(eff_f), _date(exp_f)
        if eff and exp:
            if exp <= eff:
                _lower(eff_f, 0.5, "expiration is not after effective date")
                _lower(exp_f, 0.5, "expiration is not after effective date")
            elif not 300 <= (exp - eff).days <= 1200:
                _lower(eff_f, 0.85, "policy period is not about a year")
                _lower(exp_f, 0.85, "policy period is not about a year")
        if cert_date and exp and exp < cert_date - dt.timedelta(days=400):
            _lower(exp_f, 0.8, "expired long before the certificate date")
        letter = fields.get(f"{base}.insurer")
        if letter is not None and letter.value not in letters:
            _lower(letter, 0.5, f"insurer {letter.value} is not in the insurer list")
        for path, f in fields.items():
            if not path.startswith(base + ".limits.") or not isinstance(f.value, int):
                continue
            if not 100 <= f.value <= 500_000_000:
                _lower(f, 0.4, "limit outside the plausible range")
            elif f.value % USUAL_LIMIT_STEP:
                _lower(f, 0.6, "not a usual limit amount")
        occ = fields.get(f"{base}.limits.each_occurrence")
        agg = fields.get(f"{base}.limits.general_aggregate")
        if occ and agg and isinstance(occ.value, int) and isinstance(agg.value, int) \
                and agg.value < occ.value:
            _lower(agg, 0.6, "general aggregate below each occurrence")
            _lower(occ, 0.6, "general aggregate below each occurrence")


def assign_status(fields: dict[str, FieldValue]) -> None:
    for path, f in fields.items():
        threshold = THRESHOLDS.get(field_family(path), DEFAULT_THRESHOLD)
        f.status = "accepted" if f.confidence >= threshold else "needs_review"
