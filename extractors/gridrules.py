"""The coverage grid read from its ruled lines when OCR garbled its printed labels.

Every edition of the ACORD 25 prints the same grid: the same columns left to right, the
same lines of business top to bottom (general liability, automobile, umbrella/excess,
workers compensation, then free rows), each with the same limit rows in the same order.
Agency systems change widths, heights, fonts and offsets, never that order.  So when a fax
leaves a header or a limit label unreadable, the ruled cells still say which column, which
section and which limit a value is in.  These readings only ever fill in what the labels did
not give, and only where the labels that were read agree with them.
"""

from __future__ import annotations

from collections.abc import Sequence

from extractors.layout import LabelHit, PageLayout
from pipeline.types import BBox, CheckBox

# The grid's header columns, left to right (LIMITS is one cell in the header row; its
# label/amount rule starts below it).  Only the current editions' eight are named by their
# place between rules: the 2009/09 form's seven (no SUBR WVD) are also the eight with one
# rule lost, and named by the older order they shifted a fax's flags into the wrong
# columns, accepted.
HEADERS = ("H_INSR", "H_TYPE", "H_ADDL", "H_SUBR", "H_POLNUM", "H_EFF", "H_EXP", "H_LIMITS")

# Each section's limit rows, top to bottom, as the form prints them (None: a row with no
# limit of the spec: GL's "OTHER" row, auto's spare row, umbrella's DED/RETENTION row, the
# PER STATUTE / OTHER boxes of workers compensation).
LIMIT_ROWS: dict[str, tuple[str | None, ...]] = {
    "gl": ("each_occurrence", "damage_to_rented_premises", "medical_expense",
           "personal_advertising_injury", "general_aggregate",
           "products_completed_operations_aggregate", None),
    "auto": ("combined_single_limit", "bodily_injury_per_person", "bodily_injury_per_accident",
             "property_damage", None),
    "umbrella": ("each_occurrence", "aggregate", None),
    "wc": (None, "el_each_accident", "el_disease_each_employee", "el_disease_policy_limit"),
}
SECTION_ORDER = ("gl", "auto", "umbrella", "wc")


def long_rule_ys(layout: PageLayout) -> list[float]:
    """y of the horizontal rules across more than half the page, top to bottom.  A fax
    breaks a rule into pieces (a thin stretch lost in its 1-bit decision, a dropped scan
    line): pieces level with each other (within 4 px) count together, and pieces that
    reach from side to side (over 0.8 of the page) and cover a third of it are one rule.  The header
    row's top rule in two pieces had put the coverages disclaimer into the header row and lost
    the expiration column."""
    ys: list[float] = []
    width = layout.page.width
    pieces = sorted(layout.hrules, key=lambda r: r.y0)
    i = 0
    while i < len(pieces):
        j = i + 1
        while j < len(pieces) and pieces[j].y0 - pieces[j - 1].y0 <= 4:
            j += 1
        group = sorted(pieces[i:j], key=lambda r: r.x0)
        cover, end = 0.0, -1e9
        for r in group:
            cover += max(0.0, r.x1 - max(r.x0, end))
            end = max(end, r.x1)
        span = max(r.x1 for r in group) - group[0].x0
        if cover > 0.5 * width or span > 0.8 * width and cover > 0.3 * width:
            ys.append(max(group, key=lambda r: r.x1 - r.x0).y0)
        i = j
    return ys


def vrule_xs(layout: PageLayout, y0: float, y1: float) -> list[float]:
    """x of vertical rules crossing the band [y0, y1], merged when within a few pixels."""
    xs = sorted(r.x0 for r in layout.vrules if r.y0 <= y0 + 5 and r.y1 >= y1 - 5)
    merged: list[float] = []
    for x in xs:
        if merged and x - merged[-1] < 12:
            continue
        merged.append(x)
    return merged


