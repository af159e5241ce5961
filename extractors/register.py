"""Where did the printer put the typed values?  Registering the typed layer to the form.

Agency systems print values onto a pre-printed form, or print form and values in one pass
from a template whose paper sat off: the most common defect of agency-printed certificates
is every typed value shifted by the same amount, up to a line up or down and up to half a
narrow column sideways, so that values straddle the ruled lines or sit in the next row.  A
careful reader sees the whole page is off and reads each value into the cell it was meant
for; so do we.  The shift is one translation for the page (the paper's offset), measured
from typed values whose intended place the form fixes:

- vertically, the amounts of the limits column against their printed rows (the rows'
  pitch leaves the shift known up to whole rows), then the whole rows from the structure
  typed values must have: the insurer table's first typed line is row A's and nothing
  typed is in its header row, the certificate date lies in its box, a section's first
  limit row is filled and no amount falls outside the rows;
- sideways, on a page shifted vertically, the insurer letters against the centre of the
  INSR LTR column and Y/N marks against the ADDL and SUBR columns (where agency systems
  centre them; a page typed in place is never moved sideways on that alone).

``typed_offset`` returns the shift, or None when the values sit where the form put them
(within a fifth of a row), which is every certificate but a misprinted one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from itertools import pairwise
from statistics import median

from extractors.layout import LabelHit, PageLayout
from pipeline.types import PageContent, Rule, Word

_DATE = re.compile(r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}$")
_LIMIT_IDS = ("L_EACH_OCCURRENCE", "L_DAMAGE_RENTED", "L_MED_EXP", "L_PERSONAL_ADV",
              "L_GENERAL_AGGREGATE", "L_PRODUCTS", "L_CSL", "L_BI_PERSON", "L_BI_ACCIDENT",
              "L_PROPERTY_DAMAGE", "L_AGGREGATE", "L_EL_EACH_ACCIDENT",
              "L_EL_DISEASE_EMPLOYEE", "L_EL_DISEASE_POLICY")
# The first limit row of a section: filled whenever the section is (each occurrence of
# general liability and of umbrella, combined single limit of auto).
_FIRST_ROWS = ("L_EACH_OCCURRENCE", "L_CSL")
_LETTERS = "ABCDEF"
# Below a fifth of a row a value is still inside its cell: reading it needs no help.
MIN_SHIFT = 0.2
# How much better (in _score's points) the shifted reading must fit than the page as read.
MIN_GAIN = 4.0


@dataclass(frozen=True)
class Offset:
    dx: float
    dy: float
    pitch: float  # the limit rows' spacing the vertical shift was measured against


def _limit_rows(layout: PageLayout) -> list[LabelHit]:
    return sorted((h for lid in _LIMIT_IDS for h in layout.all(lid) if h.standalone),
                  key=lambda h: h.cy)


def _amounts(layout: PageLayout, rows: list[LabelHit], typed: list[Word]) -> list[Word]:
    """Typed words in the limits column (right of the limit labels): amounts, however
    garbled a ruled line through them left them, and cell words such as INCLUDED."""
    # The column starts at the printed "$" of each row (or, where none was read, at the
    # labels' end): the labels' own wrapped words ("(Ea accident)") are left of it.
    dollars = [w.x1 for w in typed if w.text in ("$", "S") and w.x0 > min(h.x1 for h in rows)
               and any(abs(w.cy - h.cy) < h.height for h in rows)]
    left = median(dollars) if len(dollars) >= 3 else max(h.x1 for h in rows)
    top, bottom = rows[0].y0 - 2 * rows[0].height, rows[-1].y1 + 3 * rows[-1].height
    height = median(h.height for h in rows)
    return [w for w in typed if w.x0 > left and top <= w.cy <= bottom
            and len(w.text) >= 3 and w.x1 - w.x0 > 1.5 * height]


def _pitch(rows: list[LabelHit]) -> float | None:
    gaps = [b.cy - a.cy for a, b in pairwise(rows) if b.cy - a.cy > 0.5 * a.height]
    if len(gaps) < 3:
        return None
    p = median(gaps)
    # Gaps between sections (a section's own blank row) are whole multiples: keep singles.
    singles = [g for g in gaps if g < 1.5 * p]
    return median(singles)


def _off_row(cy: float, rows: list[LabelHit]) -> tuple[LabelHit, float]:
    """The printed row nearest ``cy``, and how far below its centre ``cy`` is."""
    near = min(rows, key=lambda h: abs(h.cy - cy))
    return near, cy - near.cy


def _fraction(amounts: list[Word], rows: list[LabelHit], pitch: float) -> float | None:
    """The amounts' offset from their nearest printed row, within (-pitch/2, pitch/2]."""
    # Farther than 3/4 of a row: a row the OCR did not find a label for.
    res = [r for w in amounts for _, r in [_off_row(w.cy, rows)] if abs(r) <= 0.75 * pitch]
    if len(res) < 2:
        return None
    return float(median(res))


