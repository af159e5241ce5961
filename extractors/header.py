"""The top of the ACORD 25: date, producer and its contact, insurers, insured; and the bottom:
description of operations and certificate holder.

Boxes are located from their printed labels (the skeleton): the producer box runs from
"PRODUCER" down to "INSURED", left of the column where "CONTACT"/"INSURER A" are printed.
"""

from __future__ import annotations

import re

from extractors import normalize as nz
from extractors.emails import email_text, glued, touched
from extractors.fields import Collector, date_words, drop_scrawl, join_words, region_lines, same_row
from extractors.layout import PLACE_EDITS, LabelHit, PageLayout, group_rows
from extractors.patterns import norm
from extractors.skeleton import Skeleton, snap_left
from pipeline.periods import closing_stop
from pipeline.types import Word


def _ids(hit: LabelHit) -> set[int]:
    return {id(w) for w in hit.words}


def _value_right(layout: PageLayout, label: LabelHit, x_end: float,
                 digits: bool = False) -> list[Word]:
    """Words printed after a label on its row, up to x_end (with ``digits``, the line with
    a digit in it: a garbled "FAX" label level with "PHONE" is no phone number)."""
    ex = _ids(label)
    # Where the label's last word ends: OCR sometimes gives an earlier word of the label a
    # box stretching over the value ("CONTACT" reaching across "Michael").
    last = max(label.words, key=lambda w: w.x0)
    end = last.x1
    # ... and the label's own last box over the value's first word ("INSURERA:" reaching
    # across "The" of "The Travelers ...", accepted without it): a word in the box's second
    # half, taller than the label (not a box OCR stretched over rows) and reaching past it,
    # is typed.
    cand = [w for w in layout.page.words if w.x1 <= x_end + 5 and id(w) not in ex and (
        w.x0 >= end - 2 or (w.x0 > (last.x0 + end) / 2 and w.x1 > end
                            and 1.3 * label.height <= w.height <= 2.5 * label.height))]
    near = same_row(cand, label, slack=0.9)
    if not near:
        return []
    # The value's own line, by its own font: a small label and a large typed value do not
    # share a center line, and a word without ascenders sits lower than its neighbours.
    rows = group_rows(near)
    if digits:
        rows = [r for r in rows if any(c.isdigit() for w in r for c in w.text)] or rows
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
    col.add(f"{prefix}.name", lines[0], nz.parse_name)
    if len(lines) > 1:
        words = [w for line in lines[1:] for w in line]
        text = ", ".join(nz.clean_text(join_words(line)) for line in lines[1:])
        col.add(f"{prefix}.address", words, nz.parse_address, text=text)