def columns_by_rules(xs: Sequence[float], heads: dict[str, BBox], *, min_agree: int = 3
                     ) -> dict[str, tuple[float, float]] | None:
    """Columns named by their place between the header row's vertical rules ``xs``.

    Used when the count of ruled cells is the form's column count and the headers OCR
    did read sit in their own cells (``min_agree`` of them, at most one elsewhere: a fax
    read "TYPE OF INSURANCE" as "INST RAN" and took it for INSR).
    """
    # A line outside the grid crossing the header row too (a photo's page edge, a fax's
    # streak) is one rule too many at either end.
    for cut in (xs, xs[1:], xs[:-1]):
        spans = list(zip(cut, cut[1:], strict=False))
        if len(spans) == len(HEADERS):
            cols = dict(zip(HEADERS, spans, strict=True))
            if headers_agree(cols, heads, min_agree):
                return cols
    return None


def headers_agree(cols: dict[str, tuple[float, float]], heads: dict[str, BBox],
                  min_agree: int = 3) -> bool:
    """At least ``min_agree`` of the headers read sit in their columns, at most one not."""
    agree = 0
    for lid, (x0, _, x1, _) in heads.items():
        if lid in cols:
            a, b = cols[lid]
            agree += a <= (x0 + x1) / 2 <= b
    return agree >= min_agree and len(heads) - agree <= 1


def section_columns(xs: Sequence[float]) -> dict[str, tuple[float, float]] | None:
    """Columns of a section band from its vertical rules alone: the current edition's
    columns with LIMITS cut in two by the rule between labels and amounts."""
    spans = list(zip(xs, xs[1:], strict=False))
    if len(spans) != len(HEADERS) + 1:
        return None
    cols = dict(zip(HEADERS, spans, strict=False))
    cols["H_LIMITS"] = (xs[-3], xs[-1])
    return cols


def limit_divider(layout: PageLayout, lim: tuple[float, float], y0: float, y1: float
                  ) -> float | None:
    """The vertical rule parting limit labels from their "$ amount" cells."""
    x0, x1 = lim
    xs = [r.x0 for r in layout.vrules
          if x0 + 20 < r.x0 < x1 - 20 and r.y0 <= y0 + 10 and r.y1 >= y1 - 10]
    return min(xs) if xs else None


def limit_rows(layout: PageLayout, lim: tuple[float, float], y0: float, y1: float
               ) -> list[tuple[float, float]]:
    """The ruled rows of the limits column between y0 and y1 (the band's own edges count)."""
    x0, x1 = lim
    ys = sorted(r.y0 for r in layout.hrules
                if min(r.x1, x1) - max(r.x0, x0) > 0.6 * (x1 - x0) and y0 + 8 < r.y0 < y1 - 8)
    cuts = [y0]
    for y in ys:
        if y - cuts[-1] > 12:
            cuts.append(y)
    if y1 - cuts[-1] <= 12:
        cuts.pop()
    cuts.append(y1)
    return list(zip(cuts, cuts[1:], strict=False))


def kinds_by_form_order(kinds: list[str], rows: list[int]) -> list[str]:
    """Name the bands whose labels were too garbled to vote ("other") by the form's order
    and their count of limit rows: after AUTO, a band of three limit rows is UMBRELLA, of
    four WC.  ``kinds`` are the voted kinds of consecutive bands, ``rows`` their limit rows.
    A band keeps "other" unless exactly one kind fits between its neighbours."""
    out = list(kinds)
    last = -1
    for i, kind in enumerate(out):
        if kind in SECTION_ORDER:
            last = max(last, SECTION_ORDER.index(kind))
            continue
        later = [SECTION_ORDER.index(k) for k in out[i + 1:] if k in SECTION_ORDER]
        nxt = min(later, default=len(SECTION_ORDER))
        fits = [SECTION_ORDER[k] for k in range(last + 1, nxt)
                if len(LIMIT_ROWS[SECTION_ORDER[k]]) == rows[i]]
        if len(fits) == 1 and rows[i] >= 3:
            out[i] = fits[0]
            last = SECTION_ORDER.index(fits[0])
    return out


