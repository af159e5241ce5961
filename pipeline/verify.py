"""A second read of the values the first one was unsure of.

Whole-page OCR reads each word once, among thousands, with the page's segmentation.  A
field below its accept threshold is cut out again (binarized, alone on its line) and read
by one more tesseract call for all of them together (~0.1 s of start-up a document).  When
the second read normalizes to the same value, two different views of the pixels agree, and
the field is as sure as the agreement has proved to be on the benchmark
(``AGREED_CONFIDENCE``); when it does not, the field stays for review with the second
reading in its notes, for the reviewer.

A policy number is read again with the LSTM's alternatives for each character: agreeing,
with no letter weighed for a digit or a digit for a letter (is that 1 of "CA120959228" an
I?), it is accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from extractors.glyphs import space_unshown
from extractors.layout import group_rows
from extractors.normalize import (
    parse_flag,
    parse_insurer_letter,
    parser_for,
    settled_policy_number,
)
from pipeline import tesseract
from pipeline.record import field_family
from pipeline.reread import binarize, read_crops, read_crops_choices
from pipeline.tesseract import Glyph
from pipeline.types import Extraction, FieldValue, PageContent, Word

# Confidence of a value two reads agree on.  bench/accuracy.py measures how often such
# values were right (the "agreed" rows of its reliability table, docs/benchmarks.md).
AGREED_CONFIDENCE = 0.93
# A policy number first read at POLICY_READ_FLOOR or more that the second read, one with
# the LSTM's choices, agrees on, spacing and all: accepted at POLICY_AGREED_CONFIDENCE.
# Settled or not (letters and digits mixed where the font alone tells a 1 from an I, a 5
# from an S); none with a letter O, lower case, a note (a number its glyphs held says so)
# or a space between two runs of digits; and none with a character whose alternative (a 5
# for an S, a Z for a 2) scored LOOKALIKE_MAX or more.  A plain second read agreeing was
# no proof: "0302Z886227" read "03022886227" and accepted (a Z at 0.30 behind its 2, seed
# 6262); nor is an alternative of the other kind alone: the choices read agreed on
# "13283762856" for 1328J762856, weighing no J (seed 6262).  Under the floor no choice of
# characters is proof: "9241U037372" read "92410037372" at 0.24 (seed 3102) and the
# second reads agreed; such a number gets AGREED_CONFIDENCE at most.  (The floor was 0.7
# before look-alikes were weighed: a 150-dpi "CGL" read "OGL" at 0.68, seed 5353, has an
# O.  At 0.3, on the development harness's 81 scans of seeds 5656-5858 and 81 of
# 6161-6363, 7.6 and 8.2 % of fields were for review where 7.3 and 8.0 % are, with no
# number accepted wrong.)  On a fax "6972Z866512" read "69722866512" at 0.91, and
# agreed: two reads of the same broken pixels (faxes have their three readings' vote
# instead).  On 81 certificates of seeds 5656, 5757 and 5858 in the nine scan conditions
# other than fax, the one number misread at 0.7 or more that the choices read agreed on
# (ESY7 for E5Y7, at 0.90) had a 5 at 0.70 behind its S.
POLICY_AGREED_CONFIDENCE = 0.96
# A description of operations a second read agrees on, every word and stop of it: its
# family's threshold.  On the development harness's scans other than faxes (seeds 5656,
# 5757, 5858 and 6161-6363, several runs) 38 of 38 such descriptions were right, where
# right ones otherwise sit at 0.90-0.95 beside wrong ones (a stop or a ";" lost).  Not a
# fax's (2 of 3 right).
DESCRIPTION_AGREED_CONFIDENCE = 0.96
POLICY_READ_FLOOR = 0.3
LOOKALIKE_MAX = 0.2
PAD_X, PAD_Y = 8, 5  # at least; horizontally 1.5 line heights
MAX_HEIGHT = 70  # pixels at 300 dpi: one line of text; taller values span several lines
# An address typed on several lines (street, suite, city) is read again whole, its lines
# joined as the extractor joins them; a box more than ADDRESS_LINES of its words' heights
# tall (about three lines and a half) is not: it may hold other printing.
ADDRESS_LINES = 5
AGREED_NOTE = "a second read agreed"


def unsure(path: str, f: FieldValue) -> bool:
    """Fields worth a second read: below their threshold for want of OCR confidence alone
    (a validation finding in the notes is not something a second read can clear), and more
    than one character (the insurer letter and the flags had their own whitelisted reread).

    Policy numbers when settled (extractors.normalize.settled_policy_number) or worth the
    LSTM's choices (``_weighed``): two plain reads of "V0V7" agreed on "VOV7" as often as
    not (seed 7301), since nothing but the font tells O from 0 in a string of arbitrary
    letters and digits.

    An ADDL INSD / SUBR WVD mark read as its letter (Y, N, X; "¥" for a Y) at the low OCR
    confidence tesseract gives a lone glyph: its cell read again agreeing makes it as sure
    as other values.  Not a cell read as something else (its value a guess, "4" for a
    check mark, "N=") nor an unread one (those had the whitelisted reread).
    """
    if f.status != "needs_review" or f.notes:
        return False
    family = field_family(path)
    if family == "policy_numbers":
        return _settled(f) or _weighed(f)
    if family == "addl_subr":
        value, fit = parse_flag(f.raw)
        return bool(f.raw) and value == f.value and fit >= 0.9
    return parser_for(path) not in (parse_flag, parse_insurer_letter)


def _settled(f: FieldValue) -> bool:
    return field_family(f.path) == "policy_numbers" and isinstance(f.value, str) \
        and settled_policy_number(f.value)


def _weighed(f: FieldValue) -> bool:
    """A policy number to read with the LSTM's choices (see POLICY_AGREED_CONFIDENCE)."""
    v = f.value
    return field_family(f.path) == "policy_numbers" and isinstance(v, str) \
        and f.confidence >= POLICY_READ_FLOOR and not f.notes and "O" not in v \
        and v == v.upper() and not _digits_spaced(v)