def read_header(layout: PageLayout, sk: Skeleton, col: Collector) -> None:
    page = layout.page
    if sk.date is not None:
        d = sk.date
        h = d.height
        region = layout.words_in(d.x0 - 6 * h, d.y0, d.x1 + 8 * h, d.y1 + 6 * h)
        cands = [w for w in region if nz.parse_date(w.text)[0]]
        if cands:
            best = min(cands, key=lambda w: abs(w.cy - d.cy) + abs(w.cx - d.cx))
            col.add("certificate_date", [best], nz.parse_date)
        elif run := date_words(region, nz.parse_date):
            col.add("certificate_date", run, nz.parse_date)  # a fax split it ("05 19/26")
    elif (title := layout.first("TITLE")) is not None:
        # "DATE (MM/DD/YYYY)" unread (a fax's 6-point label): the form prints the date box
        # right of the title, level with it or just below (never the fax header line,
        # which carries the date the fax was sent).
        h = title.height
        region = [w for w in layout.words_in(title.cx, title.y0 - h, page.width, title.y1 + 2 * h)
                  if w.x0 > title.x1 - h]
        if run := date_words(region, nz.parse_date):
            col.add("certificate_date", run, nz.parse_date, structure=0.9)
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
        words = _contact_words(layout, r["CONTACT"], right)
        if all(norm(w.text) in _CONTACT_LABEL_WORDS for w in words):
            words = []  # an empty cell: what follows the label is the next label ("FAX")
        col.add("producer.contact", words, nz.parse_contact)
    if "PHONE" in r:
        fax = r.get("FAX")
        end = fax.x0 if fax is not None and abs(fax.cy - r["PHONE"].cy) < r["PHONE"].height \
            else right
        words = _value_right(layout, r["PHONE"], end, digits=True)
        value = _from_digits(words)
        label = words[:len(words) - len(value)]
        numbers = _phones(value) if fax is None else []
        if len(numbers) >= 2:
            # "FAX" garbled between two numbers ("li 'AX"): the first is the phone, the
            # second the fax, found by its shape.
            col.add("producer.phone", numbers[0], nz.parse_phone)
            _by_shape(col, col.add("producer.fax", numbers[1], nz.parse_phone,
                                   structure=BY_SHAPE))
        elif fax is None and _second_label(r["PHONE"], label):
            # The phone cell is empty and OCR missed "FAX" ("|PAX (A/C, No):"): the number
            # after that label is the fax.
            _by_shape(col, col.add("producer.fax", value, nz.parse_phone, structure=BY_SHAPE))
        else:
            col.add("producer.phone", value, nz.parse_phone)
    if "FAX" in r:
        col.add("producer.fax", _from_digits(_value_right(layout, r["FAX"], right,
                                                          digits=True)), nz.parse_phone)
    if "EMAIL" in r:
        words = _value_right(layout, r["EMAIL"], right)
        at = [k for k, w in enumerate(words) if "@" in w.text]
        if at:
            # The label can end inside the address when OCR split it ("tanya" ".murphy@").
            row = sorted(same_row(layout.page.words, words[at[0]]), key=lambda w: w.x0)
            words = glued(row, next(k for k, w in enumerate(row) if w is words[at[0]]),
                           r["EMAIL"].x0)
        if words:
            text, fit = email_text(words)
            f = col.add("producer.email", words, nz.parse_email, text=text, structure=fit)
            if f is not None and fit < 1:
                f.notes.append("a dot OCR dropped put back")
            if f is not None and touched(layout, words, r["EMAIL"]):
                # "erts@..." where "certs@..." is printed: its "c" read as "©!" and left.
                f.confidence = round(f.confidence * 0.6, 4)
                f.notes.append("printing touching its start was not read")
    _contact_by_shape(layout, sk, col)
    _insurers(layout, sk, col)


def _second_label(phone: LabelHit, remnants: list[Word]) -> bool:
    """Whether the words between the PHONE label and the number include another label,
    after a gap: "PHONE (A/C, No, Ext):" ends where the phone's (empty) cell begins."""
    prev = max(w.x1 for w in phone.words)
    for w in remnants:
        if w.x0 - prev > 3 * phone.height and any(c.isalpha() for c in w.text):
            return True
        prev = w.x1
    return False


# Values found by their own shape rather than after their label are less sure: in review
# unless the OCR was excellent.
BY_SHAPE = 0.85


_CONTACT_LABEL_WORDS = frozenset(
    "contact name names phone fax email mail address ac no ext".split())


def _by_shape(col: Collector, f) -> None:
    if f is not None:
        # A note keeps it from being lifted by the second read: a value without its label
        # may be a piece of the right one, and a second look at the piece agrees.
        f.notes.append("found by its shape; its label was not read")


def _phones(row: list[Word]) -> list[list[Word]]:
    """Phone numbers in a row of words (one to five words each), left to right."""
    out = []
    i = 0
    while i < len(row):
        n = 0
        if sum(c.isdigit() for c in row[i].text) >= 3:
            # The longest run that parses: "(410) 878-3762 ext. 299".
            n = next((n for n in (5, 4, 3, 2, 1) if i + n <= len(row)
                      and nz.parse_phone(join_words(row[i:i + n]))[1] >= 0.9), 0)
        if n:
            out.append(row[i:i + n])
        i += max(n, 1)
    return out