def _agreed(amounts: list[Word], rows: list[LabelHit], pitch: float, frac: float) -> bool:
    """At least four amounts sit off their rows by the same amount (within a tenth of
    a row): one printer's offset, not OCR's scatter."""
    return sum(abs(_off_row(w.cy, rows)[1] - frac) <= 0.1 * pitch for w in amounts) >= 4


def _row_of(cy: float, rows: list[LabelHit], pitch: float) -> LabelHit | None:
    near, r = _off_row(cy, rows)
    return near if abs(r) <= 0.5 * pitch else None


@dataclass(frozen=True)
class _Insurers:
    rows: dict[str, float]  # letter -> the row's centre line
    step: float  # the rows' spacing
    left: float  # where the names start: the end of the INSURER labels


def _insurer_table(layout: PageLayout, pitch: float) -> _Insurers | None:
    """The insurer rows' centre lines, letters the OCR missed filled in by spacing."""
    hits = {lt: h for lt in _LETTERS for h in [layout.anchor(f"INSURER_{lt}")] if h is not None}
    if not hits:
        return None
    found = {lt: h.cy for lt, h in hits.items()}
    if len(found) >= 2:
        (a, ya), (b, yb) = min(found.items()), max(found.items())
        step = (yb - ya) / (_LETTERS.index(b) - _LETTERS.index(a))
    else:
        step = pitch
    lt0, y0 = next(iter(sorted(found.items())))
    rows = {lt: found.get(lt, y0 + (_LETTERS.index(lt) - _LETTERS.index(lt0)) * step)
            for lt in _LETTERS}
    return _Insurers(rows, (rows["F"] - rows["A"]) / 5, min(h.x1 for h in hits.values()))


def _score(dy: float, layout: PageLayout, rows: list[LabelHit], amounts: list[Word],
           typed: list[Word], pitch: float, ins: _Insurers | None) -> float:
    """How well the typed values fit the form's structure when moved back by ``dy``."""
    score = 0.0
    filled: set[int] = set()
    for w in amounts:
        cy = w.cy - dy
        row = _row_of(cy, rows, pitch)
        if row is None:
            # Above the first limit row there is only the grid's header; below the last
            # only the description box.
            if cy < rows[0].cy - 0.5 * pitch or cy > rows[-1].cy + 1.5 * pitch:
                score -= 2
            continue
        filled.add(id(row))
    for lid in _FIRST_ROWS:
        for h in layout.all(lid):
            if h.standalone:
                score += 1 if id(h) in filled else -1
    score += _insurers_fit(dy, layout, typed, ins)
    score += _date_fit(dy, layout, typed, pitch)
    return score