def _digits_spaced(v: str) -> bool:
    """A space where OCR splits a number, which no choice of characters shows: between two
    runs of digits ("WC 90-77386 16-14" for WC 90-7738616-14, read so twice, seed 6161);
    before a 1 after a part with digits, the 1's wide side bearings taken for a space
    ("7292Y 105942", "8064F661 168", accepted, seeds 6363 and 9696); beside a hyphen.
    Not the space after a part with letters in it ("CGL9C1 2022", "WC 1459413")."""
    for a, b in pairwise(v.split()):
        left, right = a.split("-")[-1], b.split("-")[0]
        if left.isdigit() and right.isdigit() or not left or not right:
            return True
        if right[0] == "1" and any(c.isdigit() for c in left):
            return True
    return False


def _unshown_space(page: PageContent, f: FieldValue) -> bool:
    """A space beside a 1 in a policy number that its glyphs do not show
    (``extractors.glyphs.space_unshown``): a 1's ink is narrow, so its side bearings look
    like a space, and OCR puts one there ("67 AWZ FY 1488", accepted, seed 6363)."""
    return page.image is not None and space_unshown(page.image, f.bbox, str(f.value))


def _line_height(page: PageContent, bbox: tuple[int, int, int, int]) -> int:
    """The height of a line of a value typed on several (its words' median), else its
    box's."""
    x0, y0, x1, y1 = bbox
    inside = sorted(w.height for w in page.words
                    if x0 <= w.cx <= x1 and y0 <= w.cy <= y1)
    return inside[len(inside) // 2] if inside else y1 - y0


@dataclass
class _Todo:
    f: FieldValue
    parser: Callable
    crop: np.ndarray
    model: str
    choices: bool  # read with the LSTM's alternatives for each character (_weighed)
    sure: float = AGREED_CONFIDENCE  # what a plain agreement raises it to


def second_read(pages: list[PageContent], *extractions: Extraction, timeout: float,
                wanted: Callable[[str, FieldValue], bool] = unsure) -> int:
    """Read again the OCR'd fields for which ``wanted(path, field)`` holds, normalized by
    the extractor's own ``parser_for(path)``; returns how many were read.  Every
    certificate of the document (a batch scan has several) in the one tesseract call."""
    by_number = {p.number: p for p in pages}
    todo = []
    for path, f in ((path, f) for ex in extractions for path, f in ex.fields.items()):
        page = by_number.get(f.page)
        parser = parser_for(path)
        if page is None or page.source != "ocr" or page.image is None or parser is None:
            continue
        if not wanted(path, f):
            continue
        family = field_family(path)
        if page.bilevel and family == "policy_numbers":
            continue  # a fax: two reads of the same broken pixels (its vote decides)
        x0, y0, x1, y1 = f.bbox
        line = _line_height(page, f.bbox) if family == "addresses" else y1 - y0
        if x1 <= x0 or y1 <= y0 or line > MAX_HEIGHT or y1 - y0 > ADDRESS_LINES * line:
            continue
        h, w = page.image.shape
        # Wider than the first read's box: a piece it left out ("gregory." of an address
        # read as "fischer@...") shows in the second read, which then disagrees.
        pad_x = max(PAD_X, round(1.5 * line))
        crop = page.image[max(0, y0 - PAD_Y):min(h, y1 + PAD_Y),
                          max(0, x0 - pad_x):min(w, x1 + pad_x)]
        if crop.size:
            # A fax page is black and white already, softened, and read by the standard
            # model: thresholded again its thin strokes break (pipeline/reread.py).
            model = tesseract.STANDARD if page.bilevel else tesseract.FAST
            # A description agreed on is as sure as its threshold; not a fax's, whose
            # two reads see the same broken pixels.
            sure = DESCRIPTION_AGREED_CONFIDENCE if not page.bilevel and \
                family == "description_of_operations" else AGREED_CONFIDENCE
            todo.append(_Todo(f, parser, crop if page.bilevel else binarize(crop), model,
                              choices=not page.bilevel and _weighed(f)
                              and not _unshown_space(page, f), sure=sure))
    if not todo:
        return 0
    for model, choices in {(t.model, t.choices) for t in todo}:
        mine = [t for t in todo if (t.model, t.choices) == (model, choices)]
        crops = [t.crop for t in mine]
        if choices:
            for t, found in zip(mine, read_crops_choices(crops, timeout=timeout, model=model),
                                strict=True):
                _judge_choices(t.f, t.parser, found)
            continue
        for t, words in zip(mine, read_crops(crops, timeout=timeout, model=model), strict=True):
            _judge(t.f, t.parser, group_rows(words), t.sure)
    return len(todo)


# Rule fragments and specks a wider cut takes in at its edges ("| 3.000.000 |", "]o8:12");
# the ones that are only a rule, off the ends of a description's lines.
_EDGE_JUNK = "|[]{}()¢;:_~'\"\u2018\u2019\u201c\u201d"
_RULE_JUNK = "|[]{}"
MAX_RUN = 4  # words: a value is found inside a reading with its label's remnants around it


def _judge(f: FieldValue, parser: Callable, rows: list[list[Word]],
           sure: float = AGREED_CONFIDENCE) -> None:
    """Agreement when the second reading, or a run of its words (the wider cut takes in a
    label's remnant, "ess_dramirez@..." or "S$ 500,000"), normalizes to the same value.
    An address's lines are joined as the extractor joins them ("9081 Harbor Rd, Buffalo");
    a description's with the box's rule, which the wider cut takes in, off each line's
    ends ("| Workers compensation waiver ...")."""
    words = [w for row in rows for w in row]
    text = " ".join(w.text for w in words)
    lines = _joined(rows)
    if parser is parse_flag:
        # A mark: the whole reading must be it, read from ink.  An empty reading, or a
        # rule's fragment stripped to nothing, parses as "no mark" and would agree with any
        # N; a run of "N /" would agree with a Y.
        value, fit = parse_flag(lines)
        fits = [fit] if lines and value == f.value and fit >= 0.9 else []
    else:
        ruled = " ".join(" ".join(w.text for w in row).strip(_RULE_JUNK + " ") for row in rows)
        whole = [fit for value, fit in map(parser, (text, lines, ruled))
                 if value is not None and value == f.value]
        runs = [" ".join(w.text for w in words[i:i + k]).strip(_EDGE_JUNK + " ")
                for k in range(1, MAX_RUN + 1) for i in range(len(words) - k + 1)]
        fits = whole + [fit for value, fit in map(parser, runs)
                        if value is not None and value == f.value]
        if not whole:
            # Only a run of its words agreeing (more was read around it: "repairs. MW"):
            # as sure as any agreement, not more.
            sure = min(sure, AGREED_CONFIDENCE)
    if fits:
        # Agreement on a value of the wrong shape (a "£" in a policy number) is no proof:
        # the cleanest run that agrees counts.  (A policy number read here is not accepted
        # so: a settled one under the floor, or its digits spaced; the others are judged
        # by _judge_choices, a fax's by the vote.)
        f.confidence = round(max(f.confidence, sure * max(fits)), 4)
        f.notes.append(AGREED_NOTE)
    else:
        f.notes.append(f"a second read gave {text!r}")


def _joined(rows: list[list[Word]]) -> str:
    """A reading's lines joined as the extractor joins an address's, junk at its ends off."""
    return ", ".join(" ".join(w.text for w in row) for row in rows).strip(_EDGE_JUNK + " ")


def _lookalike(g: Glyph) -> tuple[str, float] | None:
    """The surest other character the LSTM weighed for a character (a 5 for an S, a Z for
    a 2, an l for a 1), or None.  Not its own other case."""
    if not g.text.isalnum():
        return None
    other = [(a, c) for a, c in g.choices if a.isalnum() and a.upper() != g.text.upper()]
    return max(other, key=lambda ac: ac[1], default=None)


def _judge_choices(f: FieldValue, parser: Callable,
                   found: list[tuple[Word, tuple[Glyph, ...]]]) -> None:
    """A policy number: accepted when the whole second reading is it, as cleanly (its
    fit), and no character had a look-alike behind it."""
    lines = _joined(group_rows([w for w, _ in found]))
    value, fit = parser(lines)
    if value != f.value:
        f.notes.append(f"a second read gave {lines!r}")
        return
    weighed = [(g.text, alt) for _, glyphs in found for g in glyphs
               if (alt := _lookalike(g)) is not None and alt[1] >= LOOKALIKE_MAX]
    if weighed:
        f.confidence = round(max(f.confidence, AGREED_CONFIDENCE * fit), 4)
        shown = ", ".join(f"{a!r} for {c!r} ({p:.2f})" for c, (a, p) in weighed)
        f.notes.append(f"{AGREED_NOTE}, weighing {shown}")
    else:
        f.confidence = round(max(f.confidence, POLICY_AGREED_CONFIDENCE * fit), 4)
        f.notes.append(AGREED_NOTE)