def _contact_by_shape(layout: PageLayout, sk: Skeleton, col: Collector) -> None:
    """The producer's phone, fax, e-mail and contact when OCR garbled their small labels
    ("CONTACT NAME:" read as "pean"): in the contact box, a phone number has its own shape
    (the first on its row is the phone, a second the fax), an e-mail its "@", and the
    contact is the name on the row above the phone."""
    # Only for values whose label was not found: beside a label that was, an empty cell
    # is empty (and the row above the phone is the "CONTACT NAME:" label itself).
    labels = {"producer.contact": "CONTACT", "producer.phone": "PHONE", "producer.fax": "FAX",
              "producer.email": "EMAIL"}
    wanted = {p for p, lid in labels.items() if lid not in sk.right and p not in col.fields}
    if sk.split_x is None or sk.producer is None or not wanted:
        return
    ends = [h.y0 for h in (sk.right.get("INSURERS_HEADER"), sk.insurers.get("A"), sk.naic)
            if h is not None]
    if not ends:
        return  # no safe bottom for the box
    top, bottom = sk.producer.y0 - sk.producer.height, min(ends)
    rows = group_rows(layout.words_in(sk.split_x, top, layout.page.width, bottom))
    if "producer.email" in wanted:
        mails = [glued(row, k, sk.split_x) for row in rows for k, w in enumerate(row)
                 if "@" in w.text]
        if len(mails) == 1 and nz.parse_email(join_words(mails[0]))[1] == 1.0:
            _by_shape(col, col.add("producer.email", mails[0], nz.parse_email,
                                   structure=BY_SHAPE))
    for i, row in enumerate(rows):
        phones = _phones(row)
        if not phones:
            continue
        for path, words in zip(("producer.phone", "producer.fax"), phones, strict=False):
            if path in wanted:
                _by_shape(col, col.add(path, words, nz.parse_phone, structure=BY_SHAPE))
        if "producer.contact" in wanted:
            # The row above, or one a little higher when the phone's two-line label and the
            # fax label left rows of their own ("PHONE" over "(A/C, No, Ext):").
            h = phones[0][0].y1 - phones[0][0].y0
            for above in rows[:i][::-1]:
                if phones[0][0].y0 - max(w.y1 for w in above) > 2.5 * h:
                    break
                name = _name_words(above)
                if name:
                    _by_shape(col, col.add("producer.contact", name, nz.parse_contact,
                                           structure=BY_SHAPE * 0.9))
                    break
        break


def _name_words(row: list[Word]) -> list[Word] | None:
    """A person's name ending a row: its trailing run of capitalised words, two at least,
    none of them a label word ("FAX") -- the value, not the label's remnants ("ame.")."""
    start = len(row)
    while start and _NAME_WORD.fullmatch(row[start - 1].text) \
            and norm(row[start - 1].text) not in _CONTACT_LABEL_WORDS:
        start -= 1
    # A capitals word read at next to no confidence first is the garbled label run
    # together ("CONLMCENANY" for "CONTACT NAME:", at 0.0), not the name's.
    while start < len(row) and _label_wreck(row[start], longest=None):
        start += 1
    return row[start:] if len(row) - start >= 2 else None


_NAME_WORD = re.compile(r"[A-Z][A-Za-z.'\-]*,?")


def _label_wreck(w: Word, longest: int | None = 5) -> bool:
    """A (short) capitals word read at next to no confidence: a label's wreck, not a value."""
    return w.conf < 0.1 and w.text.isupper() and (longest is None or len(w.text) <= longest)


