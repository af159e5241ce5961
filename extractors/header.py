"""The top of the ACORD 25: date, producer and its contact, insurers, insured; and the bottom:
description of operations and certificate holder.

Boxes are located from their printed labels (the skeleton): the producer box runs from
"PRODUCER" down to "INSURED", left of the column where "CONTACT"/"INSURER A" are printed.
"""

from __future__ import annotations

from extractors import normalize as nz
from extractors.fields import Collector, join_words, region_lines, same_row
from extractors.layout import LabelHit, PageLayout, group_rows
from extractors.patterns import norm
from extractors.skeleton import Skeleton, snap_left
from pipeline.types import Word


def _ids(hit: LabelHit) -> set[int]:
    return {id(w) for w in hit.words}


def _value_right(layout: PageLayout, label: LabelHit, x_end: float) -> list[Word]:
    """Words printed after a label on its row, up to x_end."""
    ex = _ids(label)
    # Where the label's last word ends: OCR sometimes gives an earlier word of the label a
    # box stretching over the value ("CONTACT" reaching across "Michael").
    end = max(label.words, key=lambda w: w.x0).x1
    cand = [w for w in layout.page.words if w.x0 >= end - 2 and w.x1 <= x_end + 5
            and id(w) not in ex]
    near = same_row(cand, label, slack=0.9)
    if not near:
        return []
    # The value's own line, by its own font: a small label and a large typed value do not
    # share a center line, and a word without ascenders sits lower than its neighbours.
    rows = group_rows(near)
    return min(rows, key=lambda r: abs(sum(w.cy for w in r) / len(r) - label.cy))


def _from_digits(words: list[Word]) -> list[Word]:
    """A phone number starts at its first digit; before it are the label's "(A/C, No, Ext):"
    remnants, whose letters would read as digits."""
    for i, w in enumerate(words):
        if any(c.isdigit() for c in w.text):
            return words[i:]
    return []


def _party(col: Collector, prefix: str, lines: list[list[Word]]) -> None:
    """First line the name, the rest the address (lines joined with ", ")."""
    lines = [ln for ln in lines if nz.clean_text(join_words(ln))]
    if not lines:
        return
    col.add(f"{prefix}.name", lines[0], nz.parse_text)
    if len(lines) > 1:
        words = [w for line in lines[1:] for w in line]
        text = ", ".join(nz.clean_text(join_words(line)) for line in lines[1:])
        col.add(f"{prefix}.address", words, nz.parse_address, text=text)


def read_header(layout: PageLayout, sk: Skeleton, col: Collector) -> None:
    page = layout.page
    if sk.date is not None:
        d = sk.date
        h = d.height
        cands = [w for w in layout.words_in(d.x0 - 6 * h, d.y0, d.x1 + 8 * h, d.y1 + 6 * h)
                 if nz.parse_date(w.text)[0]]
        if cands:
            best = min(cands, key=lambda w: abs(w.cy - d.cy) + abs(w.cx - d.cx))
            col.add("certificate_date", [best], nz.parse_date)
    if sk.split_x is None:
        return
    if sk.producer is not None:
        y_end = sk.insured.y0 - 2 if sk.insured else sk.top_end
        lines = region_lines(layout, 0, sk.producer.y0 - 2, sk.split_x, y_end,
                             exclude=_ids(sk.producer))
        _party(col, "producer", lines)
    if sk.insured is not None:
        lines = region_lines(layout, 0, sk.insured.y0 - 2, sk.split_x, sk.top_end,
                             exclude=_ids(sk.insured))
        _party(col, "insured", lines)
    r = sk.right
    right = page.width
    if "CONTACT" in r:
        col.add("producer.contact", _contact_words(layout, r["CONTACT"], right), nz.parse_text)
    if "PHONE" in r:
        fax = r.get("FAX")
        end = fax.x0 if fax is not None and abs(fax.cy - r["PHONE"].cy) < r["PHONE"].height \
            else right
        col.add("producer.phone", _from_digits(_value_right(layout, r["PHONE"], end)),
                nz.parse_phone)
    if "FAX" in r:
        col.add("producer.fax", _from_digits(_value_right(layout, r["FAX"], right)),
                nz.parse_phone)
    if "EMAIL" in r:
        col.add("producer.email", _value_right(layout, r["EMAIL"], right), nz.parse_email)
    _insurers(layout, sk, col)


def _contact_words(layout: PageLayout, contact: LabelHit, right: float) -> list[Word]:
    words = _value_right(layout, contact, right)
    if words:
        return words
    # "CONTACT" above "NAME:" (two-line label): the value follows "NAME:" on its row.
    names = [w for w in layout.page.words
             if contact.y1 - 2 < w.cy < contact.y1 + 1.6 * contact.height
             and abs(w.x0 - contact.x0) < contact.height and norm(w.text) == "name"]
    if not names:
        return []
    name = names[0]
    return sorted((w for w in same_row(layout.page.words, name)
                   if w.x0 > name.x1 and w.x1 <= right), key=lambda w: w.x0)


def _insurers(layout: PageLayout, sk: Skeleton, col: Collector) -> None:
    right = layout.page.width
    naic_x = None
    if sk.naic is not None:
        near = [r.x0 for r in layout.vrules if sk.naic.x0 - 80 <= r.x0 <= sk.naic.x0 + 2]
        naic_x = max(near) if near else sk.naic.x0 - sk.naic.height
    for letter, hit in sk.insurers.items():
        words = [w for w in _value_right(layout, hit, right) if w.text not in (":", "|")]
        name_words = [w for w in words if naic_x is None or w.cx < naic_x]
        naic_words = [w for w in words if naic_x is not None and w.cx >= naic_x]
        if naic_x is None and words and nz.parse_naic(words[-1].text)[0]:
            name_words, naic_words = words[:-1], words[-1:]
        structure = 1.0 if hit.edits == 0 else 0.95
        col.add(f"insurers.{letter}.name", name_words, nz.parse_text, structure=structure)
        col.add(f"insurers.{letter}.naic", naic_words, nz.parse_naic, structure=structure)


def read_bottom(layout: PageLayout, sk: Skeleton, col: Collector) -> None:
    """Description of operations and the certificate holder."""
    page = layout.page
    desc, holder, cancel = sk.description, sk.holder, sk.cancellation
    if desc is not None:
        # The label runs on "(ACORD 101, Additional Remarks Schedule, may be attached ...)";
        # the text starts below the label's row.
        label_row_end = max((w.y1 for w in same_row(page.words, desc)), default=desc.y1)
        y_end = holder.y0 - 4 if holder else page.height
        lines = region_lines(layout, 0, label_row_end + 1, page.width, y_end, exclude=set())
        if lines:
            words = [w for line in lines for w in line]
            text = " ".join(join_words(line) for line in lines)
            col.add("description_of_operations", words, nz.parse_text, text=text)
    if holder is not None:
        x_end = cancel.x0 - 5 if cancel and cancel.x0 > holder.x1 else page.width * 0.55
        if cancel is not None:
            x_end = min(x_end, snap_left(layout, cancel.x0))
        y_end = sk.foot_y - 2 if sk.foot_y else page.height
        lines = region_lines(layout, 0, holder.y0 - 2, x_end, y_end, exclude=_ids(holder))
        _party(col, "certificate_holder", lines)