# Each section's check boxes in a column (TYPE OF INSURANCE, or LIMITS for workers
# compensation's PER STATUTE / OTH-ER), row by row, left to right, as the current edition
# prints them (their option labels' ids).
BOX_ROWS: dict[tuple[str, str], tuple[tuple[str, ...], ...]] = {
    ("gl", "H_TYPE"): (("GL",), ("CLAIMS_MADE", "OCCUR"),
                       ("OPT_POLICY", "OPT_PROJECT", "OPT_LOC"), ("GL_OTHER",)),
    ("auto", "H_TYPE"): (("ANY_AUTO",), ("OWNED_AUTOS", "SCHEDULED_AUTOS"),
                         ("HIRED_AUTOS", "NON_OWNED_AUTOS")),
    ("umbrella", "H_TYPE"): (("UMBRELLA", "OCCUR"), ("EXCESS", "CLAIMS_MADE"),
                             ("DED", "RETENTION")),
    ("wc", "H_LIMITS"): (("PER_STATUTE", "OTH_ER"),),
}


def _cy(b: CheckBox) -> float:
    return (b.bbox[1] + b.bbox[3]) / 2


def box_rows(boxes: list[CheckBox]) -> list[list[CheckBox]]:
    """Boxes in rows (centres level within half a box), top to bottom, left to right."""
    rows: list[list[CheckBox]] = []
    for b in sorted(boxes, key=_cy):
        h = b.bbox[3] - b.bbox[1]
        if rows and abs(_cy(rows[-1][0]) - _cy(b)) < 0.5 * h:
            rows[-1].append(b)
        else:
            rows.append([b])
    return [sorted(r, key=lambda b: b.bbox[0]) for r in rows]


def _beside(box: CheckBox, hit: LabelHit) -> bool:
    """The label starts just right of the box, its first line level with it."""
    h = hit.height
    bx0, by0, bx1, by1 = box.bbox
    return hit.x0 - 2.5 * h <= bx1 <= hit.x0 + 0.3 * h and by0 - 0.6 * h <= hit.y0 <= by1


def option_slots(layout: PageLayout, kind: str, col: str, cell: BBox) -> dict[str, CheckBox]:
    """The option boxes of a section's column ``col`` (``cell``) by their place in the form,
    for options whose labels OCR garbled past matching ("(x(UR" for OCCUR).  Empty unless
    the boxes make exactly the form's rows and most option labels read are beside their
    own boxes."""
    template = BOX_ROWS.get((kind, col))
    if template is None:
        return {}
    x0, y0, x1, y1 = cell
    boxes = [b for b in layout.page.boxes
             if x0 <= b.bbox[0] and b.bbox[2] <= x1 and y0 <= _cy(b) <= y1]
    rows = box_rows(boxes)
    if [len(r) for r in rows] != [len(t) for t in template]:
        return {}
    slots = {lid: b for row, lids in zip(rows, template, strict=True)
             for b, lid in zip(row, lids, strict=True)}
    agree = disagree = 0
    for lid, b in slots.items():
        hits = [h for h in layout.all(lid) if y0 <= h.cy <= y1 and x0 - 5 <= h.cx <= x1 + 5]
        if hits:
            ok = any(_beside(b, h) for h in hits)
            agree, disagree = agree + ok, disagree + (not ok)
    # Most labels read beside their own boxes: the rows are the form's, and a label read
    # beside another option's box is a misreading ("WNED", NON-OWNED's tail, for OWNED).
    return slots if disagree == 0 or agree >= 2 * disagree else {}


def beside_own(slots: dict[str, CheckBox], lid: str, hit: LabelHit) -> bool:
    """Whether a label hit sits beside its option's box (True when there are no slots)."""
    return lid not in slots or _beside(slots[lid], hit)
