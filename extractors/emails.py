"""The producer's e-mail address: its pieces, OCR split at a dot or glued to its label.

An address has no space, so the words OCR split it into are joined back; a dot dropped as a
speck between a name and the "@" part is put back; the end of the label ("ADDRESS:" read
"ADDRES." then "s.") is left out; printing touching its start that OCR did not read makes
it doubtful."""

from __future__ import annotations

from extractors.fields import same_row
from extractors.layout import LabelHit, PageLayout
from pipeline.types import Word


def glued(row: list[Word], k: int, left: float) -> list[Word]:
    """The e-mail address at word k of a row, with the pieces OCR split off at a dot
    ("tanya" ".murphy@x.com"): an address has no space, and no part of it starts or ends
    with a dot."""
    i, j = k, k
    joins = ".-_@"
    # Labels start at the box's left edge, values after them: a piece there is the label's
    # remnant ("ADDRESS:" read as "eatss."), not the start of the address; so is a
    # character or two in the label's own size on its line, right after it ("ADDRES."
    # then "s.": "s.angela@..." on five scans of seeds 9696, 9797 and 5757).
    start = left + 0.5 * row[k].height
    while i > 0 and row[i - 1].x0 > start and not _label_tail(row[:i], row[k]) and (
            row[i].text[:1] in joins or row[i - 1].text[-1:] in joins
            or _dot_lost(row[i - 1], row[i])):
        i -= 1
    while j + 1 < len(row) and (row[j].text[-1:] in joins or row[j + 1].text[:1] in joins):
        j += 1
    return row[i:j + 1]


def _label_tail(before: list[Word], value: Word) -> bool:
    """Whether the last of a row's words is the end of a label OCR split off: at most two
    letters or digits right after a word of a label's size, smaller than the value's, on
    that word's line ("E-MAIL" over "ADDRES." "s.", then "angela@...")."""
    w = before[-1]
    # (pieces OCR split from one word may overlap by a pixel or two)
    line = [p for p in before[:-1] if abs(w.cy - p.cy) < 0.4 * p.height and p.x1 <= w.x0 + 2]
    if not line or sum(map(str.isalnum, w.text)) > 2:
        return False
    prev = max(line, key=lambda p: p.x1)  # (a two-line label's words interleave by x)
    return prev.height <= 0.8 * value.height and w.x0 - prev.x1 < 0.6 * prev.height \
        and w.height <= 1.3 * prev.height


def touched(layout: PageLayout, words: list[Word], label: LabelHit) -> bool:
    """Whether a word no letter or digit of which was read touches the value's first on
    its left (a glyph OCR made marks of), past the label."""
    first = words[0]
    return any(w.x1 <= first.x0 < w.x1 + 0.3 * first.height and w.x0 > label.x1
               and not any(c.isalnum() for c in w.text)
               for w in same_row(layout.page.words, first) if w not in words)


def _dot_lost(a: Word, b: Word) -> bool:
    """"NICOLE" then "CASTILLO@..." with the dot between them dropped as a speck: a name
    a character's width or so before the address's "@" part (an address has no space)."""
    return "@" in b.text and "@" not in a.text and a.text.isalpha() \
        and b.x0 - a.x1 < 1.2 * max(a.height, b.height)


def email_text(words: list[Word]) -> tuple[str, float]:
    """The address's text, a dot put back where one was dropped (fit 0.6: a guess)."""
    text, fit = words[0].text, 1.0
    for a, b in zip(words, words[1:], strict=False):
        if _dot_lost(a, b) and a.text[-1:] not in ".-_@" and b.text[:1] not in ".-_@":
            text, fit = text + "." + b.text, 0.6
        else:
            text += b.text
    return text, fit
