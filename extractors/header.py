"""The top of the ACORD 25: date, producer and its contact, insurers, insured; and the bottom:
description of operations and certificate holder.

Boxes are located from their printed labels: the producer box runs from "PRODUCER" down to
"INSURED", left of the column where "CONTACT"/"INSURER A" are printed, and so on.
"""

from __future__ import annotations

from extractors import normalize as nz
from extractors.fields import Collector, join_words, region_lines, same_row
from extractors.layout import LabelHit, PageLayout
from pipeline.types import Word

LETTERS = "ABCDEF"


def right_column_x(layout: PageLayout) -> float | None:
    """Left edge of the right-hand column (contact details, insurers)."""
    xs = [h.x0 for lid in ("CONTACT", "INSURERS_HEADER", "INSURER_A", "INSURER_B", "PHONE",
                           "EMAIL") for h in layout.all(lid)]
    if not xs:
        return None
    x = min(xs)
    # Snap to the ruled line just left of the labels, when there is one.
    near = [r.x0 for r in layout.vrules if x - 60 <= r.x0 <= x + 5]
    return max(near) if near else x - 10


def _below(hit: LabelHit | None, layout: PageLayout, lid: str) -> LabelHit | None:
    """The first hit of ``lid`` below ``hit``."""
    y = hit.y1 if hit else 0
    for h in layout.all(lid):
        if h.y0 >= y - 2:
            return h
    return None


def _value_right(layout: PageLayout, label: LabelHit, x_end: float) -> list[Word]:
    ex = {id(w) for w in label.words}
    cand = [w for w in layout.page.words if w.x0 >= label.x1 - 2 and w.x1 <= x_end + 5
            and id(w) not in ex]
    return sorted(same_row(cand, label), key=lambda w: w.x0)


def _party(col: Collector, prefix: str, lines: list[list[Word]], *, with_address: bool = True,
           structure: float = 1.0) -> None:
    if not lines:
        return
    col.add(f"{prefix}.name", lines[0], nz.parse_text, structure=structure)
    if with_address and len(lines) > 1:
        words = [w for line in lines[1:] for w in line]
        text = ", ".join(join_words(line) for line in lines[1:])
        col.add(f"{prefix}.address", words, nz.parse_text, text=text, structure=structure)


def read_header(layout: PageLayout, col: Collector) -> None:
    page = layout.page
    split = right_column_x(layout)
    right = page.width
    producer = layout.first("PRODUCER")
    insured = None
    coverages = layout.first("COVERAGES")
    cov_y = coverages.y0 if coverages else page.height * 0.4

    # Certificate date: the date printed under "DATE (MM/DD/YYYY)".
    date_label = layout.first("DATE")
    if date_label is not None:
        h = date_label.height
        cands = [w for w in layout.words_in(date_label.x0 - 6 * h, date_label.y0,
                                            date_label.x1 + 8 * h, date_label.y1 + 6 * h)
                 if nz.parse_date(w.text)[0]]
        if cands:
            best = min(cands, key=lambda w: abs(w.cy - date_label.cy) + abs(w.cx - date_label.cx))
            col.add("certificate_date", [best], nz.parse_date)

    # INSURED: the label at the start of its box, in the left column, below the producer.
    for h in layout.all("INSURED"):
        if (producer is None or h.y0 > producer.y1) and (split is None or h.x1 < split) \
                and h.y0 < cov_y:
            insured = h
            break

    if producer is not None and split is not None:
        y_end = insured.y0 - 2 if insured else cov_y
        lines = region_lines(layout, 0, producer.y0 - 2, split, y_end,
                             exclude=_ids(producer))
        _party(col, "producer", lines)
    if insured is not None and split is not None:
        lines = region_lines(layout, 0, insured.y0 - 2, split, cov_y - 2, exclude=_ids(insured))
        _party(col, "insured", lines)

    if split is None:
        return
    phone = _in_right(layout, "PHONE", split, cov_y)
    fax = _in_right(layout, "FAX", split, cov_y)
    contact = _in_right(layout, "CONTACT", split, cov_y)
    email = _in_right(layout, "EMAIL", split, cov_y)
    if contact is not None:
        words = _value_right(layout, contact, right)
        col.add("producer.contact", words, nz.parse_text)
    if phone is not None:
        end = fax.x0 if fax is not None and abs(fax.cy - phone.cy) < phone.height else right
        col.add("producer.phone", _value_right(layout, phone, end), nz.parse_phone)
    if fax is not None:
        col.add("producer.fax", _value_right(layout, fax, right), nz.parse_phone)
    if email is not None:
        col.add("producer.email", _value_right(layout, email, right), nz.parse_email)
    _insurers(layout, col, split, cov_y)


def _ids(hit: LabelHit) -> set[int]:
    return {id(w) for w in hit.words}


def _in_right(layout: PageLayout, lid: str, split: float, y_max: float) -> LabelHit | None:
    for h in layout.all(lid):
        if h.x0 >= split - 10 and h.y1 < y_max:
            return h
    return None


def _insurers(layout: PageLayout, col: Collector, split: float, y_max: float) -> None:
    naic = _in_right(layout, "NAIC", split, y_max)
    right = layout.page.width
    naic_x = naic.x0 - naic.height if naic else None
    if naic is not None:
        near = [r.x0 for r in layout.vrules if naic.x0 - 80 <= r.x0 <= naic.x0 + 2]
        if near:
            naic_x = max(near)
    for letter in LETTERS:
        hit = _in_right(layout, f"INSURER_{letter}", split, y_max)
        if hit is None:
            continue
        words = _value_right(layout, hit, right)
        name_words = [w for w in words if naic_x is None or w.cx < naic_x]
        naic_words = [w for w in words if naic_x is not None and w.cx >= naic_x]
        if naic_x is None and words and nz.parse_naic(words[-1].text)[0]:
            name_words, naic_words = words[:-1], words[-1:]
        structure = 1.0 if hit.edits == 0 else 0.95
        col.add(f"insurers.{letter}.name", name_words, nz.parse_text, structure=structure)
        col.add(f"insurers.{letter}.naic", naic_words, nz.parse_naic, structure=structure)


def read_bottom(layout: PageLayout, col: Collector) -> None:
    """Description of operations and the certificate holder."""
    page = layout.page
    desc = layout.first("DESCRIPTION")
    holder = layout.first("CERT_HOLDER")
    cancel = layout.first("CANCELLATION")
    if desc is not None:
        # The label runs on "(ACORD 101, Additional Remarks Schedule, may be attached ...)";
        # the text starts below the label's row.
        label_row_end = max((w.y1 for w in same_row(layout.page.words, desc)), default=desc.y1)
        y_end = holder.y0 - 4 if holder else page.height
        lines = region_lines(layout, 0, label_row_end + 1, page.width, y_end, exclude=set())
        if lines:
            words = [w for line in lines for w in line]
            text = " ".join(join_words(line) for line in lines)
            col.add("description_of_operations", words, nz.parse_text, text=text)
    if holder is not None:
        x_end = cancel.x0 - 5 if cancel and cancel.x0 > holder.x1 else page.width * 0.55
        foot = [h.y0 for lid in ("COPYRIGHT", "FORM_ACORD25") for h in layout.all(lid)
                if h.y0 > holder.y1]
        y_end = min(foot) - 2 if foot else page.height
        lines = region_lines(layout, 0, holder.y0 - 2, x_end, y_end, exclude=_ids(holder))
        _party(col, "certificate_holder", lines)
