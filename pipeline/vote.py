"""Fields of several readings of one fax, put to a vote.

A fax is read three times (pipeline/process.py: its 1-bit page softened by two kernels, and
thickened), since no one way reads every fax best.  One reading is the base (the surest
overall; its cells were read again); the others are witnesses.  Per field:

- most readings give one value and the base another (or none): the majority's value, when
  its surest reading is surer than the base's;
- every reading gives the base's value (a date, an amount, a number or a mark, not text),
  read with some confidence and with nothing odd found about it: it is as sure as such
  fields proved to be;
- every other reading gives another value, or most readings another one but less surely:
  the base's is less sure.
"""

from __future__ import annotations

import copy

from rapidfuzz import fuzz

from pipeline.record import field_family
from pipeline.types import Extraction, FieldValue

AGREED_NOTE = "readings agree"
# Every reading gave the same value, one of them with an OCR confidence of at least
# READ_FLOOR, and no check found anything odd about it: as sure as the bench found such
# fields to be (79 of 79 right on 19 faxes of seeds 4401, 4402 and 6301).
UNANIMOUS_CONFIDENCE = 0.93
READ_FLOOR = 0.6
# ... and none of them under EACH_FLOOR: a reading that doubted its glyphs saw what the
# others saw, not proof of it.  On the faxes of seeds 9898 and 4545, 279 values were
# raised so, 3 of them wrong (a 3,000,000 read 2,000,000 three times, one reading at 0.23;
# an ADDL Y unread, one at 0.30); with every reading at 0.5 or more, 250, 1 wrong.
EACH_FLOOR = 0.5
# Contradicted by the other readings (3 of the 3 silent errors left on those faxes were):
# below every family's threshold from an OCR confidence of 1.0 (check boxes accept at 0.8).
ALONE_FACTOR = 0.75
VARIANT_RATIO = 75  # rapidfuzz ratio above which two values are readings of one printing
# Values whose shape a misread rarely keeps (a date, an amount, a number, a mark): three
# readings agreeing on one are right.  Not text: three readings of a fax agreed on
# "Emplovment", "angelu.nguyen@" and "Ingurance" (seed 9517), the same broken glyphs read
# the same way each time.
SHAPED = frozenset({"certificate_date", "policy_dates", "limits", "insurer_naic",
                    "insurer_letters", "addl_subr", "check_boxes"})
# A mark is one of two values, and no reading of it is "a variant" of another: two readings
# that read one from ink, surer than the base's, outvote it (a Y read at 0.06 where two
# readings saw N at 0.85 and 0.93, seed 8181; on 24 faxes of seeds 8181 and 9292 three such,
# each majority right).
MARKS = frozenset({"addl_subr", "check_boxes"})
# Notes that say how a value was found, not that something is wrong with it.
_NEUTRAL = ("a second read agreed", "limit named by its row", "found by its shape")


def _shaped(path: str, f: FieldValue) -> bool:
    """Of a SHAPED family, and not text: the other line's limit is words and an amount
    ("PER OCCURRENCE $1,000,000", read "PER-OCCURRENCE" by all three readings of a fax of
    seed 4545 and accepted)."""
    family = field_family(path)
    return family in SHAPED and not (family == "limits" and isinstance(f.value, str))


def _findings(f: FieldValue) -> list[str]:
    return [n for n in f.notes if not n.startswith(_NEUTRAL)]


def _variant(a: FieldValue, b: FieldValue) -> bool:
    """Two readings of the same printing ("Steven Harns" / "Steven Harris"), not two
    different things (OWNERS INSURANCE COMPANY for ERIE INSURANCE EXCHANGE: the witnesses
    had counted the insurer rows from another one)."""
    return fuzz.ratio(str(a.value), str(b.value)) >= VARIANT_RATIO


def _read_mark(path: str, f: FieldValue) -> bool:
    """A mark read from ink: not an empty cell's (a witness has no cell read again alone,
    and its first reading of a cell whose lone "Y" OCR dropped is empty)."""
    return field_family(path) in MARKS and bool(f.raw)


def _mended(path: str, mine: FieldValue, top: FieldValue) -> bool:
    """A shaped value a check found odd, where the majority's is not: the same cell misread
    ("106" for a limit two readings read 1,000,000, fax-6464-002), not another thing
    (those are told by their place, which a misreading does not move)."""
    return _shaped(path, mine) and _shaped(path, top) and bool(_findings(mine)) \
        and not _findings(top)


def vote(base: Extraction, witnesses: list[Extraction]) -> None:
    """Settle ``base``'s fields by the other readings' (same certificate, same paths)."""
    paths = set(base.fields) | {p for w in witnesses for p in w.fields}
    n = 1 + len(witnesses)
    for path in paths:
        mine = base.fields.get(path)
        cands = ([mine] if mine is not None else []) + [w.fields[path] for w in witnesses
                                                       if path in w.fields]
        groups: dict[str, list[FieldValue]] = {}
        for f in cands:
            groups.setdefault(repr(f.value), []).append(f)
        best = max(groups.values(), key=lambda g: (len(g), max(f.confidence for f in g)))
        if mine is not None and any(f is mine for f in best):
            if len(best) >= 2:
                unanimous = len(best) == n >= 3
                if unanimous and mine.confidence >= READ_FLOOR and not _findings(mine) \
                        and _shaped(path, mine) \
                        and min(f.confidence for f in best) >= EACH_FLOOR:
                    mine.confidence = round(max(mine.confidence, UNANIMOUS_CONFIDENCE), 4)
                mine.notes.append(f"{AGREED_NOTE} ({len(best)} of {n})")
            elif n >= 3 and len(cands) == n:
                # Every other reading read another value there.
                mine.confidence = round(mine.confidence * ALONE_FACTOR, 4)
                mine.notes.append(f"read so by 1 of {n} readings")
            continue
        mine_votes = len(groups[repr(mine.value)]) if mine is not None else 0
        top = max(best, key=lambda f: f.confidence)
        # The base's cells were read again alone (a lone "Y" whole-page OCR drops): a
        # majority of first readings is no match for that unless surer.
        if len(best) >= 2 and len(best) > mine_votes:
            if mine is None or (top.confidence > mine.confidence and (
                    _variant(mine, top) or _read_mark(path, top) or _mended(path, mine, top))):
                new = copy.deepcopy(top)
                new.notes.append(f"read so by {len(best)} of {n} readings")
                base.fields[path] = new
            else:  # outvoted, if by less sure readings: not as sure as it looked
                mine.confidence = round(mine.confidence * ALONE_FACTOR, 4)
                mine.notes.append(f"{len(best)} of {n} readings gave {top.value!r}")