def _insurers_fit(dy: float, layout: PageLayout, typed: list[Word], ins: _Insurers | None
                  ) -> float:
    """Insurers are listed from A: moved back, the table's first typed line is in row A and
    nothing typed is left in the table's header row."""
    head = layout.anchor("INSURERS_HEADER") or layout.anchor("NAIC")
    if ins is None or head is None:
        return 0.0
    naic = layout.anchor("NAIC")
    right = naic.x1 + 2 * naic.height if naic is not None else layout.page.width
    a, f, half = ins.rows["A"], ins.rows["F"], 0.5 * ins.step
    moved = sorted(w.cy - dy for w in typed if ins.left - 0.5 * head.height < w.x0
                   and w.x1 < right and w.x1 - w.x0 > head.height)
    if any(head.y0 - 0.2 * ins.step < cy < a - half for cy in moved):
        return -3.0
    inside = [cy for cy in moved if a - half <= cy <= f + half]
    if not inside:
        return 0.0
    return 3.0 if inside[0] < a + half else -3.0


def _date_fit(dy: float, layout: PageLayout, typed: list[Word], pitch: float) -> float:
    """The certificate date, moved back, lies in its box: below the DATE label, above the
    box's bottom rule."""
    date = layout.anchor("DATE")
    if date is None:
        return 0.0
    vals = [w for w in typed if _DATE.match(w.text) and w.x1 > date.x0 - date.height
            and w.x0 < date.x1 + date.height
            and date.y0 - 2 * pitch < w.cy < date.y1 + 3 * pitch]
    if not vals:
        return 0.0
    floors = [r.y0 for r in layout.hrules if r.x0 < date.cx < r.x1 and r.y0 > date.y1 + 4]
    bottom = min(floors, default=date.y1 + 2.5 * date.height)
    cy = vals[0].cy - dy
    return 2.0 if date.y1 < cy < bottom else -2.0


def _dx(layout: PageLayout, typed: list[Word]) -> float:
    """Sideways shift from the insurer letters (centred under INSR LTR) and the Y/N marks
    (centred under ADDL and SUBR)."""
    res: list[float] = []
    ltr = layout.anchor("H_INSR")
    cols = [h for h in (layout.anchor("H_ADDL"), layout.anchor("H_SUBR")) if h is not None]
    grid_top = ltr.y1 if ltr is not None else min((h.y1 for h in cols), default=None)
    if grid_top is None:
        return 0.0
    for w in typed:
        if w.cy <= grid_top:
            continue
        t = w.text.strip(".:|[]()")
        if ltr is not None and len(t) == 1 and t in _LETTERS \
                and abs(w.cx - ltr.cx) < 1.2 * (ltr.x1 - ltr.x0):
            res.append(w.cx - ltr.cx)
        elif cols and t in ("Y", "N", "X"):
            near = min(cols, key=lambda h: abs(h.cx - w.cx))
            if abs(w.cx - near.cx) < 0.6 * (near.x1 - near.x0 + near.height):
                res.append(w.cx - near.cx)
    return float(median(res)) if len(res) >= 2 else 0.0


def _insurer_fraction(ins: _Insurers, typed: list[Word]) -> float | None:
    """The offset of the insurer table's typed names and NAICs from their rows' centres:
    for a certificate whose limits column holds no amount."""
    res = [w.cy - min(ins.rows.values(), key=lambda y: abs(y - w.cy)) for w in typed
           if w.x0 >= ins.left - 0.5 * w.height
           and ins.rows["A"] - ins.step < w.cy < ins.rows["F"] + ins.step]
    return float(median(res)) if len(res) >= 3 else None