def _contact_words(layout: PageLayout, contact: LabelHit, right: float) -> list[Word]:
    words = _value_right(layout, contact, right)
    # The rest of the label when OCR did not match it whole ("CONTACT NAMES: Laura"), or
    # garbled past recognition: a short word read at next to no confidence before the
    # name ("ENA" and "NANMY" for NAME, at 0.0, then "Thomas Ramirez" at 0.9).
    while words and (norm(words[0].text) in ("name", "names") or _label_wreck(words[0])):
        words = words[1:]
    if words:
        return words
    # "CONTACT" above "NAME:" (two-line label): the value follows "NAME:" on its row.
    names = [w for w in layout.page.words
             if contact.y1 - 2 < w.cy < contact.y1 + 1.6 * contact.height
             and abs(w.x0 - contact.x0) < contact.height and norm(w.text) in ("name", "names")]
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
    used: set[int] = set()
    for letter, hit in sorted(sk.insurers.items()):
        # A word as tall as two rows is OCR's box around pieces of both (an "Association"
        # of insurer C's long name seen again on D's row); one a row above took is its
        # ("Company" of D's name read again as insurer E, accepted).
        words = [w for w in _value_right(layout, hit, right) if w.text not in (":", "|")
                 and w.height <= 2.5 * hit.height and id(w) not in used]
        used.update(id(w) for w in words)
        name_words = [w for w in words if naic_x is None or w.cx < naic_x]
        naic_words = [w for w in words if naic_x is not None and w.cx >= naic_x]
        if naic_x is None and words and nz.parse_naic(words[-1].text)[0]:
            name_words, naic_words = words[:-1], words[-1:]
        # A label read exactly, read with a misspelling, or not read: its row by its place.
        structure = 1.0 if hit.edits == 0 else 0.9 if hit.edits == PLACE_EDITS else 0.95
        col.add(f"insurers.{letter}.name", name_words, nz.parse_insurer_name,
                structure=structure)
        col.add(f"insurers.{letter}.naic", naic_words, nz.parse_naic, structure=structure)


# "DESCRIPTION OF OPERATIONS / LOCATIONS / VEHICLES (ACORD 101, Additional Remarks
# Schedule, may be attached if more space is required)"
_DESC_LABEL_WORDS = frozenset(
    "description of operations locations vehicles acord 101 additional remarks schedule "
    "may be attached if more space is required".split()) | {""}


def read_bottom(layout: PageLayout, sk: Skeleton, col: Collector) -> None:
    """Description of operations and the certificate holder."""
    page = layout.page
    desc, holder, cancel = sk.description, sk.holder, sk.cancellation
    if desc is not None:
        # The label runs on "(ACORD 101, Additional Remarks Schedule, may be attached ...)";
        # the text starts below the label's row.
        # Not by a word as tall as two lines (OCR's box around a label's word and a piece
        # of the first line below: "MPENSATION" of "COMPENSATION"): that lost the line.
        label_row_end = max((w.y1 for w in same_row(page.words, desc)
                             if w.height <= 1.5 * desc.height), default=desc.y1)
        y_end = holder.y0 - 4 if holder else page.height
        lines = drop_scrawl(region_lines(layout, 0, label_row_end + 1, page.width, y_end,
                                         exclude=set()))
        if lines and all(norm(w.text) in _DESC_LABEL_WORDS for ln in lines for w in ln):
            lines = []  # only the label's own words (its wrapped tail): the text was lost
        if lines:
            words = [w for line in lines for w in line]
            text = closing_stop(" ".join(join_words(line) for line in lines), lines[-1][-1], page)
            col.add("description_of_operations", words, nz.parse_text, text=text)
    if holder is not None:
        x_end = cancel.x0 - 5 if cancel and cancel.x0 > holder.x1 else page.width * 0.55
        if cancel is not None:
            x_end = min(x_end, snap_left(layout, cancel.x0))
        # The rule between the holder's box and CANCELLATION's, whether that label was read
        # or not ("CANC ELLATION": its text was read into the holder's address).
        walls = [r.x0 for r in layout.vrules if holder.x1 + 2 * holder.height < r.x0 < x_end
                 and r.y0 <= holder.cy <= r.y1]
        x_end = min([x_end, *walls])
        y_end = sk.foot_y - 2 if sk.foot_y else page.height
        lines = region_lines(layout, 0, holder.y0 - 2, x_end, y_end, exclude=_ids(holder))
        _party(col, "certificate_holder", lines)