def typed_offset(layout: PageLayout) -> Offset | None:
    """The typed values' shift (pixels right and down), or None when they sit in place."""
    rows = _limit_rows(layout)
    if len(rows) < 4:
        return None
    pitch = _pitch(rows)
    # Rows are two to three label heights apart: more means rows the OCR missed.
    if pitch is None or pitch > 3.5 * median(h.height for h in rows):
        return None
    label = layout.label_words
    typed = [w for w in layout.page.words if id(w) not in label]
    amounts = _amounts(layout, rows, typed)
    ins = _insurer_table(layout, pitch)
    frac, step = _fraction(amounts, rows, pitch), pitch
    if frac is None and ins is not None:
        frac, step = _insurer_fraction(ins, typed), ins.step
    if frac is None:
        return None

    def score(dy: float) -> float:
        return _score(dy, layout, rows, amounts, typed, pitch, ins)

    scored = [(score(frac + k * step), -abs(k), frac + k * step) for k in (0, -1, 1)]
    best, _, dy = max(scored)
    if abs(dy) < MIN_SHIFT * pitch:
        return None
    # Moving the values a row or more must make the page make clearly more sense than
    # leaving them (a fax whose limit labels OCR misread gives a wrong pitch and a shift that
    # fits nothing better); a shift within the row needs amounts that agree on it.
    if abs(dy) > 0.5 * step:
        if best < score(0.0) + MIN_GAIN:
            return None
    elif not _agreed(amounts, rows, pitch, frac):
        return None
    dx = _dx(layout, typed)
    return Offset(dx=dx, dy=dy, pitch=pitch)


def _printed_bands(layout: PageLayout) -> list[tuple[float, float, float, float]]:
    """Regions only the form prints into: the notice under the title, the one under
    COVERAGES, the cancellation clause and the footer.  Their words, not all matched as
    labels, stay where they are."""
    page = layout.page
    out = []

    def top_of(*lids: str) -> float | None:
        ys = [h.y0 for lid in lids for h in layout.all(lid) if h.standalone]
        return min(ys) if ys else None

    # The notice ends where the first box's title is (PRODUCER, else the titles level
    # with it or below it, should a typed value have garbled PRODUCER).
    title = layout.anchor("TITLE")
    producer = top_of("PRODUCER", "CONTACT", "INSURERS_HEADER", "NAIC", "INSURER_A", "INSURED")
    if title is not None and producer is not None and producer > title.y1:
        out.append((0.0, title.y1 + 0.5 * title.height, page.width, producer - 4))
    cov, head = layout.anchor("COVERAGES"), top_of("H_INSR", "H_TYPE", "H_POLNUM", "H_LIMITS")
    if cov is not None and head is not None and head > cov.y1:
        out.append((0.0, cov.y1 + 4, page.width, head - 4))
    canc = layout.anchor("CANCELLATION", alone=True)
    if canc is not None:
        out.append((canc.x0 - 4, canc.y0 - 4, page.width, page.height))
    foot = top_of("COPYRIGHT", "FORM_ACORD25")
    if foot is not None and foot > page.height / 2:
        out.append((0.0, foot - 4, page.width, page.height))
    return out


def _crosses(w: Word, hrules: list[Rule]) -> bool:
    """A horizontal rule runs through the word (not just along its edge)."""
    return any(r.x0 < w.cx < r.x1 and w.y0 + 0.2 * w.height < r.y0 < w.y1 - 0.2 * w.height
               for r in hrules)


# A typed word a ruled line runs through lost the strokes the line covered ("1,000,000"
# read "1,UUU,UUU"): its OCR confidence overstates it.
CROSSED_FACTOR = 0.7


def shift_typed(layout: PageLayout, off: Offset) -> PageContent:
    """The page with every word but the form's own printing moved back by the offset."""
    page = layout.page
    dx, dy = round(off.dx), round(off.dy)
    # A label phrase in running text ("certificate holder" in a typed description) is
    # typed; the notices' running text is in the printed bands.
    fixed = {id(w) for hs in layout.hits.values() for h in hs if h.standalone for w in h.words}
    bands = _printed_bands(layout)
    hrules = layout.hrules

    def back(w: Word) -> Word:
        if id(w) in fixed or any(x0 <= w.cx <= x1 and y0 <= w.cy <= y1
                                 for x0, y0, x1, y1 in bands):
            return w
        x0, y0, x1, y1 = w.bbox
        conf = w.conf * CROSSED_FACTOR if _crosses(w, hrules) else w.conf
        return replace(w, bbox=(x0 - dx, y0 - dy, x1 - dx, y1 - dy), conf=round(conf, 3))

    return replace(page, words=[back(w) for w in page.words], typed_offset=(dx, dy))
